# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
sensor_msgs/Image and CameraInfo <-> numpy, without cv_bridge: the ROS side of the conversions.

Reading (``image_to_numpy``, ``image_to_rgb``, ``image_to_depth_m``, ``camera_info_to_intrinsics``,
...) is ROS-free and lives in ``core/image_codec.py``; it is re-exported here so the node reads
``conv.image_to_rgb(msg)``. Writing builds messages: it copies the contiguous array once into
the message (see ``fill_data``: of the ways to fill ``msg.data`` this is the fastest, ~55 us
for 640x480x3 against ~100 us for ``msg.data = arr.tobytes()``).
"""

from __future__ import annotations

import array

import numpy as np
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from rgbd_seg_ros.core.camera import CameraIntrinsics
from rgbd_seg_ros.core.depth import metres_to_depth_mm
from rgbd_seg_ros.core.image_codec import (  # noqa: F401 - the reading half, re-exported
    COLOR_ENCODINGS,
    DEPTH_ENCODINGS,
    ENCODINGS,
    HOST_BIG_ENDIAN,
    KNOWN_ENCODINGS,
    LABEL_ENCODINGS,
    TO_RGB,
    ImageConversionError,
    camera_info_to_intrinsics,
    checked_view,
    depth_valid_ratio,
    image_to_depth_m,
    image_to_labels,
    image_to_numpy,
    image_to_rgb,
)


def fill_data(msg: Image, arr: np.ndarray) -> None:
    """Copy a C-contiguous array into ``msg.data`` with a single copy."""
    data = array.array('B')
    data.frombytes(memoryview(arr).cast('B'))
    if hasattr(msg, '_data'):
        # The generated setter copies again (array('B', value)); the slot takes it as is.
        msg._data = data
    else:  # pragma: no cover - other message implementations
        msg.data = data


def numpy_to_image(arr: np.ndarray, encoding: str, header: Header | None = None) -> Image:
    """
    Numpy array -> Image with tight rows (``step = width * channels * bytes``), host byte order.

    :param arr: ``[H, W]`` or ``[H, W, C]`` with the encoding's dtype and channel count.
    :raises ImageConversionError: encoding unknown or not matching the array.
    """
    if encoding not in ENCODINGS:
        raise ImageConversionError(
            f'unknown image encoding {encoding!r}; supported: {", ".join(KNOWN_ENCODINGS)}'
        )
    dtype, channels = ENCODINGS[encoding]
    arr = np.asarray(arr)
    shape_ok = (arr.ndim == 2 and channels == 1) or (
        arr.ndim == 3 and arr.shape[2] == channels
    )
    if not shape_ok or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageConversionError(
            f'{encoding} needs a non-empty [H, W{", " + str(channels) if channels > 1 else ""}] '
            f'array, got shape {arr.shape}'
        )
    if arr.dtype != dtype:
        raise ImageConversionError(f'{encoding} needs dtype {dtype}, got {arr.dtype}')
    arr = np.ascontiguousarray(arr)
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width = int(arr.shape[0]), int(arr.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = int(HOST_BIG_ENDIAN and dtype.itemsize > 1)
    msg.step = msg.width * channels * dtype.itemsize
    fill_data(msg, arr)
    return msg


def rgb_to_image(rgb: np.ndarray, header: Header | None = None, encoding: str = 'rgb8') -> Image:
    """RGB uint8 ``[H, W, 3]`` -> Image in ``encoding`` (rgb8, bgr8, rgba8 or bgra8)."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ImageConversionError(f'rgb must be [H, W, 3], got shape {rgb.shape}')
    if encoding not in TO_RGB:
        raise ImageConversionError(
            f'colour output encoding {encoding!r}; expected one of {tuple(TO_RGB)}'
        )
    order = list(TO_RGB[encoding])
    out = rgb if encoding == 'rgb8' else rgb[:, :, order]
    if encoding in ('rgba8', 'bgra8'):
        alpha = np.full(rgb.shape[:2] + (1,), 255, dtype=np.uint8)
        out = np.concatenate([out, alpha], axis=2)
    return numpy_to_image(out, encoding, header)


def depth_m_to_image(
    depth_m: np.ndarray, header: Header | None = None, encoding: str = '16UC1'
) -> Image:
    """Float metres ``[H, W]`` (0/NaN invalid) -> 16UC1/mono16 millimetres or 32FC1 (NaN)."""
    depth_m = np.asarray(depth_m, dtype=np.float32)
    if encoding in ('16UC1', 'mono16'):
        return numpy_to_image(metres_to_depth_mm(depth_m), encoding, header)
    if encoding == '32FC1':
        valid = np.isfinite(depth_m) & (depth_m > 0)
        return numpy_to_image(np.where(valid, depth_m, np.float32(np.nan)), encoding, header)
    raise ImageConversionError(
        f'depth output encoding {encoding!r}; expected one of {DEPTH_ENCODINGS}'
    )


def labels_to_image(
    labels: np.ndarray, num_classes: int, header: Header | None = None
) -> Image:
    """
    Class ids ``[H, W]`` -> mono8 when ``num_classes <= 255`` (255 stays free for ignore),
    else mono16.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ImageConversionError(f'labels must be [H, W], got shape {labels.shape}')
    if num_classes <= 255:
        if labels.dtype != np.uint8:
            if labels.size and (labels.min() < 0 or labels.max() > 255):
                raise ImageConversionError('labels out of the mono8 range 0..255')
            labels = labels.astype(np.uint8)
        return numpy_to_image(labels, 'mono8', header)
    return numpy_to_image(labels.astype(np.uint16), 'mono16', header)


def intrinsics_to_camera_info(intr: CameraIntrinsics, header: Header | None = None) -> CameraInfo:
    """CameraIntrinsics -> CameraInfo of a rectified pinhole camera (no distortion, R = I)."""
    msg = CameraInfo()
    if header is not None:
        msg.header = header
    msg.width, msg.height = intr.width, intr.height
    msg.distortion_model = 'plumb_bob'
    msg.d = [0.0] * 5
    msg.k = intr.K.reshape(-1).tolist()
    msg.r = np.eye(3).reshape(-1).tolist()
    msg.p = np.concatenate([intr.K, np.zeros((3, 1))], axis=1).reshape(-1).tolist()
    return msg


def stamp_to_seconds(stamp: object) -> float:
    """builtin_interfaces/Time -> float seconds."""
    return float(stamp.sec) + float(stamp.nanosec) * 1e-9


def header_seconds(header: Header) -> float:
    """The header's stamp in float seconds."""
    return stamp_to_seconds(header.stamp)
