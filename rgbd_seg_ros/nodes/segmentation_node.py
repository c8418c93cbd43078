# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
segmentation_node: RGB-D semantic segmentation with automatic fallback to an RGB-only model.

Subscribes ``rgb/image_rect_color``, ``depth_registered/image_rect`` and ``rgb/camera_info``;
publishes ``segmentation/labels`` (mono8/mono16, input size, RGB header) or, with
``output_profile: nav2``, ``segmentation/mask`` + mono8 ``segmentation/confidence`` +
``segmentation/label_info``; optional ``segmentation/colored``, ``/overlay``, ``/confidence``,
``/cloud`` (PointCloud2), ``segmentation/mode`` and ``segmentation/classes`` (transient local),
``segmentation/frame_status`` (each output's mode and why, with the RGB header) and
``/diagnostics`` (``ros/outputs.py`` has the table). All per-frame logic is
``core.pipeline.FramePipeline``: callbacks only view, check and enqueue into it; one worker
thread takes the newest synchronised frame and has the pipeline convert and segment it.

Run: ``ros2 launch rgbd_seg_ros segment.launch.py`` or
``python -m rgbd_seg_ros.nodes.segmentation_node --ros-args --params-file config/segment.yaml``.
"""

from __future__ import annotations

import sys
import threading
import time

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from rclpy.qos_overriding_options import QoSOverridingOptions
from sensor_msgs.msg import CameraInfo, Image

from rgbd_seg_ros.core.latest_slot import LatestSlot
from rgbd_seg_ros.core.model_set import ModelSet
from rgbd_seg_ros.core.monitor import DDS_FIX, PipelineMonitor
from rgbd_seg_ros.core.node_config import SegmentationParams
from rgbd_seg_ros.core.pipeline import FramePipeline, FrameResult
from rgbd_seg_ros.core.sync import SyncedFrame
from rgbd_seg_ros.ros import conversions as conv
from rgbd_seg_ros.ros.diagnostics import diagnostic_status
from rgbd_seg_ros.ros.lifecycle import run_node
from rgbd_seg_ros.ros.outputs import OutputPublishers
from rgbd_seg_ros.ros.params import declare_params
from rgbd_seg_ros.ros.qos import qos_profile
from rgbd_seg_ros.ros.watchdog import InputWatchdog

_WARN_PERIOD_S = 10.0


class SegmentationNode(Node):
    """Wiring only: parameters, the frame pipeline, subscriptions, the worker, publishers."""

    def __init__(self, **kwargs) -> None:
        super().__init__('segmentation_node', **kwargs)
        p = self.params = declare_params(self, SegmentationParams)
        self.models = ModelSet.from_params(p)
        self.models.warmup()  # before any subscription: backends are built by now
        self.labels = self.models.labels
        self._declare_class_params()
        q_in, q_out = qos_profile(p.input_qos, p.queue_size), qos_profile(p.output_qos, 1)
        overrides = QoSOverridingOptions.with_default_policies()
        self.outputs = OutputPublishers(self, p, self.labels, q_out)  # every publisher
        self.pipeline = FramePipeline.from_params(p, self.models,
                                                  **self.outputs.pipeline_outputs())
        self.monitor = PipelineMonitor()
        self.slot: LatestSlot[SyncedFrame] = LatestSlot()
        self.lock = threading.Lock()  # around the pipeline's inputs (executor vs timers)
        self._stop = threading.Event()
        self._last_warn: dict[str, float] = {}
        self._publish_mode()

        self.create_subscription(Image, p.rgb_topic, self._on_rgb, q_in,
                                 qos_overriding_options=overrides)
        self.create_subscription(Image, p.depth_topic, self._on_depth, q_in,
                                 qos_overriding_options=overrides)
        self.create_subscription(CameraInfo, p.camera_info_topic, self._on_info, q_in)
        uses_depth = {'rgbd', 'depth'} & set(self.models.modes)
        self.watchdog = InputWatchdog(self, {
            'rgb': (p.rgb_topic, 'sensor_msgs/msg/Image', 'rgb_topic'),
            **({'depth': (p.depth_topic, 'sensor_msgs/msg/Image', 'depth_topic'),
                'camera_info': (p.camera_info_topic, 'sensor_msgs/msg/CameraInfo',
                                'camera_info_topic')} if uses_depth else {})}, self._warn)
        self.create_timer(min(0.05, p.depth_timeout / 4), self._tick)
        self.create_timer(p.diagnostics_period, self._publish_diagnostics)
        self.worker = threading.Thread(target=self._work, name='segmentation_worker',
                                       daemon=True)
        self.worker.start()
        self.get_logger().info(
            f'models for modes {self.models.modes} on {p.device} ({p.precision}, backends '
            f'{self.models.backends}), '
            f'{self.labels.num_classes} classes; rgb={self.resolve_topic_name(p.rgb_topic)} '
            f'depth={self.resolve_topic_name(p.depth_topic)}')

    # -- inputs (executor thread): view, check and enqueue; the worker converts what it uses ---

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _on_rgb(self, msg: Image) -> None:
        self._add('rgb', msg, conv.COLOR_ENCODINGS, self.pipeline.add_rgb)

    def _on_depth(self, msg: Image) -> None:
        self._add('depth', msg, conv.DEPTH_ENCODINGS, self.pipeline.add_depth)
        if self.pipeline.depth_problem:  # e.g. 32FC1 in millimetres: names depth_scale
            self._warn('implausible depth', self.pipeline.depth_problem)

    def _add(self, topic: str, msg: Image, encodings: tuple[str, ...], add: object) -> None:
        started = time.perf_counter()
        try:
            view = conv.checked_view(msg, encodings, topic)
        except ValueError as exc:
            return self._reject(topic, exc)
        now, stamp = self._now(), conv.header_seconds(msg.header)
        self.monitor.observe_input(topic, stamp, now)
        self.watchdog.arrived(topic, now)
        with self.lock:
            add(stamp, msg.header.frame_id, view, msg.encoding, now=now, tag=msg.header)
            self._flush(now)
        self.monitor.observe_callback(time.perf_counter() - started)

    def _on_info(self, msg: CameraInfo) -> None:
        try:
            intrinsics = conv.camera_info_to_intrinsics(msg)
        except ValueError as exc:
            return self._reject('camera_info', exc)
        if 'camera_info' in self.watchdog.inputs:
            self.watchdog.arrived('camera_info', self._now())
        with self.lock:
            self.pipeline.add_camera_info(msg.header.frame_id, intrinsics)

    def _reject(self, topic: str, exc: Exception) -> None:
        self.monitor.reject(topic)
        self._warn(f'reject:{topic}', f'dropped malformed {topic} message: {exc}')

    def _tick(self) -> None:
        with self.lock:
            self._flush(self._now())

    def _flush(self, now: float) -> None:
        """Hand ready frames to the worker and announce mode switches (lock held)."""
        for frame in self.pipeline.pop_ready(now):
            self.slot.put(frame)
        for event in self.pipeline.pop_events():
            self.get_logger().info(
                f'mode {event.from_mode} -> {event.to_mode} at {event.t:.3f} s: {event.reason}')
            self._publish_mode()

    # -- worker thread: inference and outputs ---------------------------------------------------

    def _work(self) -> None:
        min_period = 1.0 / self.params.max_rate if self.params.max_rate > 0 else 0.0
        while not self._stop.is_set():
            frame = self.slot.get(timeout=0.1)
            if frame is None:
                continue
            started = time.perf_counter()
            try:
                self._publish(self.pipeline.process(frame), started)
            except Exception as exc:  # noqa: BLE001 - the node must outlive any bad frame
                self.monitor.count_error()
                self._warn('worker', f'inference failed on a frame: {exc!r}')
            rest = min_period - (time.perf_counter() - started)
            if rest > 0:
                self._stop.wait(rest)

    def _publish(self, result: FrameResult, taken: float) -> None:
        header = result.tag
        self.outputs.publish(header, result)  # frame_status, then every output of the profile
        now = self._now()
        self.monitor.observe_output(result.mode, now, now - result.stamp, result.inference_s,
                                    time.perf_counter() - taken)

    # -- metadata, mode, diagnostics ------------------------------------------------------------

    def _declare_class_params(self) -> None:
        from rcl_interfaces.msg import ParameterDescriptor

        ro = ParameterDescriptor(read_only=True, description='class names of the models')
        self.declare_parameter('class_names', list(self.labels.names), ro, ignore_override=True)
        ro = ParameterDescriptor(read_only=True, description='RGB class colours, flat r,g,b')
        colors = [int(v) for c in self.labels.colors for v in c]
        self.declare_parameter('class_colors', colors, ro, ignore_override=True)

    def _publish_mode(self) -> None:
        self.outputs.publish_mode(self.pipeline.mode)

    def _warn(self, key: str, text: str) -> None:
        now = time.monotonic()
        if now - self._last_warn.get(key, -1e9) >= _WARN_PERIOD_S:
            self._last_warn[key] = now
            self.get_logger().warning(text)

    def _publish_diagnostics(self) -> None:
        now = self._now()
        with self.lock:
            stats, mode = self.pipeline.stats.as_dict(), self.pipeline.sync.mode
        self.watchdog.check(now)  # a silent input is named, with its near-miss topics
        values = {'mode': mode, **self.watchdog.values(now),
                  **self.monitor.snapshot(now, self.params.diagnostics_period),
                  **self.outputs.diagnostics(),  # profile, class metadata, cloud
                  **{f'backend {m}': b for m, b in self.models.backends.items()},
                  'rgb fallback': ('fusion_model, depth missing (one model)'
                                   if self.models.same_model_fallback else 'rgb_model'),
                  'dropped (worker busy)': self.slot.dropped,
                  'implausible depth': self.pipeline.implausible_depth,
                  **{f'sync {k}': v for k, v in stats.items()}}
        problems = self.monitor.late_or_lost(self.params.max_input_age)
        if problems:
            self._warn('dds', '; '.join(problems) + ' - likely ' + DDS_FIX)
        degraded = mode != 'rgbd' and 'rgbd' in self.models.modes
        message = '; '.join(problems) or (f'fallback mode {mode}' if degraded else 'ok')
        array = DiagnosticArray()
        array.header.stamp = self.get_clock().now().to_msg()
        array.status = [diagnostic_status(f'{self.get_name()}: segmentation',
                                          degraded or bool(problems), message, values)]
        self.outputs.publish_diagnostics(array)

    def close(self) -> None:
        """Stop the worker thread."""
        self._stop.set()
        self.slot.close()
        self.worker.join(timeout=5.0)


def main(args: list[str] | None = None) -> int:
    """Console script ``segmentation_node``; exit 0 on SIGINT/SIGTERM, 2 when it cannot start."""
    return run_node(SegmentationNode, 'segmentation_node', args)


if __name__ == '__main__':
    sys.exit(main())
