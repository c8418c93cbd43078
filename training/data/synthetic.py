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

import hashlib
import os
from pathlib import Path

import numpy as np

from rgbd_seg_ros.core.camera import CameraIntrinsics
from rgbd_seg_ros.sim import SYNTHETIC_LABELS, SensorConfig, fill, sample_frame, world_style
from rgbd_seg_ros.sim.fill import fill_depth
from training.data.config import KNOWN_SENSORS, KNOWN_SYNTHETIC_DEPTH
from training.data.folder import Sample
from training.data.splits import KNOWN_SPLITS


def split_seed(seed: int, split: str) -> int:
    """The frame seed of ``split`` for the user seed ``seed``."""
    if split not in KNOWN_SPLITS:
        raise ValueError(f'unknown split {split!r}; expected one of {KNOWN_SPLITS}')
    if seed < 0:
        raise ValueError(f'synthetic seed must be >= 0, got {seed}')
    return int(seed) * 3 + KNOWN_SPLITS.index(split)


def sensor_config(name: str | SensorConfig, world: str | None = None) -> SensorConfig:
    """
    ``'default'`` (the realistic RGB-D sensor of ``world``; ``None``: of the default world) or
    ``'ideal'`` (noise-free); a ``SensorConfig`` passes through (a sensor model of one's own,
    e.g. ``bench/depth_cues.py``).
    """
    if isinstance(name, SensorConfig):
        return name
    if name not in KNOWN_SENSORS:
        raise ValueError(f'unknown synthetic sensor {name!r}; expected one of {KNOWN_SENSORS}')
    if name == 'ideal':
        return SensorConfig.ideal()
    return world_style(world).sensor


def frame_sample(seed: int, index: int, size: tuple[int, int], sensor: SensorConfig,
                 world: str | None = None, depth: str = 'raw') -> Sample:
    """
    Frame ``index`` of ``seed`` at ``size`` (H, W) of ``world`` as a sample dict.

    ``depth``: ``'raw'`` (the sensor's depth with its holes) or ``'filled'`` (holes in-painted
    guided by the image, as NYU's labelled ``depths``: ``rgbd_seg_ros.sim.fill``).
    """
    _check_depth(depth)
    f = sample_frame(seed, index, size[1], size[0], sensor, world)
    depth_m, valid = f.depth_m, f.valid
    if depth == 'filled':
        depth_m, valid = fill_depth(depth_m, valid, f.rgb)
    return {'name': f'synthetic_{seed}_{index:07d}', 'rgb': f.rgb, 'depth_m': depth_m,
            'valid': valid, 'label': f.label, 'intrinsics': f.intrinsics}


def _check_depth(depth: str) -> None:
    if depth not in KNOWN_SYNTHETIC_DEPTH:
        raise ValueError(f'unknown synthetic depth {depth!r}; expected one of '
                         f'{KNOWN_SYNTHETIC_DEPTH}')


_CACHE_KEYS = ('rgb', 'depth_m', 'valid', 'label')


def _save_cached(path: Path, sample: Sample) -> None:
    """Write ``sample`` as an uncompressed npz (plain arrays, no pickle), atomically."""
    k = sample['intrinsics']
    arrays = {key: sample[key] for key in _CACHE_KEYS}
    arrays['intrinsics'] = np.array([k.fx, k.fy, k.cx, k.cy, k.width, k.height], np.float64)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f'.{path.stem}.{os.getpid()}.npz')
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def _load_cached(path: Path, name: str) -> Sample | None:
    """The cached sample at ``path``, or None when it is missing or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as z:
            out: Sample = {key: z[key] for key in _CACHE_KEYS}
            fx, fy, cx, cy, w, h = z['intrinsics'].tolist()
    except (OSError, KeyError, ValueError):
        return None
    out['name'] = name
    out['intrinsics'] = CameraIntrinsics(fx, fy, cx, cy, int(w), int(h))
    return out


class SyntheticReader:
    """
    A fixed set of ``length`` rendered frames of one split.

    With ``cache`` (a folder), each frame is rendered once and kept there as a plain npz
    (``<world>_<fingerprint>_<sensor>[_filled]_<seed>_<H>x<W>/<index>.npz``), so a finite
    training set of many epochs costs no rendering after the first; a missing or unreadable file
    is rendered again. The fingerprint hashes the world's knobs and the sensor's, so a changed
    world never reads frames rendered by an older one.
    """

    def __init__(self, seed: int, split: str, size: tuple[int, int], length: int,
                 sensor: str | SensorConfig = 'default', world: str | None = None,
                 cache: str = '', depth: str = 'raw') -> None:
        if length < 1:
            raise ValueError(f'synthetic split {split!r} needs length >= 1, got {length}')
        self.seed = split_seed(seed, split)
        self.split = split
        self.size = (int(size[0]), int(size[1]))
        self.length = int(length)
        self.world = world_style(world).name
        self.sensor = sensor_config(sensor, self.world)
        _check_depth(depth)
        self.depth = depth
        self.labels = SYNTHETIC_LABELS
        self.name = 'synthetic'
        knobs: tuple = (world_style(world), self.sensor)
        if depth == 'filled':  # the fill's own knobs: a changed fill never reads older frames
            knobs += (fill.GUIDE_SIGMA, fill.SWEEPS_PER_LEVEL)
        digest = hashlib.sha256(repr(knobs).encode()).hexdigest()
        kind = sensor if isinstance(sensor, str) else 'custom'  # the digest tells them apart
        kind = kind if depth == 'raw' else f'{kind}_{depth}'
        self.cache = (Path(cache) / f'{self.world}_{digest[:10]}_{kind}_{self.seed}_'
                      f'{self.size[0]}x{self.size[1]}') if cache else None

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> Sample:
        if not 0 <= index < self.length:
            raise IndexError(f'index {index} out of range for {self.length} synthetic frames')
        if self.cache is None:
            return frame_sample(self.seed, index, self.size, self.sensor, self.world, self.depth)
        path = self.cache / f'{index:07d}.npz'
        name = f'synthetic_{self.seed}_{index:07d}'
        sample = _load_cached(path, name) if path.exists() else None
        if sample is None:
            sample = frame_sample(self.seed, index, self.size, self.sensor, self.world,
                                  self.depth)
            _save_cached(path, sample)
        return sample

    def validate(self) -> None:
        """Render one frame (the synthetic world cannot be broken on disk)."""
        frame_sample(self.seed, 0, self.size, self.sensor, self.world, self.depth)


class SyntheticStream:
    """An unbounded stream of rendered frames: ``stream[i]`` for any ``i >= 0``; no ``len``."""

    def __init__(self, seed: int, split: str, size: tuple[int, int],
                 sensor: str | SensorConfig = 'default', world: str | None = None,
                 depth: str = 'raw') -> None:
        _check_depth(depth)
        self.depth = depth
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
        return frame_sample(self.seed, index, self.size, self.sensor, self.world, self.depth)

    def validate(self) -> None:
        """Render one frame."""
        frame_sample(self.seed, 0, self.size, self.sensor, self.world, self.depth)
