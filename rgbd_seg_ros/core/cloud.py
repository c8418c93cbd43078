# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Semantic point cloud: registered depth + per-pixel labels -> labelled 3D points (numpy only).

Each kept pixel (u, v) (0-based column/row, pixel centres, the ``CameraIntrinsics``
convention) with depth ``z`` in metres becomes the point

    x = (u - cx) * z / fx,   y = (v - cy) * z / fy,   z = z

in the optical frame of the (registered) depth image: x right, y down, z forward (REP 103
``_optical`` frames). Pixels whose depth is 0, negative, NaN or Inf never become points, nor
pixels beyond ``max_range_m`` along z. ``decimation`` n keeps rows and columns 0, n, 2n, ...

The result is a structured array with the fields of ``cloud_dtype`` (the layout of the
PointCloud2 the node publishes, see ``ros/cloud_msg.py``).
"""

from __future__ import annotations

import math

import numpy as np

from rgbd_seg_ros.core.camera import CameraIntrinsics, match_intrinsics
from rgbd_seg_ros.core.depth import resize_nearest

_BASE_FIELDS = {
    'names': ['x', 'y', 'z', 'label', 'confidence'],
    'formats': ['<f4', '<f4', '<f4', '<u2', '<f4'],
    'offsets': [0, 4, 8, 12, 16],
}


def cloud_dtype(with_rgb: bool = False) -> np.dtype:
    """
    Point layout: x, y, z float32 metres at bytes 0, 4, 8; label uint16 at 12 (2 bytes
    padding); confidence float32 at 16; with ``with_rgb`` a float32 ``rgb`` at 20 holding
    0x00RRGGBB (the PCL/rviz packing). 20 bytes per point, 24 with rgb; little endian.
    """
    fields = {k: list(v) for k, v in _BASE_FIELDS.items()}
    if with_rgb:
        fields['names'].append('rgb')
        fields['formats'].append('<f4')
        fields['offsets'].append(20)
    return np.dtype({**fields, 'itemsize': 24 if with_rgb else 20})


def pack_rgb(rgb: np.ndarray) -> np.ndarray:
    """uint8 ``[..., 3]`` RGB -> float32 ``[...]`` whose bits are 0x00RRGGBB (PCL packing)."""
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.shape[-1:] != (3,):
        raise ValueError(f'rgb must be uint8 [..., 3], got {rgb.dtype} {rgb.shape}')
    packed = ((rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8)
              | rgb[..., 2].astype(np.uint32))
    return packed.view(np.float32)


def unpack_rgb(packed: np.ndarray) -> np.ndarray:
    """Inverse of ``pack_rgb``: float32 ``[...]`` -> uint8 ``[..., 3]``."""
    bits = np.ascontiguousarray(packed, dtype=np.float32).view(np.uint32)
    return np.stack([(bits >> 16) & 255, (bits >> 8) & 255, bits & 255], -1).astype(np.uint8)


def semantic_cloud(
    depth_m: np.ndarray,
    intrinsics: CameraIntrinsics,
    labels: np.ndarray,
    confidence: np.ndarray,
    rgb: np.ndarray | None = None,
    decimation: int = 1,
    max_range_m: float = 0.0,
) -> np.ndarray:
    """
    Labelled points of one frame.

    :param depth_m: float metres ``[h, w]`` registered to the labels (0/NaN/Inf invalid); a
        different size than ``labels`` is resized to it (nearest, pixel centres).
    :param intrinsics: of the labels' image (rescaled when its size differs).
    :param labels: class ids ``[H, W]`` (uint8 or uint16).
    :param confidence: float ``[H, W]`` (max softmax probability, 0..1).
    :param rgb: optional uint8 ``[H, W, 3]``: adds the packed ``rgb`` field.
    :param decimation: keep every n-th row and column (>= 1).
    :param max_range_m: drop points with z beyond this; <= 0 or inf: no limit.
    :returns: structured ``[N]`` array of ``cloud_dtype(rgb is not None)``, row-major order.
    :raises ValueError: shapes that do not match, decimation < 1.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f'labels must be [H, W], got shape {labels.shape}')
    height, width = labels.shape
    confidence = np.asarray(confidence)
    if confidence.shape != labels.shape:
        raise ValueError(f'confidence has shape {confidence.shape}, labels {labels.shape}')
    if rgb is not None and np.asarray(rgb).shape != (height, width, 3):
        raise ValueError(f'rgb must be [{height}, {width}, 3], got {np.asarray(rgb).shape}')
    depth_m = np.asarray(depth_m)
    if depth_m.ndim != 2 or not np.issubdtype(depth_m.dtype, np.floating):
        raise ValueError(f'depth_m must be float metres [H, W], got {depth_m.dtype} '
                         f'{depth_m.shape}')
    if int(decimation) != decimation or decimation < 1:
        raise ValueError(f'decimation must be an integer >= 1, got {decimation}')
    step = int(decimation)
    depth_m = resize_nearest(depth_m, width, height)
    intr = match_intrinsics(intrinsics, width, height)

    z = depth_m[::step, ::step].astype(np.float32)
    keep = np.isfinite(z) & (z > 0)
    if max_range_m > 0 and math.isfinite(max_range_m):
        keep &= z <= np.float32(max_range_m)
    rows, cols = np.nonzero(keep)
    v, u = rows * step, cols * step
    zk = z[rows, cols].astype(np.float64)
    out = np.zeros(rows.size, dtype=cloud_dtype(rgb is not None))  # padding bytes zero
    out['x'] = (u - intr.cx) * zk / intr.fx
    out['y'] = (v - intr.cy) * zk / intr.fy
    out['z'] = zk
    out['label'] = labels[v, u]
    out['confidence'] = confidence[v, u]
    if rgb is not None:
        out['rgb'] = pack_rgb(np.asarray(rgb)[v, u])
    return out
