# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""CameraIntrinsics (scaling, cropping, parsing) and raw depth conversion (REP 117/118)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from rgbd_seg_ros.core.camera import CameraIntrinsics
from rgbd_seg_ros.core.depth import (
    KNOWN_DEPTH_ENCODINGS,
    depth_to_metres,
    metres_to_depth_mm,
    valid_fraction,
)

CAM = CameraIntrinsics(fx=525.0, fy=520.0, cx=319.5, cy=239.25, width=640, height=480)
POINTS = np.array([[0.3, -0.2, 2.0], [-1.1, 0.7, 3.5], [0.0, 0.0, 1.0], [2.0, 1.4, 4.0]])


def project(cam: CameraIntrinsics, points: np.ndarray) -> np.ndarray:
    """Pinhole projection of camera-frame points [N, 3] to pixel centres (u, v) [N, 2]."""
    return np.stack([cam.fx * points[:, 0] / points[:, 2] + cam.cx,
                     cam.fy * points[:, 1] / points[:, 2] + cam.cy], 1)


# --------------------------------------------------------------------------- camera


def test_matrix_round_trip():
    K = CAM.K  # noqa: N806
    assert K.dtype == np.float64 and K.shape == (3, 3)
    np.testing.assert_array_equal(K, [[525.0, 0, 319.5], [0, 520.0, 239.25], [0, 0, 1]])
    assert CameraIntrinsics.from_matrix(K, 640, 480) == CAM
    assert CAM.size == (480, 640)
    assert CameraIntrinsics(**CAM.to_dict()) == CAM


def test_fields_are_coerced_and_frozen():
    cam = CameraIntrinsics(500, 500, 10, 20, np.int64(64), 48.0)
    assert isinstance(cam.fx, float) and isinstance(cam.width, int) and cam.height == 48
    with pytest.raises(dataclasses.FrozenInstanceError):
        cam.fx = 1.0  # type: ignore[misc]


@pytest.mark.parametrize('scale', [0.5, 0.25, 2.0, 1.5])
def test_scaled_keeps_projections_of_pixel_corners(scale):
    w, h = int(640 * scale), int(480 * scale)
    small = CAM.scaled(w, h)
    assert (small.width, small.height) == (w, h)
    uv = project(CAM, POINTS)
    # OpenCV resize maps a pixel centre u to (u + 0.5) * s - 0.5.
    np.testing.assert_allclose(project(small, POINTS), (uv + 0.5) * scale - 0.5, atol=1e-9)


def test_scaled_anisotropic_and_back():
    other = CAM.scaled(320, 360)
    assert other.fx == pytest.approx(262.5) and other.fy == pytest.approx(390.0)
    back = other.scaled(640, 480)
    for name in ('fx', 'fy', 'cx', 'cy'):
        assert getattr(back, name) == pytest.approx(getattr(CAM, name))


def test_cropped_shifts_projections():
    crop = CAM.cropped(40, 45, 560, 425)  # Gupta's NYU crop (0-based offsets)
    assert (crop.width, crop.height) == (560, 425)
    assert crop.fx == CAM.fx and crop.fy == CAM.fy
    np.testing.assert_allclose(project(crop, POINTS), project(CAM, POINTS) - [40, 45])
    padded = CAM.cropped(-10, -20, 660, 500)  # window starting outside the image
    np.testing.assert_allclose(project(padded, POINTS), project(CAM, POINTS) + [10, 20])


def test_flipped_horizontally_mirrors_points():
    flipped = CAM.flipped_horizontally()
    mirrored = POINTS * [-1, 1, 1]
    uv = project(CAM, POINTS)
    np.testing.assert_allclose(project(flipped, mirrored)[:, 0], CAM.width - 1 - uv[:, 0])
    np.testing.assert_allclose(project(flipped, mirrored)[:, 1], uv[:, 1])
    assert flipped.flipped_horizontally() == CAM


@pytest.mark.parametrize(
    ('K', 'match'),
    [
        (np.eye(2), '3x3'),
        ([[500, 0, 1], [0, 500, 1], [0, 0, np.nan]], 'NaN or Inf'),
        ([[500, 2, 1], [0, 500, 1], [0, 0, 1]], 'skew'),
        ([[500, 0, 1], [0, 500, 1], [0, 0, 2]], 'last row'),
        ([[500, 0, 1], [0, 500, 1], [1, 0, 1]], 'last row'),
        ([[0, 0, 1], [0, 500, 1], [0, 0, 1]], 'positive'),
        ([[500, 0, 1], [0, -500, 1], [0, 0, 1]], 'positive'),
    ],
)
def test_from_matrix_rejects(K, match):  # noqa: N803
    with pytest.raises(ValueError, match=match):
        CameraIntrinsics.from_matrix(np.asarray(K, dtype=float), 64, 48)


@pytest.mark.parametrize(
    ('kwargs', 'match'),
    [
        (dict(fx=float('nan')), 'finite'),
        (dict(cy=float('inf')), 'finite'),
        (dict(fx=0.0), 'positive'),
        (dict(fy=-1.0), 'positive'),
        (dict(width=0), 'size must be positive'),
        (dict(height=-4), 'size must be positive'),
    ],
)
def test_constructor_rejects(kwargs, match):
    args = dict(fx=500.0, fy=500.0, cx=31.5, cy=23.5, width=64, height=48) | kwargs
    with pytest.raises(ValueError, match=match):
        CameraIntrinsics(**args)


def test_from_file(tmp_path):
    path = tmp_path / 'K.txt'
    path.write_text('518.85 0 325.58\n0 519.47 253.74\n0 0 1\n')
    cam = CameraIntrinsics.from_file(str(path), 640, 480)
    assert (cam.fx, cam.fy, cam.cx, cam.cy) == (518.85, 519.47, 325.58, 253.74)
    one_line = tmp_path / 'K1.txt'
    one_line.write_text('518.85 0 325.58 0 519.47 253.74 0 0 1')
    assert CameraIntrinsics.from_file(str(one_line), 640, 480) == cam
    bad = tmp_path / 'bad.txt'
    bad.write_text('1 2 3\n4 5\n')
    with pytest.raises(ValueError, match='bad.txt'):
        CameraIntrinsics.from_file(str(bad), 640, 480)
    with pytest.raises(ValueError, match='missing.txt'):
        CameraIntrinsics.from_file(str(tmp_path / 'missing.txt'), 640, 480)
    skew = tmp_path / 'skew.txt'
    skew.write_text('500 3 1\n0 500 1\n0 0 1\n')
    with pytest.raises(ValueError, match='skew.txt.*skew'):
        CameraIntrinsics.from_file(str(skew), 64, 48)


# --------------------------------------------------------------------------- depth


@pytest.mark.parametrize('encoding', ['16UC1', 'mono16'])
def test_millimetre_encodings(encoding):
    raw = np.array([[0, 1, 1000], [1500, 65535, 0]], dtype=np.uint16)
    depth, valid = depth_to_metres(raw, encoding)
    assert depth.dtype == np.float32 and valid.dtype == bool and depth.shape == (2, 3)
    np.testing.assert_allclose(depth, [[0, 0.001, 1.0], [1.5, 65.535, 0]], rtol=1e-7)
    np.testing.assert_array_equal(valid, [[False, True, True], [True, True, False]])


def test_float_metres_with_invalid_values():
    raw = np.array([[np.nan, np.inf, -np.inf], [0.0, -1.0, 2.5]], dtype=np.float32)
    before = raw.copy()
    depth, valid = depth_to_metres(raw, '32FC1')
    np.testing.assert_array_equal(depth, [[0, 0, 0], [0, 0, 2.5]])
    np.testing.assert_array_equal(valid, [[False, False, False], [False, False, True]])
    np.testing.assert_array_equal(raw, before)  # input untouched (NaNs compare via assert_...)
    d64, _ = depth_to_metres(raw.astype(np.float64), '32FC1')
    assert d64.dtype == np.float32


def test_depth_scale_override_and_channel_axis():
    raw = np.array([[17985, 36156]], dtype=np.uint16)[..., None]  # [H, W, 1]
    depth, valid = depth_to_metres(raw, '16UC1', depth_scale=1e-4)  # Depth2HHA demo units
    np.testing.assert_allclose(depth, [[1.7985, 3.6156]], rtol=1e-6)
    assert valid.all() and depth.shape == (1, 2)
    mm_float = np.array([[1500.0, np.nan]], dtype=np.float32)
    depth, valid = depth_to_metres(mm_float, '32FC1', depth_scale=1e-3)
    np.testing.assert_allclose(depth, [[1.5, 0.0]])
    np.testing.assert_array_equal(valid, [[True, False]])


@pytest.mark.parametrize(
    ('raw', 'encoding', 'scale', 'match'),
    [
        (np.zeros((2, 2), np.uint16), 'rgb8', None, 'unknown depth encoding'),
        (np.zeros((2, 2), np.float32), '16UC1', None, 'must be uint16'),
        (np.zeros((2, 2), np.uint8), 'mono16', None, 'must be uint16'),
        (np.zeros((2, 2), np.uint16), '32FC1', None, 'must be a float array'),
        (np.zeros((2, 2, 3), np.uint16), '16UC1', None, r'\[H, W\]'),
        (np.zeros(4, np.uint16), '16UC1', None, r'\[H, W\]'),
        (np.zeros((0, 4), np.uint16), '16UC1', None, 'non-empty'),
        (np.zeros((2, 2), np.uint16), '16UC1', 0.0, 'positive finite'),
        (np.zeros((2, 2), np.uint16), '16UC1', -1e-3, 'positive finite'),
        (np.zeros((2, 2), np.float32), '32FC1', float('nan'), 'positive finite'),
    ],
)
def test_bad_depth_rejected(raw, encoding, scale, match):
    with pytest.raises(ValueError, match=match):
        depth_to_metres(raw, encoding, scale)


def test_known_encodings():
    assert set(KNOWN_DEPTH_ENCODINGS) == {'16UC1', 'mono16', '32FC1'}


def test_metres_to_millimetres_round_trip():
    depth = np.array([[0.0, 0.0014, 1.2345, 2.0], [np.nan, -1.0, 70.0, np.inf]], np.float32)
    mm = metres_to_depth_mm(depth)
    assert mm.dtype == np.uint16
    np.testing.assert_array_equal(mm, [[0, 1, 1234, 2000], [0, 0, 65535, 0]])
    back, valid = depth_to_metres(mm, '16UC1')
    np.testing.assert_array_equal(valid, mm > 0)
    ok = np.isfinite(depth) & (depth > 0.0005) & (depth < 65.0)
    assert np.abs(back[ok] - depth[ok]).max() <= 0.0005 + 1e-6


def test_valid_fraction():
    assert valid_fraction(np.zeros((0, 3), bool)) == 0.0
    assert valid_fraction(np.array([[True, False], [True, True]])) == 0.75
