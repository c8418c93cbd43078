# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""PointCloud2 packing: the fields a consumer reads, and a round trip."""

import numpy as np
import pytest
from sensor_msgs.msg import PointField
from std_msgs.msg import Header

from rgbd_seg_ros.core.camera import CameraIntrinsics
from rgbd_seg_ros.core.cloud import semantic_cloud
from rgbd_seg_ros.ros.cloud_msg import cloud_to_points, points_to_cloud


def _points(rgb: bool):
    intr = CameraIntrinsics(5.0, 5.0, 1.5, 1.0, 4, 3)
    depth = np.full((3, 4), 1.5, np.float32)
    depth[1, 2] = np.nan
    labels = np.arange(12, dtype=np.uint8).reshape(3, 4)
    conf = np.full((3, 4), 0.25, np.float32)
    colour = np.full((3, 4, 3), 200, np.uint8) if rgb else None
    return semantic_cloud(depth, intr, labels, conf, rgb=colour)


@pytest.mark.parametrize('rgb', [False, True])
def test_fields_and_round_trip(rgb):
    pts = _points(rgb)
    header = Header(frame_id='camera_color_optical_frame')
    header.stamp.sec, header.stamp.nanosec = 12, 345
    msg = points_to_cloud(pts, header)
    expected = [('x', 0, PointField.FLOAT32), ('y', 4, PointField.FLOAT32),
                ('z', 8, PointField.FLOAT32), ('label', 12, PointField.UINT16),
                ('confidence', 16, PointField.FLOAT32)]
    if rgb:
        expected.append(('rgb', 20, PointField.FLOAT32))
    assert [(f.name, f.offset, f.datatype, f.count) for f in msg.fields] == [
        e + (1,) for e in expected]
    assert (msg.height, msg.width, msg.point_step) == (1, 11, 24 if rgb else 20)
    assert msg.row_step == msg.point_step * 11 and len(msg.data) == msg.row_step
    assert msg.is_dense and not msg.is_bigendian
    assert msg.header.frame_id == 'camera_color_optical_frame' and msg.header.stamp.sec == 12
    back = cloud_to_points(msg)
    for name in pts.dtype.names:
        np.testing.assert_array_equal(back[name], pts[name])
    # label 6 (row 1, column 2) had NaN depth: no point
    assert 6 not in back['label'] and back['label'].dtype == np.uint16


def test_empty_cloud_and_bad_input():
    empty = points_to_cloud(_points(False)[:0])
    assert empty.width == 0 and cloud_to_points(empty).size == 0
    with pytest.raises(ValueError, match='structured'):
        points_to_cloud(np.zeros(3, np.float32))
