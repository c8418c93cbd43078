# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""camera_sim_node's outputs and scripted faults, in-process on a private context."""

import numpy as np
import pytest
from rclpy.parameter import Parameter
from ros_test_helpers import RosTestContext
from sensor_msgs.msg import CameraInfo, Image

from rgbd_seg_ros.nodes.camera_sim_node import CameraSimNode
from rgbd_seg_ros.ros.conversions import (
    camera_info_to_intrinsics,
    image_to_depth_m,
    image_to_labels,
    image_to_rgb,
)
from rgbd_seg_ros.ros.qos import qos_profile

pytestmark = pytest.mark.ros
WINDOWS = {'depth_stop': (0.3, 0.6), 'depth_invalid': (0.8, 1.1), 'rgb_blackout': (1.3, 1.6)}
EDGE = 0.02  # stamps within this of a window edge are not judged


def test_streams_and_fault_windows(ros_domain_id):
    overrides = [Parameter('rate', value=20.0), Parameter('width', value=48),
                 Parameter('height', value=32), Parameter('precompute_frames', value=4),
                 Parameter('depth_encoding', value='32FC1'),
                 Parameter('rgb_encoding', value='bgr8')]
    for name, (start, end) in WINDOWS.items():
        overrides += [Parameter(f'{name}_start', value=start), Parameter(f'{name}_end', value=end)]
    got = {'rgb': [], 'depth': [], 'info': [], 'gt': []}
    with RosTestContext(ros_domain_id) as ros:
        camera = CameraSimNode(context=ros.context, parameter_overrides=overrides)
        ros.executor.add_node(camera)
        sensor = qos_profile('sensor_data', 50)
        for key, topic, kind in (('rgb', 'rgb/image_rect_color', Image),
                                 ('depth', 'depth_registered/image_rect', Image),
                                 ('info', 'rgb/camera_info', CameraInfo),
                                 ('gt', 'segmentation/ground_truth', Image)):
            ros.node.create_subscription(kind, topic, got[key].append, sensor)
        start = camera.start.nanoseconds * 1e-9
        try:
            ros.spin_until(lambda: any(
                m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 - start > 2.0
                for m in got['rgb']), timeout=20.0)
        finally:
            ros.executor.remove_node(camera)
            camera.destroy_node()

    def t(msg):
        return msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9 - start

    def inside(msg, window):
        return window[0] + EDGE < t(msg) < window[1] - EDGE

    def outside(msg, window):
        return t(msg) < window[0] - EDGE or t(msg) > window[1] + EDGE

    assert len(got['rgb']) >= 30 and len(got['info']) >= 30 and len(got['gt']) >= 30
    rgb_times = {t(m) for m in got['rgb'] if t(m) < 1.9}  # all streams done by then
    assert {t(m) for m in got['info'] if t(m) < 1.9} == rgb_times  # one stamp per frame
    # Depth stops in its window and is published at every other frame's stamp.
    assert not [m for m in got['depth'] if inside(m, WINDOWS['depth_stop'])]
    depth_times = {t(m) for m in got['depth']}
    assert all(s in depth_times for s in rgb_times
               if s < WINDOWS['depth_stop'][0] - EDGE or s > WINDOWS['depth_stop'][1] + EDGE)
    # Invalid depth is all NaN (32FC1), valid depth mostly finite and positive.
    for msg in got['depth']:
        assert msg.encoding == '32FC1' and (msg.height, msg.width) == (32, 48)
        _, valid = image_to_depth_m(msg)
        if inside(msg, WINDOWS['depth_invalid']):
            assert not valid.any()
        elif outside(msg, WINDOWS['depth_invalid']):
            assert valid.mean() > 0.5
    # RGB blacks out in its window only.
    for msg in got['rgb']:
        assert msg.encoding == 'bgr8' and msg.header.frame_id == 'camera_color_optical_frame'
        rgb = image_to_rgb(msg)
        if inside(msg, WINDOWS['rgb_blackout']):
            assert rgb.max() == 0
        elif outside(msg, WINDOWS['rgb_blackout']):
            assert rgb.mean() > 10
    intr = camera_info_to_intrinsics(got['info'][0])
    assert (intr.width, intr.height) == (48, 32)
    labels = image_to_labels(got['gt'][0])
    assert labels.dtype == np.uint8 and labels.shape == (32, 48)


def test_world_defaults_to_nyu_like_and_is_a_parameter(ros_domain_id):
    from rgbd_seg_ros.core.node_config import CameraSimParams
    from rgbd_seg_ros.sim import DEFAULT_WORLD, WORLDS

    field = CameraSimParams.__dataclass_fields__['world']
    assert CameraSimParams().world == DEFAULT_WORLD == 'nyu_like'
    assert set(field.metadata['choices']) == set(WORLDS)
    small = [Parameter('width', value=16), Parameter('height', value=16),
             Parameter('precompute_frames', value=0)]
    with RosTestContext(ros_domain_id) as ros:
        for extra, world in (([], 'nyu_like'),
                             ([Parameter('world', value='depth_favoured')], 'depth_favoured')):
            camera = CameraSimNode(context=ros.context, parameter_overrides=small + extra)
            try:
                assert camera.sequence.world == world
            finally:
                camera.destroy_node()
