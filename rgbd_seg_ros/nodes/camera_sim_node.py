# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
camera_sim_node: the synthetic RGB-D world published like a RealSense with aligned depth.

Publishes ``rgb/image_rect_color`` (rgb8), ``depth_registered/image_rect`` (16UC1 mm),
``rgb/camera_info`` and ``depth_registered/camera_info``, and optionally the ground-truth labels
on ``segmentation/ground_truth`` (mono8), all with one stamp per frame. Scripted faults (seconds
since the first frame): depth stops, depth turns invalid, RGB blacks out. The room is one of the
synthetic world ``world`` (default ``nyu_like``, that of the shipped demo models;
``-p world:=depth_favoured`` for another).

Run: ``python -m rgbd_seg_ros.nodes.camera_sim_node --ros-args -p rate:=10.0
-p depth_stop_start:=5.0 -p depth_stop_end:=8.0``.
"""

from __future__ import annotations

from dataclasses import dataclass
import sys

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from rgbd_seg_ros.core.node_config import CameraSimParams
from rgbd_seg_ros.ros import conversions as conv
from rgbd_seg_ros.ros.lifecycle import run_node
from rgbd_seg_ros.ros.params import declare_params
from rgbd_seg_ros.ros.qos import qos_profile


def _within(t: float, start: float, end: float) -> bool:
    return 0.0 <= start <= t < (end if end >= 0.0 else float('inf'))


@dataclass
class _Messages:
    """One frame's messages, ready to publish once stamped."""

    rgb: Image
    depth: Image
    info: CameraInfo
    depth_info: CameraInfo
    ground_truth: Image
    shape: tuple[int, int]


class CameraSimNode(Node):
    """Renders ``SyntheticSequence`` frames on a timer and publishes them."""

    def __init__(self, **kwargs) -> None:
        super().__init__('camera_sim_node', **kwargs)
        p = self.params = declare_params(self, CameraSimParams)
        from rgbd_seg_ros.sim import SyntheticSequence

        self.sequence = SyntheticSequence(p.seed, p.width, p.height, world=p.world, path=p.path)
        self.cache = [self._messages(i, i / p.rate) for i in range(p.precompute_frames)]
        qos = qos_profile(p.qos, 5)
        self.pub_rgb = self.create_publisher(Image, 'rgb/image_rect_color', qos)
        self.pub_depth = self.create_publisher(Image, 'depth_registered/image_rect', qos)
        self.pub_info = self.create_publisher(CameraInfo, 'rgb/camera_info', qos)
        self.pub_depth_info = self.create_publisher(CameraInfo, 'depth_registered/camera_info',
                                                    qos)
        self.pub_gt = p.publish_ground_truth and self.create_publisher(
            Image, 'segmentation/ground_truth', qos)
        self.index = 0
        self.start = self.get_clock().now()
        self.waiting = p.min_subscribers > 0
        self.timer = self.create_timer(1.0 / p.rate, self._publish)
        self.get_logger().info(f'simulated camera {p.width}x{p.height} at {p.rate} Hz, '
                               f'{p.qos} QoS, seed {p.seed}')

    def _depth_values(self, depth_m: np.ndarray) -> np.ndarray:
        """Depth as published: metres, or the fault's units (``depth_units_per_metre``)."""
        units = self.params.depth_units_per_metre
        if not units:
            return depth_m
        # the encoding's own unit scale is undone so the raw values are `units` per metre
        own = 1000.0 if self.params.depth_encoding == '16UC1' else 1.0
        return depth_m * np.float32(units / own)

    def _messages(self, i: int, t: float) -> _Messages:
        p = self.params
        frame = self.sequence.frame(i, t)
        return _Messages(
            rgb=conv.rgb_to_image(frame.rgb, encoding=p.rgb_encoding),
            depth=conv.depth_m_to_image(self._depth_values(frame.depth_m),
                                        encoding=p.depth_encoding),
            info=conv.intrinsics_to_camera_info(frame.intrinsics),
            depth_info=conv.intrinsics_to_camera_info(frame.intrinsics),
            ground_truth=conv.numpy_to_image(frame.label, 'mono8'),
            shape=frame.label.shape,
        )

    def _publish(self) -> None:
        p = self.params
        now = self.get_clock().now()
        if self.waiting:  # fault times count from the first frame someone can receive
            if min(self.pub_rgb.get_subscription_count(),
                   self.pub_depth.get_subscription_count()) < p.min_subscribers:
                return
            self.waiting, self.start = False, now
        t = (now - self.start).nanoseconds * 1e-9
        i, self.index = self.index, self.index + 1
        msgs = self.cache[i % len(self.cache)] if self.cache else self._messages(i, t)
        header = Header(stamp=now.to_msg(), frame_id=p.frame_id)
        depth_header = Header(stamp=header.stamp, frame_id=p.depth_frame_id or p.frame_id)
        rgb = msgs.rgb
        if _within(t, p.rgb_blackout_start, p.rgb_blackout_end):
            rgb = conv.rgb_to_image(np.zeros(msgs.shape + (3,), np.uint8), encoding=rgb.encoding)
        msgs.info.header = header
        self.pub_info.publish(msgs.info)
        if not _within(t, p.depth_stop_start, p.depth_stop_end):
            depth = msgs.depth
            if _within(t, p.depth_invalid_start, p.depth_invalid_end):
                depth = conv.depth_m_to_image(np.zeros(msgs.shape, np.float32),
                                              encoding=depth.encoding)
            depth.header = msgs.depth_info.header = depth_header
            self.pub_depth.publish(depth)
            self.pub_depth_info.publish(msgs.depth_info)
        rgb.header = header
        self.pub_rgb.publish(rgb)
        if self.pub_gt:
            msgs.ground_truth.header = header
            self.pub_gt.publish(msgs.ground_truth)

    def close(self) -> None:
        """Stop publishing (before the context goes away)."""
        self.timer.cancel()


def main(args: list[str] | None = None) -> int:
    """Console script ``camera_sim_node``; exit 0 on SIGINT/SIGTERM, 2 on a bad configuration."""
    return run_node(CameraSimNode, 'camera_sim_node', args)


if __name__ == '__main__':
    sys.exit(main())
