# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""sensor_msgs Image/CameraInfo <-> numpy: every encoding, padded rows, big-endian data."""

import numpy as np
import pytest
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from rgbd_seg_ros.core.camera import CameraIntrinsics
from rgbd_seg_ros.ros.conversions import (
    ImageConversionError,
    camera_info_to_intrinsics,
    checked_view,
    depth_m_to_image,
    depth_valid_ratio,
    image_to_depth_m,
    image_to_labels,
    image_to_numpy,
    image_to_rgb,
    intrinsics_to_camera_info,
    labels_to_image,
    numpy_to_image,
    rgb_to_image,
)

RNG = np.random.default_rng(7)
H, W = 5, 7

SAMPLES = {
    'rgb8': RNG.integers(0, 256, (H, W, 3), dtype=np.uint8),
    'bgr8': RNG.integers(0, 256, (H, W, 3), dtype=np.uint8),
    'rgba8': RNG.integers(0, 256, (H, W, 4), dtype=np.uint8),
    'bgra8': RNG.integers(0, 256, (H, W, 4), dtype=np.uint8),
    'mono8': RNG.integers(0, 256, (H, W), dtype=np.uint8),
    '16UC1': RNG.integers(0, 65536, (H, W), dtype=np.uint16),
    'mono16': RNG.integers(0, 65536, (H, W), dtype=np.uint16),
    '32FC1': RNG.normal(2.0, 1.0, (H, W)).astype(np.float32),
}


def raw_message(arr, encoding, pad=0, big=False, pad_byte=0xAB):
    """An Image built by hand: rows serialised explicitly, ``pad`` junk bytes after each."""
    wire = arr.dtype.newbyteorder('>' if big else '<')
    rows = [arr[r].astype(wire).tobytes() + bytes([pad_byte]) * pad for r in range(arr.shape[0])]
    msg = Image()
    msg.height, msg.width = arr.shape[0], arr.shape[1]
    msg.encoding = encoding
    msg.is_bigendian = int(big)
    msg.step = len(rows[0])
    msg.data = b''.join(rows)
    return msg


@pytest.mark.parametrize('encoding', sorted(SAMPLES))
def test_round_trip_every_encoding(encoding):
    arr = SAMPLES[encoding]
    header = Header(frame_id='cam')
    header.stamp.sec, header.stamp.nanosec = 12, 345
    msg = numpy_to_image(arr, encoding, header)
    itemsize = arr.dtype.itemsize
    channels = arr.shape[2] if arr.ndim == 3 else 1
    assert msg.step == W * channels * itemsize and len(msg.data) == msg.step * H
    assert msg.header.frame_id == 'cam' and msg.header.stamp.nanosec == 345
    # What goes on the wire is the little-endian row-major byte string.
    assert bytes(msg.data) == arr.astype(arr.dtype.newbyteorder('<')).tobytes()
    back = image_to_numpy(msg)
    assert back.dtype == arr.dtype and back.dtype.isnative
    np.testing.assert_array_equal(back, arr)


@pytest.mark.parametrize('encoding', sorted(SAMPLES))
@pytest.mark.parametrize('pad', [1, 3, 8])
def test_padded_rows(encoding, pad):
    arr = SAMPLES[encoding]
    np.testing.assert_array_equal(image_to_numpy(raw_message(arr, encoding, pad=pad)), arr)


@pytest.mark.parametrize('encoding', ['16UC1', 'mono16', '32FC1'])
@pytest.mark.parametrize('pad', [0, 2])
def test_big_endian(encoding, pad):
    arr = SAMPLES[encoding]
    back = image_to_numpy(raw_message(arr, encoding, pad=pad, big=True))
    assert back.dtype.isnative
    np.testing.assert_array_equal(back, arr)


def test_big_endian_known_value():
    msg = Image(height=1, width=2, encoding='16UC1', is_bigendian=1, step=4)
    msg.data = bytes([0x01, 0x02, 0x00, 0xFF])  # 0x0102 = 258, 0x00FF = 255
    np.testing.assert_array_equal(image_to_numpy(msg), [[258, 255]])
    depth_m, valid = image_to_depth_m(msg)
    np.testing.assert_allclose(depth_m, [[0.258, 0.255]], rtol=1e-6)
    assert valid.all()


def test_colour_orders_to_rgb():
    r, g, b, a = 10, 20, 30, 40
    cases = {'rgb8': [r, g, b], 'bgr8': [b, g, r], 'rgba8': [r, g, b, a], 'bgra8': [b, g, r, a]}
    for encoding, pixel in cases.items():
        msg = raw_message(np.array([[pixel, pixel]], np.uint8), encoding, pad=2)
        np.testing.assert_array_equal(image_to_rgb(msg), [[[r, g, b], [r, g, b]]])
    grey = image_to_rgb(raw_message(np.array([[7, 9]], np.uint8), 'mono8'))
    np.testing.assert_array_equal(grey, [[[7, 7, 7], [9, 9, 9]]])


@pytest.mark.parametrize('encoding', ['rgb8', 'bgr8', 'rgba8', 'bgra8'])
def test_rgb_to_image_and_back(encoding):
    rgb = SAMPLES['rgb8']
    msg = rgb_to_image(rgb, encoding=encoding)
    assert msg.encoding == encoding
    np.testing.assert_array_equal(image_to_rgb(msg), rgb)
    if encoding == 'bgr8':
        np.testing.assert_array_equal(image_to_numpy(msg)[..., 0], rgb[..., 2])


def test_depth_units():
    mm = np.array([[0, 1000, 2500]], np.uint16)
    depth_m, valid = image_to_depth_m(raw_message(mm, '16UC1', pad=1))
    np.testing.assert_allclose(depth_m, [[0.0, 1.0, 2.5]])
    np.testing.assert_array_equal(valid, [[False, True, True]])
    metres = np.array([[np.nan, 1.25, -np.inf, np.inf]], np.float32)
    depth_m, valid = image_to_depth_m(raw_message(metres, '32FC1'))
    np.testing.assert_array_equal(depth_m, [[0.0, 1.25, 0.0, 0.0]])
    np.testing.assert_array_equal(valid, [[False, True, False, False]])
    with pytest.raises(ImageConversionError, match='depth input'):
        image_to_depth_m(raw_message(np.zeros((1, 1, 3), np.uint8), 'rgb8'))


@pytest.mark.parametrize('encoding', ['16UC1', '32FC1'])
def test_depth_m_to_image_round_trip(encoding):
    depth_m = np.array([[0.0, 1.234, 3.5], [np.nan, 0.5, 0.0]], np.float32)
    msg = depth_m_to_image(depth_m, encoding=encoding)
    back, valid = image_to_depth_m(msg)
    expected = np.array([[0.0, 1.234, 3.5], [0.0, 0.5, 0.0]], np.float32)
    np.testing.assert_allclose(back, expected, atol=5e-4)
    np.testing.assert_array_equal(valid, expected > 0)


def test_labels_mono8_and_mono16():
    labels = np.array([[0, 3, 255]], np.uint8)
    msg = labels_to_image(labels, num_classes=40)
    assert msg.encoding == 'mono8'
    np.testing.assert_array_equal(image_to_labels(msg), labels)
    wide = np.array([[0, 300, 65535]], np.uint16)
    msg = labels_to_image(wide, num_classes=400)
    assert msg.encoding == 'mono16' and msg.step == 6
    np.testing.assert_array_equal(image_to_labels(msg), wide)
    with pytest.raises(ImageConversionError, match='label image'):
        image_to_labels(raw_message(SAMPLES['rgb8'], 'rgb8'))


@pytest.mark.parametrize(
    'mutate, match',
    [
        (lambda m: setattr(m, 'encoding', 'yuv422'), 'unknown image encoding'),
        (lambda m: setattr(m, 'height', 0), 'zero size'),
        (lambda m: setattr(m, 'width', 0), 'zero size'),
        (lambda m: setattr(m, 'step', 3), 'step 3 is smaller'),
        (lambda m: setattr(m, 'data', bytes(len(m.data) - 1)), 'expected step\\*height'),
        (lambda m: setattr(m, 'data', bytes(len(m.data) + 5)), 'expected step\\*height'),
        (lambda m: setattr(m, 'height', m.height + 1), 'expected step\\*height'),
    ],
)
def test_malformed_messages_raise_value_errors(mutate, match):
    msg = numpy_to_image(SAMPLES['rgb8'], 'rgb8')
    mutate(msg)
    with pytest.raises(ValueError, match=match):
        image_to_numpy(msg)


def test_numpy_to_image_rejects_wrong_arrays():
    with pytest.raises(ImageConversionError, match='dtype'):
        numpy_to_image(SAMPLES['rgb8'].astype(np.uint16), 'rgb8')
    with pytest.raises(ImageConversionError, match='shape'):
        numpy_to_image(SAMPLES['mono8'], 'rgb8')
    with pytest.raises(ImageConversionError, match='unknown'):
        numpy_to_image(SAMPLES['mono8'], 'jpeg')


def test_non_contiguous_input_is_serialised_correctly():
    big = RNG.integers(0, 256, (10, 20, 3), dtype=np.uint8)
    view = big[::2, 3:10]
    np.testing.assert_array_equal(image_to_rgb(rgb_to_image(view)), view)


def test_camera_info_to_intrinsics_prefers_p_and_is_zero_based():
    msg = CameraInfo(width=640, height=480)
    msg.k = [500.0, 0.0, 320.0, 0.0, 505.0, 240.0, 0.0, 0.0, 1.0]
    msg.p = [490.0, 0.0, 318.0, 0.0, 0.0, 495.0, 238.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    intr = camera_info_to_intrinsics(msg)
    assert (intr.fx, intr.fy, intr.cx, intr.cy) == (490.0, 495.0, 318.0, 238.0)
    assert (intr.width, intr.height) == (640, 480)
    raw = camera_info_to_intrinsics(msg, use_projection=False)
    assert (raw.fx, raw.cx) == (500.0, 320.0)
    msg.p = [0.0] * 12
    assert camera_info_to_intrinsics(msg).fx == 500.0


def test_camera_info_binning_and_roi():
    msg = CameraInfo(width=640, height=480, binning_x=2, binning_y=2)
    msg.k = [500.0, 0.0, 319.5, 0.0, 500.0, 239.5, 0.0, 0.0, 1.0]
    binned = camera_info_to_intrinsics(msg, use_projection=False)
    # 2x2 binning: pixel centre u maps to (u + 0.5) / 2 - 0.5.
    assert (binned.fx, binned.cx, binned.cy, binned.width) == (250.0, 159.5, 119.5, 320)
    msg.binning_x = msg.binning_y = 0
    msg.roi.x_offset, msg.roi.y_offset, msg.roi.width, msg.roi.height = 100, 40, 200, 100
    roi = camera_info_to_intrinsics(msg, use_projection=False)
    assert (roi.cx, roi.cy, roi.width, roi.height) == (219.5, 199.5, 200, 100)


def test_camera_info_errors():
    with pytest.raises(ImageConversionError, match='uncalibrated'):
        camera_info_to_intrinsics(CameraInfo(width=640, height=480))
    with pytest.raises(ImageConversionError, match='zero size'):
        camera_info_to_intrinsics(CameraInfo())


def test_camera_info_roi_outside_image_binning_too_large_negative_focal():
    """
    Issue 17 (fuzzing): these were accepted (an ROI beyond the image gave nonsense
    intrinsics) or refused as 'CameraIntrinsics focal lengths must be positive, got fx=0.0'.
    """
    msg = CameraInfo(width=640, height=480)
    msg.header.frame_id = 'cam'
    msg.k = [500.0, 0.0, 319.5, 0.0, 500.0, 239.5, 0.0, 0.0, 1.0]
    msg.roi.x_offset, msg.roi.y_offset, msg.roi.width, msg.roi.height = 600, 0, 100, 100
    with pytest.raises(ImageConversionError, match=r"'cam': ROI 100x100 at \(600, 0\) is outside"):
        camera_info_to_intrinsics(msg)
    msg.roi.x_offset, msg.roi.width, msg.roi.height = 1, 640, 480  # full size, shifted
    with pytest.raises(ImageConversionError, match='outside the 640x480 image'):
        camera_info_to_intrinsics(msg)
    msg.roi.x_offset = msg.roi.width = msg.roi.height = 0
    msg.binning_x = 1000
    with pytest.raises(ImageConversionError, match='binning 1000x1 is larger than the 640x480'):
        camera_info_to_intrinsics(msg)
    msg.binning_x = 0
    msg.k = [-500.0, 0.0, 319.5, 0.0, 500.0, 239.5, 0.0, 0.0, 1.0]
    with pytest.raises(ImageConversionError, match=r'not positive: fx=-500.0, fy=500.0'):
        camera_info_to_intrinsics(msg)


@pytest.mark.parametrize('fx, cx', [(1e300, 319.5), (1e-300, 319.5), (500.0, 1e300),
                                    (2e6, 319.5)])
def test_camera_info_with_absurd_but_finite_intrinsics_is_refused(fx, cx):
    """
    Issue 17 (fuzzing): these were cached, then every RGB-D frame failed in the worker
    (float32 K of HHA overflowed to Inf or underflowed to 0): no labels until the next good
    camera_info.
    """
    msg = CameraInfo(width=640, height=480)
    msg.header.frame_id = 'cam'
    msg.k = [fx, 0.0, cx, 0.0, fx, 239.5, 0.0, 0.0, 1.0]
    with pytest.raises(ImageConversionError, match="'cam': implausible intrinsics"):
        camera_info_to_intrinsics(msg)
    msg.k = [1e6, 0.0, -1e6, 0.0, 0.01, 1e6, 0.0, 0.0, 1.0]  # the limits themselves are fine
    assert camera_info_to_intrinsics(msg).fy == 0.01


def test_intrinsics_round_trip_through_camera_info():
    intr = CameraIntrinsics(100.0, 101.0, 79.5, 59.5, 160, 120)
    msg = intrinsics_to_camera_info(intr, Header(frame_id='cam'))
    assert msg.header.frame_id == 'cam' and list(msg.p)[3] == 0.0
    assert camera_info_to_intrinsics(msg) == intr
    assert camera_info_to_intrinsics(msg, use_projection=False) == intr


def test_depth_valid_ratio_on_a_strided_grid():
    mm = np.zeros((8, 8), np.uint16)
    mm[:, 4:] = 1500  # right half valid: sampled columns 0 and 4 -> half
    assert depth_valid_ratio(raw_message(mm, '16UC1', pad=2), stride=4) == 0.5
    assert depth_valid_ratio(raw_message(mm, '16UC1'), stride=1) == 0.5
    metres = np.full((4, 4), np.nan, np.float32)
    metres[0, 0], metres[2, 2], metres[0, 2] = 1.0, np.inf, -1.0
    assert depth_valid_ratio(raw_message(metres, '32FC1', big=True), stride=2) == 0.25
    with pytest.raises(ImageConversionError, match='depth input has encoding'):
        depth_valid_ratio(raw_message(SAMPLES['rgb8'], 'rgb8'))


def test_checked_view_validates_role_and_size():
    view = checked_view(raw_message(SAMPLES['bgr8'], 'bgr8'), ('rgb8', 'bgr8'), 'rgb')
    np.testing.assert_array_equal(view, SAMPLES['bgr8'])  # raw channel order, no conversion
    with pytest.raises(ImageConversionError, match="rgb input has encoding '16UC1'"):
        checked_view(raw_message(SAMPLES['16UC1'], '16UC1'), ('rgb8',), 'rgb')
    short = raw_message(SAMPLES['rgb8'], 'rgb8')
    short.data = bytes(10)
    with pytest.raises(ImageConversionError, match='expected step'):
        checked_view(short, ('rgb8',), 'rgb')
