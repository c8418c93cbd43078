# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Raw images (bytes + encoding + step) and camera calibrations -> numpy, ROS-free, without cv_bridge.

Every function takes an object with the fields of sensor_msgs/Image (``height``, ``width``,
``encoding``, ``is_bigendian``, ``step``, ``data``) or sensor_msgs/CameraInfo: an rclpy message,
a ``rosbags`` message deserialised from a bag's CDR, or any dataclass with those fields. So the
node (``ros/conversions.py`` re-exports these) and the offline replay (no ROS installed) decode
with the same code.

Reading never loops over pixels: ``np.frombuffer`` views ``msg.data``, ``step`` row padding is
sliced away and big-endian data is byte-swapped to native order. Malformed input raises
``ImageConversionError`` (a ``ValueError``) naming the problem.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from rgbd_seg_ros.core.camera import CameraIntrinsics
from rgbd_seg_ros.core.depth import KNOWN_DEPTH_ENCODINGS, depth_to_metres, valid_samples

# encoding -> (dtype, channels)
ENCODINGS: dict[str, tuple[np.dtype, int]] = {
    'rgb8': (np.dtype(np.uint8), 3),
    'bgr8': (np.dtype(np.uint8), 3),
    'rgba8': (np.dtype(np.uint8), 4),
    'bgra8': (np.dtype(np.uint8), 4),
    'mono8': (np.dtype(np.uint8), 1),
    '8UC1': (np.dtype(np.uint8), 1),
    'mono16': (np.dtype(np.uint16), 1),
    '16UC1': (np.dtype(np.uint16), 1),
    '32FC1': (np.dtype(np.float32), 1),
}
KNOWN_ENCODINGS = tuple(ENCODINGS)
COLOR_ENCODINGS = ('rgb8', 'bgr8', 'rgba8', 'bgra8', 'mono8')
DEPTH_ENCODINGS = KNOWN_DEPTH_ENCODINGS  # owned by core/depth.py
LABEL_ENCODINGS = ('mono8', '8UC1', 'mono16', '16UC1')

# Channel indices that give RGB order, per colour encoding.
TO_RGB = {'rgb8': (0, 1, 2), 'rgba8': (0, 1, 2), 'bgr8': (2, 1, 0), 'bgra8': (2, 1, 0)}
HOST_BIG_ENDIAN = sys.byteorder == 'big'


class ImageConversionError(ValueError):
    """An image or calibration that cannot be converted (bad size, step, encoding, ...)."""


def image_to_numpy(msg: Any) -> np.ndarray:
    """
    View an Image as a numpy array in native byte order.

    :returns: ``[H, W]`` for one channel, ``[H, W, C]`` otherwise, with the encoding's dtype.
        The array may share memory with ``msg.data`` (read-only use); copy it to modify it.
    :raises ImageConversionError: unknown encoding, zero size, step or data length inconsistent.
    """
    encoding = msg.encoding
    if encoding not in ENCODINGS:
        raise ImageConversionError(
            f'unknown image encoding {encoding!r}; supported: {", ".join(KNOWN_ENCODINGS)}'
        )
    dtype, channels = ENCODINGS[encoding]
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height <= 0 or width <= 0:
        raise ImageConversionError(f'{encoding} image has zero size ({width}x{height})')
    row_bytes = width * channels * dtype.itemsize
    if step < row_bytes:
        raise ImageConversionError(
            f'{encoding} image step {step} is smaller than width*channels*bytes = {row_bytes}'
        )
    buf = np.frombuffer(msg.data, dtype=np.uint8)
    if buf.size != step * height:
        raise ImageConversionError(
            f'{encoding} image data has {buf.size} bytes, expected step*height = '
            f'{step}*{height} = {step * height}'
        )
    rows = buf.reshape(height, step)
    if step != row_bytes:
        rows = rows[:, :row_bytes]
    big = bool(msg.is_bigendian)
    wire = dtype.newbyteorder('>' if big else '<') if dtype.itemsize > 1 else dtype
    if dtype.itemsize > 1 and (step % dtype.itemsize or step != row_bytes):
        rows = np.ascontiguousarray(rows)  # unaligned or padded rows: one copy
    out = rows.view(wire).reshape(height, width, channels)
    if dtype.itemsize > 1 and big != HOST_BIG_ENDIAN:
        out = out.astype(dtype)  # byte swap to native order (a copy)
    return out[:, :, 0] if channels == 1 else out


def image_to_rgb(msg: Any) -> np.ndarray:
    """Colour or mono8 Image -> uint8 ``[H, W, 3]`` in RGB order (alpha dropped)."""
    if msg.encoding not in COLOR_ENCODINGS:
        raise ImageConversionError(
            f'RGB input has encoding {msg.encoding!r}; expected one of {COLOR_ENCODINGS}'
        )
    return view_to_rgb(image_to_numpy(msg), msg.encoding)


def view_to_rgb(view: np.ndarray, encoding: str) -> np.ndarray:
    """
    ``image_to_numpy``'s view of a colour or mono8 image -> uint8 ``[H, W, 3]`` in RGB order.

    rgb8 is returned as is (no copy); the other encodings are reordered (a copy).
    """
    if encoding == 'mono8':
        return np.repeat(view[:, :, None], 3, axis=2)
    if encoding == 'rgb8':
        return view
    return view[:, :, list(TO_RGB[encoding])]


def image_to_depth_m(
    msg: Any, depth_scale: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """
    Depth Image -> ``(depth_m, valid)``: float32 ``[H, W]`` metres (0 invalid), bool ``[H, W]``.

    16UC1/mono16 are millimetres, 32FC1 metres (REP 117/118); ``depth_scale`` (metres per unit)
    overrides the encoding's unit.
    """
    if msg.encoding not in DEPTH_ENCODINGS:
        raise ImageConversionError(
            f'depth input has encoding {msg.encoding!r}; expected one of {DEPTH_ENCODINGS}'
        )
    return depth_to_metres(image_to_numpy(msg), msg.encoding, depth_scale)


def checked_view(msg: Any, allowed: tuple[str, ...], role: str) -> np.ndarray:
    """
    Validate ``msg`` for ``role`` (its encoding is one of ``allowed``, sizes consistent) and
    return ``image_to_numpy``'s view; cheap enough for a subscription callback.
    """
    if msg.encoding not in allowed:
        raise ImageConversionError(
            f'{role} input has encoding {msg.encoding!r}; expected one of {allowed}'
        )
    return image_to_numpy(msg)


def depth_valid_ratio(msg: Any, stride: int = 4) -> float:
    """
    Fraction of valid pixels of a depth Image, on every ``stride``-th row and column (the
    callback-time health check; ``image_to_depth_m`` converts the frames that are used).
    """
    values, sampled = valid_samples(checked_view(msg, DEPTH_ENCODINGS, 'depth'), stride)
    return values.size / sampled


def image_to_labels(msg: Any) -> np.ndarray:
    """Label Image (mono8/8UC1/mono16/16UC1) -> uint8 or uint16 ``[H, W]`` class ids."""
    if msg.encoding not in LABEL_ENCODINGS:
        raise ImageConversionError(
            f'label image has encoding {msg.encoding!r}; expected one of {LABEL_ENCODINGS}'
        )
    return image_to_numpy(msg)


_FOCAL_RANGE_PX = (1e-2, 1e6)
_MAX_CENTRE_PX = 1e6


def camera_info_to_intrinsics(msg: Any, use_projection: bool = True) -> CameraIntrinsics:
    """
    CameraInfo -> CameraIntrinsics (0-based pixel centres) of the image as published.

    Rectified images (``image_rect*``) follow the projection matrix P; ``use_projection=False``
    takes K (raw images). Falls back to K when P is all zero. Binning and ROI are applied
    (REP 104: K and P describe the full-resolution sensor).

    :raises ImageConversionError: zero size, a matrix without positive finite focal lengths,
        an ROI outside the image, binning larger than it, or intrinsics outside the plausible
        range (focal lengths 0.01..1e6 px, principal point within 1e6 px).
    """
    width, height = int(msg.width), int(msg.height)
    frame = msg.header.frame_id
    if width <= 0 or height <= 0:
        raise ImageConversionError(f'camera_info has zero size ({width}x{height})')
    p = np.asarray(msg.p, dtype=np.float64).reshape(3, 4)
    k = np.asarray(msg.k, dtype=np.float64).reshape(3, 3)
    mat = p[:, :3] if use_projection and p[0, 0] > 0 and p[1, 1] > 0 else k
    if not (mat[0, 0] > 0 and mat[1, 1] > 0):
        raise ImageConversionError(
            f'camera_info of frame {frame!r} is uncalibrated (fx or fy is not positive: '
            f'fx={mat[0, 0]}, fy={mat[1, 1]})'
        )
    try:
        intr = CameraIntrinsics(mat[0, 0], mat[1, 1], mat[0, 2], mat[1, 2], width, height)
    except ValueError as exc:
        raise ImageConversionError(f'camera_info: {exc}') from exc
    roi = msg.roi
    # An ROI outside the image, or binning larger than it, is refused here by name (else it
    # fails later with a misleading 'focal lengths must be positive, got fx=0.0').
    x0, y0, w, h = (int(v) for v in (roi.x_offset, roi.y_offset, roi.width, roi.height))
    if w > 0 and h > 0 and (x0 + w > width or y0 + h > height):
        raise ImageConversionError(
            f'camera_info of frame {frame!r}: ROI {w}x{h} at ({x0}, {y0}) is outside the '
            f'{width}x{height} image'
        )
    if w > 0 and h > 0 and (w, h) != (width, height):
        intr = intr.cropped(x0, y0, w, h)
    bx, by = max(1, int(msg.binning_x)), max(1, int(msg.binning_y))
    if bx > 1 or by > 1:
        if intr.width // bx < 1 or intr.height // by < 1:
            raise ImageConversionError(
                f'camera_info of frame {frame!r}: binning {bx}x{by} is larger than the '
                f'{intr.width}x{intr.height} image'
            )
        try:
            intr = intr.scaled(intr.width // bx, intr.height // by)
        except ValueError as exc:  # focal lengths so small that binning underflows them
            raise ImageConversionError(f'camera_info of frame {frame!r}: {exc}') from exc
    # Finite but absurd values (fx = 1e300 or 1e-300, cx = 1e300) would be cached and then
    # overflow the float32 K of HHA, failing every RGB-D frame in the worker: refused here.
    lo, hi = _FOCAL_RANGE_PX
    if not (lo <= intr.fx <= hi and lo <= intr.fy <= hi
            and abs(intr.cx) <= _MAX_CENTRE_PX and abs(intr.cy) <= _MAX_CENTRE_PX):
        raise ImageConversionError(
            f'camera_info of frame {frame!r}: implausible intrinsics fx={intr.fx:g}, '
            f'fy={intr.fy:g}, cx={intr.cx:g}, cy={intr.cy:g} (focal lengths {lo:g}..{hi:g} px, '
            f'|cx|, |cy| <= {_MAX_CENTRE_PX:g} px)'
        )
    return intr


