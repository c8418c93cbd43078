# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Synthetic samples rendered on the fly (``rgbd_seg_ros.sim``), no files needed.

``SyntheticReader`` is a fixed, seeded set of ``length`` frames (validation and test: the same
frames every time). ``SyntheticStream`` is unbounded (no ``__len__``): sample ``i`` is frame
``i`` of the split's seed, so a training run sees a new room at every step. Each split has its
own seed stream (``seed * 3 + {train: 0, val: 1, test: 2}``), so the splits never share a
frame.
"""

from __future__ import annotations

from rgbd_seg_ros.sim import SYNTHETIC_LABELS, SensorConfig, sample_frame, world_style
from training.data.folder import Sample
from training.data.splits import KNOWN_SPLITS

KNOWN_SENSORS = ('default', 'ideal')


def split_seed(seed: int, split: str) -> int:
    """The frame seed of ``split`` for the user seed ``seed``."""
    if split not in KNOWN_SPLITS:
        raise ValueError(f'unknown split {split!r}; expected one of {KNOWN_SPLITS}')
    if seed < 0:
        raise ValueError(f'synthetic seed must be >= 0, got {seed}')
    return int(seed) * 3 + KNOWN_SPLITS.index(split)


def sensor_config(name: str, world: str | None = None) -> SensorConfig:
    """``'default'`` (the world's realistic RGB-D sensor) or ``'ideal'`` (noise-free)."""
    if name not in KNOWN_SENSORS:
        raise ValueError(f'unknown synthetic sensor {name!r}; expected one of {KNOWN_SENSORS}')
    if name == 'ideal':
        return SensorConfig.ideal()
    return SensorConfig() if world is None else world_style(world).sensor


def frame_sample(seed: int, index: int, size: tuple[int, int], sensor: SensorConfig,
                 world: str | None = None) -> Sample:
    """Frame ``index`` of ``seed`` at ``size`` (H, W) of ``world`` as a sample dict."""
    f = sample_frame(seed, index, size[1], size[0], sensor, world)
    return {'name': f'synthetic_{seed}_{index:07d}', 'rgb': f.rgb, 'depth_m': f.depth_m,
            'valid': f.valid, 'label': f.label, 'intrinsics': f.intrinsics}


class SyntheticReader:
    """A fixed set of ``length`` rendered frames of one split."""

    def __init__(self, seed: int, split: str, size: tuple[int, int], length: int,
                 sensor: str = 'default', world: str | None = None) -> None:
        if length < 1:
            raise ValueError(f'synthetic split {split!r} needs length >= 1, got {length}')
        self.seed = split_seed(seed, split)
        self.split = split
        self.size = (int(size[0]), int(size[1]))
        self.length = int(length)
        self.world = world_style(world).name
        self.sensor = sensor_config(sensor, self.world)
        self.labels = SYNTHETIC_LABELS
        self.name = 'synthetic'

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> Sample:
        if not 0 <= index < self.length:
            raise IndexError(f'index {index} out of range for {self.length} synthetic frames')
        return frame_sample(self.seed, index, self.size, self.sensor, self.world)

    def validate(self) -> None:
        """Render one frame (the synthetic world cannot be broken on disk)."""
        frame_sample(self.seed, 0, self.size, self.sensor, self.world)


class SyntheticStream:
    """An unbounded stream of rendered frames: ``stream[i]`` for any ``i >= 0``; no ``len``."""

    def __init__(self, seed: int, split: str, size: tuple[int, int],
                 sensor: str = 'default', world: str | None = None) -> None:
        self.seed = split_seed(seed, split)
        self.split = split
        self.size = (int(size[0]), int(size[1]))
        self.world = world_style(world).name
        self.sensor = sensor_config(sensor, self.world)
        self.labels = SYNTHETIC_LABELS
        self.name = 'synthetic'

    def __getitem__(self, index: int) -> Sample:
        if index < 0:
            raise IndexError(f'stream index must be >= 0, got {index}')
        return frame_sample(self.seed, index, self.size, self.sensor, self.world)

    def validate(self) -> None:
        """Render one frame."""
        frame_sample(self.seed, 0, self.size, self.sensor, self.world)
