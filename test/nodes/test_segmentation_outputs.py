# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
segmentation_node outputs over Fast DDS: the nav2 profile, the semantic point cloud of a plane
at a known distance, the ONNX Runtime backend, and no cloud in rgb mode. The test publishes the
camera itself (sensor-data QoS, like a driver) so the scene is closed-form.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from ros_test_helpers import RosTestContext, start_module, stop_process, write_params
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_msgs.msg import Header, String

from rgbd_seg_ros.core.camera import CameraIntrinsics
from rgbd_seg_ros.ros import conversions as conv
from rgbd_seg_ros.ros.cloud_msg import cloud_to_points
from rgbd_seg_ros.ros.outputs import label_info_type
from rgbd_seg_ros.ros.qos import latched_qos, qos_profile

pytestmark = pytest.mark.ros
NODE = 'rgbd_seg_ros.nodes.segmentation_node'
H, W = 64, 80
FRAME_ID = 'camera_color_optical_frame'
INTR = CameraIntrinsics(fx=60.0, fy=60.0, cx=39.5, cy=31.5, width=W, height=H)
PLANE_M = 1.5


def _plane_depth_mm() -> np.ndarray:
    depth = np.full((H, W), int(PLANE_M * 1000), np.uint16)
    depth[10:20, 30:50] = 0  # a hole: never points
    depth[40:44, :] = 9000  # beyond cloud_max_range_m (5 m)
    return depth


def test_nav2_profile_cloud_and_onnxruntime_backend(tmp_path, ros_domain_id, tiny_checkpoints):
    log = tmp_path / 'node.log'
    params = write_params(tmp_path / 'node.yaml', {
        'fusion_model': str(tiny_checkpoints['fusion']), 'rgb_model': str(tiny_checkpoints['rgb']),
        'output_profile': 'nav2', 'publish_cloud': True, 'cloud_decimation': 2,
        'cloud_max_range_m': 5.0, 'backend': 'onnxruntime', 'depth_timeout': 0.4,
        'diagnostics_period': 0.5, 'sync_slop': 0.01})
    got = {'mask': [], 'conf': [], 'cloud': [], 'classes': [], 'diag': {}, 'mode': []}
    with RosTestContext(ros_domain_id) as ros:
        n = ros.node
        n.create_subscription(Image, 'segmentation/mask', got['mask'].append,
                              qos_profile('reliable', 50))
        n.create_subscription(Image, 'segmentation/confidence', got['conf'].append,
                              qos_profile('reliable', 50))
        n.create_subscription(PointCloud2, 'segmentation/cloud', got['cloud'].append,
                              qos_profile('reliable', 50))
        n.create_subscription(String, 'segmentation/classes', got['classes'].append,
                              latched_qos())
        n.create_subscription(String, 'segmentation/mode', lambda m: got['mode'].append(m.data),
                              latched_qos())

        def on_diag(msg):
            for status in msg.status:
                if status.name.endswith(': segmentation'):
                    got['diag'] = {kv.key: kv.value for kv in status.values}
        from diagnostic_msgs.msg import DiagnosticArray
        n.create_subscription(DiagnosticArray, '/diagnostics', on_diag, 10)
        sensor = qos_profile('sensor_data', 5)
        pub_rgb = n.create_publisher(Image, 'rgb/image_rect_color', sensor)
        pub_depth = n.create_publisher(Image, 'depth_registered/image_rect', sensor)
        pub_info = n.create_publisher(CameraInfo, 'rgb/camera_info', sensor)
        node = start_module(NODE, ros_domain_id, [params], log)
        try:
            assert ros.spin_until(lambda: got['mode'] or node.poll() is not None, 120.0)
            assert node.poll() is None, log.read_text()
            assert ros.spin_until(lambda: all(p.get_subscription_count() >= 1
                                              for p in (pub_rgb, pub_depth, pub_info)), 20.0)
            rgb = np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8)
            depth = _plane_depth_mm()
            stamps, no_depth = [], set()

            def send(i, with_depth):
                now = n.get_clock().now().to_msg()
                header = Header(frame_id=FRAME_ID, stamp=now)
                pub_info.publish(conv.intrinsics_to_camera_info(INTR, header))
                if with_depth:
                    pub_depth.publish(conv.depth_m_to_image(depth / 1000.0, header))
                ros.spin_for(0.02)
                pub_rgb.publish(conv.rgb_to_image(rgb, header))
                stamps.append((now.sec, now.nanosec))
                if not with_depth:
                    no_depth.add(stamps[-1])
                ros.spin_for(0.08)
            for i in range(30):
                send(i, True)
            assert ros.spin_until(lambda: len(got['cloud']) >= 5, 20.0), log.read_text()
            for i in range(20):  # depth stops: rgb mode, labels but no cloud
                send(i, False)
            ros.spin_for(1.5)
            assert node.poll() is None
        finally:
            node_rc = stop_process(node)
    text = log.read_text()
    assert node_rc == 0, text
    # -- backend and class metadata choice, logged at start-up
    assert "'rgbd': 'onnxruntime'" in text and "'rgb': 'onnxruntime'" in text, text
    if label_info_type() is None:
        assert 'JSON on segmentation/classes (vision_msgs not importable)' in text
    classes = json.loads(got['classes'][-1].data)
    assert len(classes['names']) == 14
    # -- nav2 mask and confidence: mono8 at the input size, the RGB header
    sent = set(stamps)
    assert len(got['mask']) >= 10 and len(got['conf']) >= 10
    for msg in got['mask'] + got['conf']:
        assert (msg.height, msg.width, msg.encoding) == (H, W, 'mono8')
        assert (msg.header.stamp.sec, msg.header.stamp.nanosec) in sent
        assert msg.header.frame_id == FRAME_ID
    assert max(int(conv.image_to_numpy(m).max()) for m in got['mask']) < 14
    conf = conv.image_to_numpy(got['conf'][-1])
    assert conf.min() >= 255 // 14  # max softmax of 14 classes is at least 1/14
    # -- the cloud: plane at 1.5 m, every 2nd row/column, hole and far rows excluded
    rows, cols = np.mgrid[0:H:2, 0:W:2]
    d = depth[::2, ::2]
    keep = (d > 0) & (d <= 5000)
    expect_x = (cols[keep] - INTR.cx) * PLANE_M / INTR.fx
    expect_y = (rows[keep] - INTR.cy) * PLANE_M / INTR.fy
    for msg in got['cloud']:
        assert (msg.header.stamp.sec, msg.header.stamp.nanosec) in sent
        assert msg.header.frame_id == FRAME_ID
        assert [f.name for f in msg.fields] == ['x', 'y', 'z', 'label', 'confidence']
        pts = cloud_to_points(msg)
        assert pts.size == int(keep.sum()) == 32 * 40 - 5 * 10 - 2 * 40
        np.testing.assert_allclose(pts['z'], PLANE_M, atol=1e-6)
        np.testing.assert_allclose(pts['x'], expect_x, atol=1e-5)
        np.testing.assert_allclose(pts['y'], expect_y, atol=1e-5)
        assert pts['label'].max() < 14 and np.all((pts['confidence'] > 0)
                                                  & (pts['confidence'] <= 1))
    # -- rgb mode: labels went on, the cloud stopped, diagnostics say why
    assert 'rgb' in got['mode'], got['mode']
    cloud_stamps = {(m.header.stamp.sec, m.header.stamp.nanosec) for m in got['cloud']}
    assert not cloud_stamps & no_depth, 'a frame without depth produced a cloud'
    mask_stamps = {(m.header.stamp.sec, m.header.stamp.nanosec) for m in got['mask']}
    assert len(mask_stamps & no_depth) >= 10  # those frames still got labels
    assert got['diag']['cloud'] == 'none in rgb mode (no depth)', got['diag']
    assert got['diag']['output profile'] == 'nav2'
    assert got['diag']['backend rgbd'] == 'onnxruntime'
