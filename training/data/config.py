# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
``DataConfig``: which dataset, which split files, and the augmentation; one frozen dataclass.

Importing this module imports neither torch nor OpenCV.
"""

from __future__ import annotations

from dataclasses import dataclass

KNOWN_KINDS = ('synthetic', 'folder', 'nyu', 'sunrgbd')
KNOWN_GEOMETRY = ('shared', 'independent')
KNOWN_SENSORS = ('default', 'ideal')
# rgbd_seg_ros.sim.style.WORLDS (torch-free here)
KNOWN_WORLDS = ('nyu_like', 'nyu_like_v1', 'depth_favoured')
KNOWN_NYU_DEPTH = ('filled', 'raw')
KNOWN_SYNTHETIC_DEPTH = ('raw', 'filled')

_PROBABILITIES = ('flip_p', 'photometric_p', 'blur_p', 'rgb_noise_p', 'depth_noise_p',
                  'depth_holes_p', 'depth_dropout_p', 'rgb_dropout_p')


@dataclass(frozen=True)
class DataConfig:
    """Training/validation data; ``create_dataset(cfg, split)`` builds the torch dataset."""

    kind: str = 'synthetic'  # 'synthetic' (rendered on the fly) | 'folder' | 'nyu' | 'sunrgbd'
    root: str = ''  # dataset folder (folder, nyu, sunrgbd); unused for synthetic
    split: str = 'train'  # split read by create_dataset(cfg) when no split is passed
    val_holdout: float = 0.1  # without val.txt: this fraction of train.txt becomes 'val' (seeded)
    depth_scale: float = 0.001  # metres per depth-PNG grey level (16-bit millimetres: 0.001)
    nyu_depth: str = 'filled'  # prepare_nyu output: 'filled' (in-painted, as papers) | 'raw'
    size: tuple[int, int] = (240, 320)  # synthetic render size (H, W), pixels
    synthetic_seed: int = 0  # synthetic world seed; train/val/test use disjoint frame streams
    synthetic_train_length: int = 0  # synthetic train frames; 0 = unbounded (new room per sample)
    synthetic_val_length: int = 200  # frames in the fixed synthetic val and test sets
    synthetic_sensor: str = 'default'  # 'default' (the world's own sensor model) | 'ideal'
    synthetic_world: str = 'nyu_like'  # world variant (rgbd_seg_ros.sim.style.WORLDS)
    synthetic_depth: str = 'raw'  # 'raw' (the sensor's holes) | 'filled' (in-painted, as NYU's)
    synthetic_cache: str = ''  # folder keeping rendered frames of finite synthetic sets; '' = off
    augment: bool = True  # random augmentation on the train split (val/test are never augmented)
    crop_size: tuple[int, int] = (240, 320)  # train crop (H, W); pads with 0 / ignore / invalid
    scales: tuple[float, ...] = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)  # random scales, the papers' set
    flip_p: float = 0.5  # horizontal flip probability (joint, intrinsics follow)
    photometric_p: float = 0.5  # RGB colour jitter: brightness, contrast, saturation, hue
    blur_p: float = 0.1  # RGB Gaussian blur
    rgb_noise_p: float = 0.1  # RGB additive Gaussian noise
    depth_noise_p: float = 0.3  # depth noise growing with distance (depth only)
    depth_holes_p: float = 0.3  # depth holes: blobs, speckle, edge dropout (depth only)
    depth_dropout_p: float = 0.0  # whole depth map invalid (modality dropout, depth_present=0)
    rgb_dropout_p: float = 0.0  # whole RGB image set to the mean colour (rgb_present=0)
    decoupled: bool = False  # CroDiNo-KD: per-modality pipelines; adds depth_label and depth_K
    decoupled_geometry: str = 'shared'  # decoupled only: 'shared' | 'independent' geometric ops
    hha_cache: str = ''  # folder of lossless HHA PNGs (NAME.png) added as 'hha'; '' = none
    eval_size: tuple[int, ...] = ()  # resize val/test samples to (H, W); () = native size
    validate: bool = True  # read every file of the split before training and refuse bad data
    max_samples: int = 0  # use only the first N samples of a split (debugging); 0 = all

    def __post_init__(self) -> None:
        if self.kind not in KNOWN_KINDS:
            raise ValueError(f'data.kind: unknown value {self.kind!r}; expected one of '
                             f'{KNOWN_KINDS}')
        if self.kind != 'synthetic' and not self.root:
            raise ValueError(f'data.root: kind {self.kind!r} needs the dataset folder')
        if self.split not in ('train', 'val', 'test'):
            raise ValueError(f"data.split must be 'train', 'val' or 'test', got {self.split!r}")
        if not 0.0 <= self.val_holdout < 1.0:
            raise ValueError(f'data.val_holdout must be in [0, 1), got {self.val_holdout}')
        if not self.depth_scale > 0:
            raise ValueError(f'data.depth_scale must be > 0, got {self.depth_scale}')
        for name in ('size', 'crop_size'):
            value = getattr(self, name)
            if len(value) != 2 or min(value) < 1:
                raise ValueError(f'data.{name} must be (H, W) with positive sides, got {value}')
        if len(self.eval_size) not in (0, 2) or (self.eval_size and min(self.eval_size) < 1):
            raise ValueError(f'data.eval_size must be () or (H, W), got {self.eval_size}')
        if not self.scales or min(self.scales) <= 0:
            raise ValueError(f'data.scales must be positive factors, got {self.scales}')
        for name in _PROBABILITIES:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f'data.{name} must be in [0, 1], got {getattr(self, name)}')
        if self.decoupled_geometry not in KNOWN_GEOMETRY:
            raise ValueError(f'data.decoupled_geometry: unknown value '
                             f'{self.decoupled_geometry!r}; expected one of {KNOWN_GEOMETRY}')
        if self.nyu_depth not in KNOWN_NYU_DEPTH:
            raise ValueError(f'data.nyu_depth: unknown value {self.nyu_depth!r}; expected one of '
                             f'{KNOWN_NYU_DEPTH}')
        if self.nyu_depth != 'filled' and self.kind != 'nyu':
            raise ValueError(f"data.nyu_depth applies to kind 'nyu' only, not {self.kind!r}")
        if self.synthetic_sensor not in KNOWN_SENSORS:
            raise ValueError(f'data.synthetic_sensor: unknown value {self.synthetic_sensor!r}; '
                             f'expected one of {KNOWN_SENSORS}')
        if self.synthetic_depth not in KNOWN_SYNTHETIC_DEPTH:
            raise ValueError(f'data.synthetic_depth: unknown value {self.synthetic_depth!r}; '
                             f'expected one of {KNOWN_SYNTHETIC_DEPTH}')
        if self.synthetic_world not in KNOWN_WORLDS:
            raise ValueError(f'data.synthetic_world: unknown value {self.synthetic_world!r}; '
                             f'expected one of {KNOWN_WORLDS}')
        for name in ('synthetic_seed', 'synthetic_train_length', 'max_samples'):
            if getattr(self, name) < 0:
                raise ValueError(f'data.{name} must be >= 0, got {getattr(self, name)}')
        if self.synthetic_val_length < 1:
            raise ValueError(f'data.synthetic_val_length must be >= 1, got '
                             f'{self.synthetic_val_length}')
        if self.hha_cache and (self.depth_noise_p > 0 or self.depth_holes_p > 0):
            raise ValueError(
                'data.hha_cache: cached HHA cannot follow depth noise or holes; set '
                'data.depth_noise_p=0 and data.depth_holes_p=0, or compute HHA on the fly '
                "(data.hha_cache='')"
            )
        if self.hha_cache and self.kind == 'synthetic':
            raise ValueError('data.hha_cache: synthetic frames are rendered on the fly and have '
                             'no cache; compute HHA in the training step')
