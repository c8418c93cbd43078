# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Input health: the mode state machine ``DepthHealth`` (depth timeout, valid-pixel ratio,
recovery with hysteresis; RGB black/frozen for the depth-only mode) and ``RgbHealthCheck``,
the callback-time test of an RGB frame. Time is injected. ``DepthHealth`` owns the thresholds
(``HealthConfig``: whether a depth frame is good is decided here only); ``core/sync.py`` feeds
it and imports it, not the other way round. The valid ratio of a raw depth image comes from
``core.depth.valid_samples``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class HealthConfig:
    """When depth and RGB count as healthy, and how a fallback ends (seconds, ratios, frames)."""

    depth_timeout: float = 0.5  # no good depth for this long -> rgb mode, seconds
    min_valid_depth_ratio: float = 0.3  # depth frames with fewer valid pixels count as bad, 0..1
    recover_frames: int = 5  # consecutive good frames needed to leave a fallback mode
    depth_mode: bool = False  # use the depth-only mode when RGB is black/frozen

    def depth_good(self, valid_ratio: float) -> bool:
        """Whether a depth frame with ``valid_ratio`` valid pixels counts as good depth."""
        return valid_ratio >= self.min_valid_depth_ratio


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


@dataclass(frozen=True)
class ModeSwitch:
    """A change of the processing mode at time ``t`` (the ``now`` that caused it)."""

    t: float
    from_mode: str
    to_mode: str
    reason: str


class DepthHealth:
    """
    The mode state machine, fed with depth/RGB quality events and the clock.

    ``depth_ok`` drops on a timeout or a bad depth frame and rises after ``recover_frames``
    consecutive good depth frames (a gap longer than ``depth_timeout`` restarts the count).
    ``rgb_ok`` (only with ``depth_mode``) drops on a bad RGB frame and rises after
    ``recover_frames`` good ones. The mode is ``rgb`` without depth, else ``depth`` without RGB,
    else ``rgbd``. It starts in ``rgbd`` with ``depth_timeout`` of grace from the first ``now``.
    """

    def __init__(self, config: HealthConfig) -> None:
        self.config = config
        self.depth_ok = True
        self.rgb_ok = True
        self._good_depth = 0  # consecutive good depth frames
        self._good_rgb = 0  # consecutive good RGB frames
        self._last_good_depth: float | None = None  # now of the last good depth frame
        self._start: float | None = None

    @property
    def mode(self) -> str:
        """Current mode: 'rgbd', 'rgb' or 'depth'."""
        if not self.depth_ok:
            return 'rgb'
        return 'rgbd' if self.rgb_ok else 'depth'

    def _since_good_depth(self, now: float) -> float:
        ref = self._last_good_depth if self._last_good_depth is not None else self._start
        return now - ref

    def _change(self, now: float, before: str, reason: str) -> list[ModeSwitch]:
        after = self.mode
        return [ModeSwitch(now, before, after, reason)] if after != before else []

    def update(self, now: float) -> list[ModeSwitch]:
        """Apply the depth timeout at time ``now``; returns the switches it caused."""
        if self._start is None:
            self._start = now
        before = self.mode
        if self.depth_ok and self._since_good_depth(now) > self.config.depth_timeout:
            self.depth_ok = False
            self._good_depth = 0
            gap = self._since_good_depth(now)
            return self._change(now, before, f'no valid depth for {gap:.3f} s')
        return []

    def on_depth(self, now: float, valid_ratio: float) -> list[ModeSwitch]:
        """A depth frame arrived at ``now`` with ``valid_ratio`` valid pixels."""
        events = self.update(now)
        before = self.mode
        if self.config.depth_good(valid_ratio):
            if self._since_good_depth(now) > self.config.depth_timeout:
                self._good_depth = 0  # too far apart to count as consecutive
            self._good_depth += 1
            self._last_good_depth = now
            if not self.depth_ok and self._good_depth >= self.config.recover_frames:
                self.depth_ok = True
                reason = f'{self._good_depth} consecutive good depth frames'
                return events + self._change(now, before, reason)
            return events
        self._good_depth = 0
        if self.depth_ok:
            self.depth_ok = False
            reason = (f'depth valid ratio {valid_ratio:.2f} < '
                      f'{self.config.min_valid_depth_ratio:.2f}')
            return events + self._change(now, before, reason)
        return events

    def on_rgb(self, now: float, rgb_ok: bool) -> list[ModeSwitch]:
        """An RGB frame arrived at ``now``; ``rgb_ok`` false when it is black or frozen."""
        events = self.update(now)
        if not self.config.depth_mode:
            return events
        before = self.mode
        if rgb_ok:
            self._good_rgb += 1
            if not self.rgb_ok and self._good_rgb >= self.config.recover_frames:
                self.rgb_ok = True
                reason = f'{self._good_rgb} consecutive good RGB frames'
                return events + self._change(now, before, reason)
            return events
        self._good_rgb = 0
        if self.rgb_ok:
            self.rgb_ok = False
            return events + self._change(now, before, 'RGB black or frozen')
        return events

    def reset(self, now: float) -> None:
        """Restart the clocks at ``now`` (time jumped back); the mode is kept."""
        self._start = now
        self._last_good_depth = None
        self._good_depth = 0
        self._good_rgb = 0
