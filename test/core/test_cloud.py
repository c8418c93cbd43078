# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""Semantic point cloud against closed-form scenes (fronto-parallel and tilted planes)."""

import numpy as np
import pytest

from rgbd_seg_ros.core.camera import CameraIntrinsics
from rgbd_seg_ros.core.cloud import cloud_dtype, pack_rgb, semantic_cloud, unpack_rgb

H, W = 6, 8
INTR = CameraIntrinsics(fx=10.0, fy=20.0, cx=3.5, cy=2.5, width=W, height=H)


def _scene(z=2.0):
    depth = np.full((H, W), z, np.float32)
    labels = (np.arange(H * W).reshape(H, W) % 7).astype(np.uint8)
    conf = np.linspace(0.1, 0.9, H * W, dtype=np.float32).reshape(H, W)
    return depth, labels, conf


def test_plane_points_in_closed_form():
    depth, labels, conf = _scene(2.0)
    pts = semantic_cloud(depth, INTR, labels, conf)
    assert pts.shape == (H * W,)
    v, u = np.divmod(np.arange(H * W), W)  # row-major
    np.testing.assert_allclose(pts['x'], (u - 3.5) * 2.0 / 10.0, atol=1e-6)
    np.testing.assert_allclose(pts['y'], (v - 2.5) * 2.0 / 20.0, atol=1e-6)
    np.testing.assert_array_equal(pts['z'], np.float32(2.0))
    # pixel (row 0, col 0) is up-left of the principal point: x < 0 and y < 0 (x right, y down)
    assert pts['x'][0] == pytest.approx(-0.7) and pts['y'][0] == pytest.approx(-0.25)
    np.testing.assert_array_equal(pts['label'], labels[v, u])
    np.testing.assert_array_equal(pts['confidence'], conf[v, u])


def test_tilted_plane_points_lie_on_the_plane():
    # Plane z = 1 + 0.1 * y (metres): depth per pixel from the ray (u, v): z = 1 / (1 - 0.1 b)
    v, u = np.mgrid[0:H, 0:W]
    b = (v - INTR.cy) / INTR.fy
    depth = (1.0 / (1.0 - 0.1 * b)).astype(np.float32)
    _, labels, conf = _scene()
    pts = semantic_cloud(depth, INTR, labels, conf)
    np.testing.assert_allclose(pts['z'], 1.0 + 0.1 * pts['y'], atol=1e-5)


def test_invalid_depth_never_becomes_a_point_and_range_limit():
    depth, labels, conf = _scene(2.0)
    depth[0, 0], depth[1, 1], depth[2, 2], depth[3, 3] = 0.0, np.nan, np.inf, -1.0
    depth[4, :] = 7.5  # beyond 5 m
    pts = semantic_cloud(depth, INTR, labels, conf, max_range_m=5.0)
    assert pts.size == H * W - 4 - W
    assert np.all(np.isfinite(pts['z'])) and np.all(pts['z'] == np.float32(2.0))
    assert semantic_cloud(depth, INTR, labels, conf).size == H * W - 4  # 0: no limit


def test_decimation_keeps_every_nth_row_and_column():
    depth, labels, conf = _scene(1.0)
    pts = semantic_cloud(depth, INTR, labels, conf, decimation=3)
    # rows 0, 3 and columns 0, 3, 6
    assert pts.size == 2 * 3
    np.testing.assert_allclose(pts['x'], np.tile((np.array([0, 3, 6]) - 3.5) / 10.0, 2),
                               atol=1e-6)
    np.testing.assert_allclose(pts['y'], np.repeat((np.array([0, 3]) - 2.5) / 20.0, 3),
                               atol=1e-6)
    np.testing.assert_array_equal(pts['label'], labels[::3, ::3].ravel())


def test_depth_at_half_resolution_is_resized_to_the_labels():
    depth, labels, conf = _scene(3.0)
    small = np.full((H // 2, W // 2), 3.0, np.float32)
    small[0, 0] = 0.0  # covers label pixels (0..1, 0..1)
    pts = semantic_cloud(small, INTR, labels, conf)
    assert pts.size == H * W - 4


def test_rgb_field_and_layout():
    depth, labels, conf = _scene(1.0)
    rgb = np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8)
    pts = semantic_cloud(depth, INTR, labels, conf, rgb=rgb)
    np.testing.assert_array_equal(unpack_rgb(pts['rgb']), rgb.reshape(-1, 3))
    assert pack_rgb(np.array([1, 2, 3], np.uint8)).view(np.uint32) == 0x010203
    assert cloud_dtype().itemsize == 20 and cloud_dtype(True).itemsize == 24
    assert [cloud_dtype(True).fields[n][1] for n in ('x', 'y', 'z', 'label', 'confidence',
                                                    'rgb')] == [0, 4, 8, 12, 16, 20]


@pytest.mark.parametrize('kwargs, match', [
    ({'decimation': 0}, 'decimation'),
    ({'confidence': np.zeros((2, 2), np.float32)}, 'confidence'),
    ({'depth_m': np.zeros((H, W), np.uint16)}, 'depth_m'),
])
def test_bad_input_names_the_problem(kwargs, match):
    depth, labels, conf = _scene()
    args = {'depth_m': depth, 'intrinsics': INTR, 'labels': labels, 'confidence': conf,
            **kwargs}
    with pytest.raises(ValueError, match=match):
        semantic_cloud(**args)
