# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Fuzzing the message boundary: sensor_msgs/Image -> numpy for every encoding (random sizes, steps,
endianness, truncated and over-long data) and CameraInfo -> intrinsics (zero, negative, NaN and
infinite focal lengths, odd sizes, ROI and binning). Each case gives a correct result or an
``ImageConversionError`` / ``ValueError`` that says what is wrong; nothing else.
"""

from __future__ import annotations

import math
import struct

from fuzz_support import Property, outcome
from hypothesis import given
from hypothesis import strategies as st
import numpy as np
from sensor_msgs.msg import CameraInfo, Image
import torch

from rgbd_seg_ros.core.camera import CameraIntrinsics, match_intrinsics
from rgbd_seg_ros.core.hha import compute_hha
from rgbd_seg_ros.ros import conversions as conv

UINT32_MAX = 2**32 - 1
# Encodings the node does not support, as cameras do send them.
FOREIGN_ENCODINGS = ('yuv422', 'bayer_rggb8', '32FC3', 'RGB8', '', '16SC1', '64FC1')
# struct format of one element, per encoding (the independent decoder below)
_STRUCT = {np.dtype(np.uint8): 'B', np.dtype(np.uint16): 'H', np.dtype(np.float32): 'f'}


# What is wrong with a generated Image ('none' three times: ~40 % of the cases are valid).
IMAGE_FAULTS = ('none', 'none', 'none', 'encoding', 'size', 'step', 'length', 'huge', 'any')


@st.composite
def image_messages(draw: st.DrawFn) -> Image:
    """An Image that is consistent except for one drawn fault (or, for 'any', everything)."""
    fault = draw(st.sampled_from(IMAGE_FAULTS))
    encoding = draw(st.sampled_from(FOREIGN_ENCODINGS if fault == 'encoding'
                                    else conv.KNOWN_ENCODINGS))
    dtype, channels = conv.ENCODINGS.get(encoding, (np.dtype(np.uint8), 1))
    dims = st.integers(1, 7)
    if fault == 'size':
        dims = st.integers(0, 7)
    elif fault in ('huge', 'any'):
        dims = st.one_of(st.integers(0, 7), st.sampled_from([UINT32_MAX, 2**31, 2**16 + 1]))
    height, width = draw(dims), draw(dims)
    row = width * channels * dtype.itemsize
    step = draw(st.one_of(st.just(row), st.integers(row, row + 9)))  # tight or padded rows
    if fault in ('step', 'any'):
        step = draw(st.one_of(st.integers(0, row + 3), st.sampled_from([0, 1, UINT32_MAX])))
    step = min(step, UINT32_MAX)
    expected = step * height
    length = expected
    if fault in ('length', 'any') or expected > 4096:
        near = st.integers(max(0, expected - 5), expected + 5)  # truncated or over-long
        length = draw(near if expected <= 4096 else st.integers(0, 64))
    msg = Image(height=height, width=width, encoding=encoding, step=step,
                is_bigendian=draw(st.sampled_from([0, 1, 2, 255])))
    msg.header.frame_id = 'camera'
    msg.data = draw(st.binary(min_size=length, max_size=length))
    return msg


def _decode_independently(msg: Image) -> np.ndarray | None:
    """Pixel-by-pixel decoding with ``struct`` (None when the message is inconsistent)."""
    if msg.encoding not in conv.ENCODINGS or msg.height == 0 or msg.width == 0:
        return None
    dtype, channels = conv.ENCODINGS[msg.encoding]
    row = msg.width * channels * dtype.itemsize
    data = bytes(msg.data)
    if msg.step < row or len(data) != msg.step * msg.height:
        return None
    fmt = ('>' if msg.is_bigendian else '<') + _STRUCT[dtype] * (msg.width * channels)
    rows = [struct.unpack(fmt, data[r * msg.step:r * msg.step + row]) for r in range(msg.height)]
    out = np.array(rows, dtype=dtype).reshape(msg.height, msg.width, channels)
    return out[:, :, 0] if channels == 1 else out


def check_image(msg: Image) -> str:
    """image_to_numpy equals the independent decoding, and fails exactly when that does."""
    expected = _decode_independently(msg)
    name, arr = outcome(lambda: conv.image_to_numpy(msg), (conv.ImageConversionError,))
    assert (name == 'ok') == (expected is not None), (name, arr, msg.encoding, msg.step)
    if expected is not None:
        assert arr.dtype == expected.dtype and arr.dtype.isnative
        np.testing.assert_array_equal(arr, expected)
    # Every role-specific reader either works on the same bytes or refuses with the same type.
    readers = {'rgb': conv.image_to_rgb, 'depth': conv.image_to_depth_m,
               'ratio': conv.depth_valid_ratio, 'labels': conv.image_to_labels}
    for role, reader in readers.items():
        role_name, value = outcome(lambda r=reader: r(msg), (conv.ImageConversionError,))
        if role_name != 'ok':
            continue
        assert expected is not None, (role, msg.encoding)
        h, w = expected.shape[:2]
        if role == 'rgb':
            assert value.shape == (h, w, 3) and value.dtype == np.uint8
        elif role == 'depth':
            depth_m, valid = value
            assert depth_m.shape == valid.shape == (h, w) and depth_m.dtype == np.float32
            assert np.all(np.isfinite(depth_m)) and np.all(depth_m[~valid] == 0)
            assert np.all(depth_m[valid] > 0)
        elif role == 'ratio':
            assert 0.0 <= value <= 1.0
        else:
            assert value.shape == (h, w)
    return name


@st.composite
def arrays_for_encodings(draw: st.DrawFn) -> tuple[np.ndarray, str]:
    encoding = draw(st.sampled_from(conv.KNOWN_ENCODINGS))
    dtype, channels = conv.ENCODINGS[encoding]
    shape = (draw(st.integers(1, 6)), draw(st.integers(1, 6))) + ((channels,) if channels > 1
                                                                  else ())
    raw = draw(st.binary(min_size=int(np.prod(shape)) * dtype.itemsize,
                         max_size=int(np.prod(shape)) * dtype.itemsize))
    return np.frombuffer(raw, dtype=dtype).reshape(shape), encoding


def check_round_trip(case: tuple[np.ndarray, str]) -> str:
    """numpy -> Image -> numpy is the identity for every encoding (bit-exact, NaNs included)."""
    arr, encoding = case
    back = conv.image_to_numpy(conv.numpy_to_image(arr, encoding))
    assert back.dtype == arr.dtype and back.shape == arr.shape
    assert back.tobytes() == arr.tobytes()
    return 'ok'


_SPECIAL = [0.0, -0.0, -1.0, -525.0, float('nan'), float('inf'), float('-inf'), 1e-300, 1e300,
            525.0, 319.5, 239.5, 1.0]
_values = st.one_of(st.sampled_from(_SPECIAL), st.floats(-1e4, 1e4, allow_nan=False))


@st.composite
def camera_infos(draw: st.DrawFn) -> CameraInfo:
    """A CameraInfo with random (often invalid) focal lengths, sizes, ROI and binning."""
    sizes = st.one_of(st.integers(0, 5), st.sampled_from([0, 64, 480, 640, UINT32_MAX]))
    msg = CameraInfo(width=draw(sizes), height=draw(sizes))
    msg.header.frame_id = 'camera'
    plausible = st.floats(1.0, 2000.0)
    values = draw(st.sampled_from([_values, st.one_of(plausible, _values)]))
    if draw(st.booleans()):  # a pinhole K, often with bad entries
        fx, fy, cx, cy = (draw(values) for _ in range(4))
        msg.k = [fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0]
    else:
        msg.k = [draw(_values) for _ in range(9)]
    if draw(st.booleans()):
        k = list(msg.k)
        msg.p = [k[0], k[1], k[2], 0.0, k[3], k[4], k[5], 0.0, k[6], k[7], k[8], 0.0]
    elif draw(st.booleans()):
        msg.p = [draw(_values) for _ in range(12)]
    roi_sizes = st.one_of(st.integers(0, 6), st.sampled_from([0, 64, 640, UINT32_MAX]))
    msg.roi.x_offset, msg.roi.y_offset = draw(roi_sizes), draw(roi_sizes)
    msg.roi.width, msg.roi.height = draw(roi_sizes), draw(roi_sizes)
    msg.binning_x, msg.binning_y = draw(roi_sizes), draw(roi_sizes)
    return msg


def check_camera_info(msg: CameraInfo) -> str:
    """
    A valid CameraIntrinsics (finite, positive focal lengths and size, ROI inside the image) or
    an ImageConversionError that names camera_info.
    """
    name, intr = outcome(lambda: conv.camera_info_to_intrinsics(msg))
    if name != 'ok':
        assert isinstance(intr, conv.ImageConversionError) and 'camera_info' in str(intr), intr
        return name
    roi = msg.roi
    if roi.width and roi.height:  # REP 104: the ROI lies inside the full-resolution image
        assert roi.x_offset + roi.width <= msg.width and roi.y_offset + roi.height <= msg.height
    assert isinstance(intr, CameraIntrinsics)
    assert all(math.isfinite(v) for v in (intr.fx, intr.fy, intr.cx, intr.cy))
    assert intr.fx > 0 and intr.fy > 0 and intr.width >= 1 and intr.height >= 1
    k = np.reshape(msg.k, (3, 3))
    p = np.reshape(msg.p, (3, 4))
    plain = (msg.roi.width == 0 or msg.roi.height == 0 or (msg.roi.width, msg.roi.height) == (
        msg.width, msg.height)) and max(msg.binning_x, 1) == max(msg.binning_y, 1) == 1
    if plain:  # no ROI, no binning: the numbers are P's (when set) or K's
        src = p[:, :3] if p[0, 0] > 0 and p[1, 1] > 0 else k
        assert (intr.fx, intr.fy, intr.cx, intr.cy) == (src[0, 0], src[1, 1], src[0, 2],
                                                        src[1, 2])
        assert (intr.width, intr.height) == (msg.width, msg.height)
    # Usable downstream: the node rescales the cached intrinsics to the image it pairs them with
    # (here 64x48) and the model to its input size, as float32 K, and computes HHA with them.
    # Intrinsics it accepts but the worker cannot use would cost every RGB-D frame its output.
    scaled = match_intrinsics(intr, 64, 48)
    k32 = np.stack([scaled.K, scaled.K * [[0.5], [0.5], [1.0]]]).astype(np.float32)
    assert np.all(np.isfinite(k32)) and np.all(k32[:, [0, 1], [0, 1]] > 0), scaled
    depth = np.full((2, 48, 64), 2.0, np.float32)
    hha = compute_hha(depth, torch.from_numpy(k32))
    assert tuple(hha.shape) == (2, 3, 48, 64)
    return name


PROPERTIES = (
    Property('image_to_numpy', image_messages(), check_image),
    Property('numpy_to_image_round_trip', arrays_for_encodings(), check_round_trip),
    Property('camera_info_to_intrinsics', camera_infos(), check_camera_info),
)


@given(image_messages())
def test_fuzz_image_conversion(msg):
    check_image(msg)


@given(arrays_for_encodings())
def test_fuzz_numpy_image_round_trip(case):
    check_round_trip(case)


@given(camera_infos())
def test_fuzz_camera_info(msg):
    check_camera_info(msg)
