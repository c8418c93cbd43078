# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Pinhole camera intrinsics that follow every resize and crop.

Pixel convention: the principal point (cx, cy) is in the same pixel coordinates as the camera
matrix it came from. ROS CameraInfo and OpenCV use 0-based pixel centres; the HHA reference uses
1-based ones (see ``core/hha.py``). Scaling assumes pixel *corners* are preserved (the OpenCV
``resize`` convention): a pixel centre u maps to (u + 0.5) * s - 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
import math
from typing import Any

import numpy as np


@dataclass(frozen=True)
class CameraIntrinsics:
    """Focal lengths and principal point in pixels for an image of ``width`` x ``height``."""

    fx: float  # focal length along x, pixels
    fy: float  # focal length along y, pixels
    cx: float  # principal point x, pixels (0-based pixel centres)
    cy: float  # principal point y, pixels (0-based pixel centres)
    width: int  # image width, pixels
    height: int  # image height, pixels

    def __post_init__(self) -> None:
        for name in ('fx', 'fy', 'cx', 'cy'):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise ValueError(f'CameraIntrinsics.{name} must be finite, got {value}')
        if self.fx <= 0 or self.fy <= 0:
            raise ValueError(
                f'CameraIntrinsics focal lengths must be positive, got fx={self.fx}, fy={self.fy}'
            )
        if int(self.width) <= 0 or int(self.height) <= 0:
            raise ValueError(
                f'CameraIntrinsics size must be positive, got {self.width}x{self.height}'
            )
        object.__setattr__(self, 'width', int(self.width))
        object.__setattr__(self, 'height', int(self.height))
        for name in ('fx', 'fy', 'cx', 'cy'):
            object.__setattr__(self, name, float(getattr(self, name)))

    @classmethod
    def from_matrix(cls, K: np.ndarray, width: int, height: int) -> CameraIntrinsics:  # noqa: N803
        """Build from a 3x3 camera matrix ``K`` and the image size in pixels."""
        K = np.asarray(K, dtype=np.float64)  # noqa: N806
        if K.shape != (3, 3):
            raise ValueError(f'camera matrix must be 3x3, got shape {K.shape}')
        if not np.all(np.isfinite(K)):
            raise ValueError('camera matrix contains NaN or Inf')
        if abs(K[0, 1]) > 1e-9 * max(1.0, abs(K[0, 0])):
            raise ValueError(f'camera matrix has skew K[0,1]={K[0, 1]}; skew is not supported')
        if abs(K[2, 2] - 1.0) > 1e-9 or abs(K[2, 0]) > 1e-9 or abs(K[2, 1]) > 1e-9:
            raise ValueError(f'camera matrix last row must be [0, 0, 1], got {K[2].tolist()}')
        return cls(K[0, 0], K[1, 1], K[0, 2], K[1, 2], width, height)

    @classmethod
    def from_file(cls, path: str, width: int, height: int) -> CameraIntrinsics:
        """Read a whitespace-separated 3x3 matrix from a text file."""
        try:
            K = np.loadtxt(path, dtype=np.float64)  # noqa: N806
        except (OSError, ValueError) as exc:
            raise ValueError(f'cannot read camera matrix from {path}: {exc}') from exc
        try:
            return cls.from_matrix(K.reshape(3, 3) if K.size == 9 else K, width, height)
        except ValueError as exc:
            raise ValueError(f'{path}: {exc}') from exc

    @property
    def K(self) -> np.ndarray:  # noqa: N802
        """The 3x3 camera matrix, float64."""
        return np.array(
            [[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]], dtype=np.float64
        )

    @property
    def size(self) -> tuple[int, int]:
        """Image size as (height, width)."""
        return self.height, self.width

    def scaled(self, width: int, height: int) -> CameraIntrinsics:
        """Intrinsics after resizing the image to ``width`` x ``height`` (OpenCV convention)."""
        fx, fy, cx, cy = scale_pinhole(self.fx, self.fy, self.cx, self.cy,
                                       width / self.width, height / self.height)
        return CameraIntrinsics(fx, fy, cx, cy, width, height)

    def cropped(self, x0: int, y0: int, width: int, height: int) -> CameraIntrinsics:
        """
        Intrinsics of the window starting at column ``x0``, row ``y0``.

        Negative offsets describe padding (the window starts outside the image).
        """
        return replace(self, cx=self.cx - x0, cy=self.cy - y0, width=width, height=height)

    def flipped_horizontally(self) -> CameraIntrinsics:
        """Intrinsics of the mirrored image (column u -> width - 1 - u)."""
        return replace(self, cx=self.width - 1 - self.cx)

    def to_dict(self) -> dict[str, float | int]:
        """Plain dict for JSON/YAML."""
        return {
            'fx': self.fx, 'fy': self.fy, 'cx': self.cx, 'cy': self.cy,
            'width': self.width, 'height': self.height,
        }


def scale_pinhole(fx: Any, fy: Any, cx: Any, cy: Any, sx: float, sy: float
                  ) -> tuple[Any, Any, Any, Any]:
    """
    Pinhole parameters after resizing the image by (``sx``, ``sy``), 0-based pixel centres
    (OpenCV's pixel-corner convention: ``c' = (c + 0.5) * s - 0.5``). The one scaling rule of
    the package: floats (``CameraIntrinsics.scaled``) or tensors (``preprocess.scale_intrinsics``).
    """
    return fx * sx, fy * sy, (cx + 0.5) * sx - 0.5, (cy + 0.5) * sy - 0.5


def match_intrinsics(intrinsics: CameraIntrinsics, width: int, height: int) -> CameraIntrinsics:
    """Intrinsics rescaled to an image of ``width`` x ``height`` (unchanged when equal)."""
    if (intrinsics.width, intrinsics.height) == (width, height):
        return intrinsics
    return intrinsics.scaled(width, height)
