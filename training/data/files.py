# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Reading and writing the image files of a dataset, with explicit channel order and units.

Every reader raises ``ValueError`` naming the file when it is missing, unreadable or of the
wrong type. OpenCV decodes (``IMREAD_UNCHANGED``: no silent conversion) and the BGR -> RGB swap
is explicit.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from rgbd_seg_ros.core.camera import CameraIntrinsics

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg')


def _imread(path: Path) -> np.ndarray:
    if not path.is_file():
        raise ValueError(f'missing file: {path}')
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError(f'unreadable image: {path}')
    return img


def find_image(folder: Path, name: str, extensions: tuple[str, ...] = IMAGE_EXTENSIONS) -> Path:
    """``folder/name.EXT`` for the first existing extension; raises naming the expected file."""
    for ext in extensions:
        p = folder / f'{name}{ext}'
        if p.is_file():
            return p
    raise ValueError(f'missing file: {folder / name}{{{",".join(extensions)}}}')


def read_rgb(path: Path) -> np.ndarray:
    """8-bit colour image (PNG or JPEG) as uint8 ``[H, W, 3]`` in RGB order."""
    img = _imread(path)
    if img.dtype != np.uint8:
        raise ValueError(f'{path}: RGB image must be 8-bit, got {img.dtype}')
    if img.ndim == 2:
        return np.repeat(img[:, :, None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise ValueError(f'{path}: expected a colour image, got shape {img.shape}')
    return cv2.cvtColor(img, cv2.COLOR_BGRA2RGB if img.shape[2] == 4 else cv2.COLOR_BGR2RGB)


def read_depth(path: Path, depth_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """
    Single-channel integer depth PNG to ``(depth_m float32 [H, W], valid bool [H, W])``.

    :param depth_scale: metres per grey level (16-bit millimetres: 0.001). 0 = invalid.
    """
    img = _imread(path)
    if img.ndim == 3:
        if img.shape[2] == 1 or (np.array_equal(img[..., 0], img[..., 1])
                                 and np.array_equal(img[..., 0], img[..., 2])):
            img = img[..., 0]
        else:
            raise ValueError(f'{path}: depth must be single-channel, got shape {img.shape}')
    if img.dtype not in (np.uint16, np.uint8):
        raise ValueError(f'{path}: depth must be an 8- or 16-bit PNG, got {img.dtype}')
    if img.dtype == np.uint8 and depth_scale < 0.005:
        raise ValueError(
            f'{path}: 8-bit depth with depth_scale={depth_scale} m per level would be at most '
            f'{255 * depth_scale:.3f} m; give the metres per grey level of this dataset '
            '(data.depth_scale in training, --depth-scale in training.evaluate): 8-bit depth is '
            'normalised and its scale is dataset-specific'
        )
    valid = img > 0
    depth = img.astype(np.float32) * np.float32(depth_scale)
    depth[~valid] = 0.0
    return depth, valid


def read_label(path: Path) -> np.ndarray:
    """Single-channel 8- or 16-bit label PNG as ``[H, W]`` (its own dtype)."""
    img = _imread(path)
    if img.ndim == 3:
        if np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 0], img[..., 2]):
            img = img[..., 0]
        else:
            raise ValueError(f'{path}: label image must be single-channel, got shape {img.shape}')
    if img.dtype not in (np.uint8, np.uint16):
        raise ValueError(f'{path}: label image must be 8- or 16-bit, got {img.dtype}')
    return img


def read_hha(path: Path) -> np.ndarray:
    """Lossless HHA PNG (planes R, G, B = disparity, height, angle) as uint8 ``[H, W, 3]``."""
    if path.suffix.lower() in ('.jpg', '.jpeg'):
        raise ValueError(f'{path}: lossy JPEG HHA is refused; training reads only lossless PNG')
    img = _imread(path)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f'{path}: HHA must be an 8-bit 3-channel PNG, got {img.dtype} '
                         f'{img.shape}')
    return np.ascontiguousarray(img[..., ::-1])


def read_intrinsics(path: Path, width: int, height: int) -> CameraIntrinsics:
    """Whitespace 3x3 camera matrix (0-based pixel centres) for an image of that size."""
    if not path.is_file():
        raise ValueError(f'missing file: {path}')
    return CameraIntrinsics.from_file(str(path), width, height)


def _imwrite(path: Path, img: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), img):
        raise ValueError(f'could not write {path}')


def write_rgb(path: Path, rgb: np.ndarray) -> None:
    """Write uint8 ``[H, W, 3]`` RGB as an 8-bit PNG."""
    _imwrite(path, np.ascontiguousarray(rgb[..., ::-1]))


def write_depth_mm(path: Path, depth_m: np.ndarray) -> None:
    """Write float metres as a 16-bit millimetre PNG (0 = invalid)."""
    from rgbd_seg_ros.core.depth import metres_to_depth_mm

    _imwrite(path, metres_to_depth_mm(depth_m))


def write_label(path: Path, label: np.ndarray) -> None:
    """Write uint8 ``[H, W]`` class ids (255 ignore) as an 8-bit PNG."""
    if label.dtype != np.uint8:
        raise ValueError(f'labels must be uint8 to be written to {path}, got {label.dtype}')
    _imwrite(path, label)


def write_hha(path: Path, hha: np.ndarray) -> None:
    """Write uint8 ``[H, W, 3]`` HHA (disparity, height, angle) as the reference's PNG."""
    _imwrite(path, np.ascontiguousarray(np.asarray(hha, np.uint8)[..., ::-1]))


def write_intrinsics(path: Path, intrinsics: CameraIntrinsics) -> None:
    """Write the 3x3 camera matrix (0-based) as whitespace-separated text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, intrinsics.K, fmt='%.9g')
