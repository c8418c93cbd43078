# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Input health checks that run at callback time: is an RGB frame live (not black, not frozen)?

The depth side of health (valid-pixel ratio, timeout, recovery) is the mode state machine
``DepthHealth`` in ``core/sync.py``; the valid ratio of a raw image is
``core/image_codec.depth_valid_ratio``.
"""

from __future__ import annotations

import numpy as np


class RgbHealthCheck:
    """
    Flags RGB frames that are black (mean grey level below ``black_level``) or frozen (the same
    pixels as the previous frame for ``frozen_frames`` frames in a row), on a subsampled grid.
    """

    def __init__(self, black_level: float = 4.0, frozen_frames: int = 15,
                 grid: int = 32) -> None:
        if frozen_frames < 1 or grid < 1:
            raise ValueError('frozen_frames and grid must be >= 1')
        self.black_level = float(black_level)
        self.frozen_frames = int(frozen_frames)
        self.grid = int(grid)
        self._previous: np.ndarray | None = None
        self._same = 0

    def __call__(self, rgb: np.ndarray) -> bool:
        """True when ``rgb`` uint8 ``[H, W, 3]`` looks like a live image."""
        h, w = rgb.shape[:2]
        sample = rgb[:: max(1, h // self.grid), :: max(1, w // self.grid)]
        same = self._previous is not None and np.array_equal(sample, self._previous)
        self._same = self._same + 1 if same else 0
        self._previous = sample.copy()
        black = float(sample.mean()) < self.black_level
        return not black and self._same < self.frozen_frames
