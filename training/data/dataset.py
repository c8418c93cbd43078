# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The torch wrapper over the numpy readers, and the factories ``create_dataset`` /
``create_eval_dataset``.

A torch sample (docs/architecture.md, Dataset sample dict):

=================  =========================  ==========================================
key                type                       meaning
=================  =========================  ==========================================
``name``           str                        sample name
``rgb``            uint8 ``[3, H, W]``        RGB order
``depth_m``        float32 ``[1, H, W]``      metres, 0 where invalid
``valid``          bool ``[1, H, W]``         depth validity
``label``          int64 ``[H, W]``           class ids, 255 ignore
``K``              float32 ``[3, 3]``         intrinsics of this image, 0-based
``rgb_present``    bool ``[]``                False after RGB dropout (train only)
``depth_present``  bool ``[]``                False after depth dropout (train only)
``depth_label``    int64 ``[H, W]``           decoupled mode: the depth branch's labels
``depth_K``        float32 ``[3, 3]``         decoupled mode: the depth branch's intrinsics
``hha``            uint8 ``[3, H, W]``        only with ``data.hha_cache``: cached HHA
=================  =========================  ==========================================

In decoupled mode ``depth_m``/``valid``/``hha`` belong to the depth branch (``depth_K``,
``depth_label``) and ``rgb`` to the RGB branch (``K``, ``label``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from rgbd_seg_ros.core.labels import NYU40, LabelSet
from training.data.cmx import SUNRGBD37, nyu_reader, sunrgbd_reader
from training.data.config import DataConfig
from training.data.files import read_hha
from training.data.folder import FolderReader, Sample
from training.data.nyu import NYUReader, is_converted, nyu_dataset_reader
from training.data.synthetic import SyntheticReader, SyntheticStream
from training.data.transforms import EvalTransform, TrainTransform

logger = logging.getLogger(__name__)


class _Subset:
    """The first ``n`` samples of a reader (``data.max_samples``)."""

    def __init__(self, reader: Any, n: int) -> None:
        self.reader = reader
        self.n = min(n, len(reader)) if hasattr(reader, '__len__') else n
        self.labels = reader.labels
        self.name = reader.name
        if hasattr(reader, 'names'):
            self.names = reader.names[:self.n]

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> Sample:
        if not 0 <= index < self.n:
            raise IndexError(f'index {index} out of range for {self.n} samples')
        return self.reader[index]

    def validate(self) -> None:
        if hasattr(self.reader, 'names'):
            for name in self.names:
                self.reader.load(name)
        else:
            self.reader.validate()


class RGBDDataset(Dataset):
    """
    Torch view of a reader: numpy sample -> (optional HHA cache) -> transform -> tensors.

    Randomness: each call draws from a generator seeded by (``seed``, torch's process seed,
    index, call count), so runs are reproducible for a given DataLoader seed and every epoch
    augments differently. Readers without ``__len__`` (the synthetic stream) make an unbounded
    dataset: ``len()`` raises ``TypeError``.
    """

    def __init__(self, reader: Any, transform: Any = None, seed: int = 0,
                 hha_cache: str | Path = '') -> None:
        self.reader = reader
        self.transform = transform
        self.seed = int(seed)
        self.hha_cache = Path(hha_cache) if hha_cache else None
        self._calls = 0

    @property
    def labels(self) -> LabelSet:
        """Classes of the dataset."""
        return self.reader.labels

    @property
    def name(self) -> str:
        """Short dataset identifier (``synthetic``, ``nyu``, ``sunrgbd``, ``folder:NAME``)."""
        return self.reader.name

    def __len__(self) -> int:
        if not hasattr(self.reader, '__len__'):
            raise TypeError(f'{self.name} is an unbounded stream')
        return len(self.reader)

    def validate(self) -> None:
        """Check every file of the split (and of the HHA cache); ``ValueError`` names the file."""
        self.reader.validate()
        if self.hha_cache is not None:
            names = getattr(self.reader, 'names', None) or []
            for name in names[:len(self)]:
                path = self.hha_cache / f'{name}.png'
                if not path.is_file():
                    raise ValueError(f'missing file: {path} (HHA cache)')
            if names:  # sizes of the cache must match the samples
                sample = self.reader[0]
                hha = read_hha(self.hha_cache / f'{sample["name"]}.png')
                if hha.shape[:2] != sample['label'].shape:
                    raise ValueError(f'{self.hha_cache / sample["name"]}.png: HHA is '
                                     f'{hha.shape[1]}x{hha.shape[0]} but the sample is '
                                     f'{sample["label"].shape[1]}x{sample["label"].shape[0]}')

    def _rng(self, index: int) -> np.random.Generator:
        self._calls += 1
        return np.random.default_rng(
            np.random.SeedSequence([self.seed, torch.initial_seed() % (1 << 63), index,
                                    self._calls]))

    def __getitem__(self, index: int) -> dict[str, Any]:
        sample = self.reader[index]
        if self.hha_cache is not None:
            sample['hha'] = read_hha(self.hha_cache / f'{sample["name"]}.png')
        if self.transform is not None:
            sample = self.transform(sample, self._rng(index))
        return to_tensors(sample)


def to_tensors(sample: Sample) -> dict[str, Any]:
    """Numpy sample dict -> the torch sample of the module docstring."""
    out: dict[str, Any] = {
        'name': sample['name'],
        'rgb': torch.from_numpy(np.ascontiguousarray(sample['rgb'].transpose(2, 0, 1))),
        'depth_m': torch.from_numpy(np.ascontiguousarray(sample['depth_m'], np.float32))[None],
        'valid': torch.from_numpy(np.ascontiguousarray(sample['valid'], bool))[None],
        'label': torch.from_numpy(sample['label'].astype(np.int64)),
        'K': torch.from_numpy(sample['intrinsics'].K.astype(np.float32)),
        'rgb_present': torch.tensor(bool(sample.get('rgb_present', True))),
        'depth_present': torch.tensor(bool(sample.get('depth_present', True))),
    }
    if 'depth_label' in sample:
        out['depth_label'] = torch.from_numpy(sample['depth_label'].astype(np.int64))
        out['depth_K'] = torch.from_numpy(sample['depth_intrinsics'].K.astype(np.float32))
    if 'hha' in sample:
        out['hha'] = torch.from_numpy(np.ascontiguousarray(sample['hha'].transpose(2, 0, 1)))
    return out


def _synthetic(cfg: DataConfig, split: str) -> Any:
    if split == 'train' and cfg.synthetic_train_length == 0:
        return SyntheticStream(cfg.synthetic_seed, split, cfg.size, cfg.synthetic_sensor,
                               cfg.synthetic_world, depth=cfg.synthetic_depth)
    length = cfg.synthetic_train_length if split == 'train' else cfg.synthetic_val_length
    return SyntheticReader(cfg.synthetic_seed, split, cfg.size, length, cfg.synthetic_sensor,
                           cfg.synthetic_world, cfg.synthetic_cache, depth=cfg.synthetic_depth)


# data.kind -> reader builder; the keys are data/config.py's KNOWN_KINDS.
_READERS = {
    'synthetic': _synthetic,
    'folder': lambda cfg, split: FolderReader(cfg.root, split, cfg.depth_scale,
                                              cfg.val_holdout),
    # prepare_nyu output (its manifest) or the CMX layout
    'nyu': lambda cfg, split: nyu_dataset_reader(cfg.root, split, cfg.depth_scale,
                                                 cfg.val_holdout, depth=cfg.nyu_depth,
                                                 hha_cache=cfg.hha_cache),
    'sunrgbd': lambda cfg, split: sunrgbd_reader(cfg.root, split, cfg.depth_scale,
                                                 cfg.val_holdout),
}
# A CMX-layout folder (RGB/, Depth/, Label/) holds NYU Depth v2 or SUN RGB-D: the model's label
# set names which (never guessed from the class count).
_CMX_READERS = {NYU40.name: nyu_reader, SUNRGBD37.name: sunrgbd_reader}


def create_reader(cfg: DataConfig, split: str) -> Any:
    """The numpy reader of ``split`` ('train', 'val', 'test') described by ``cfg``."""
    reader = _READERS[cfg.kind](cfg, split)  # cfg.kind is checked by DataConfig
    if cfg.max_samples:
        reader = _Subset(reader, cfg.max_samples)
    return reader


def create_dataset(cfg: DataConfig, split: str | None = None) -> RGBDDataset:
    """
    The torch dataset of ``split`` (default ``cfg.split``): augmented on 'train' when
    ``cfg.augment``, deterministic otherwise. With ``cfg.validate`` every file is checked
    first and a broken dataset raises ``ValueError`` naming the file.
    """
    split = cfg.split if split is None else split
    reader = create_reader(cfg, split)
    if split == 'train' and cfg.augment:
        transform: Any = TrainTransform(cfg)
    else:
        transform = EvalTransform(cfg.eval_size if split != 'train' else cfg.crop_size,
                                  cfg.decoupled)
    dataset = RGBDDataset(reader, transform, seed=cfg.synthetic_seed, hha_cache=cfg.hha_cache)
    if cfg.validate:
        dataset.validate()
    if hasattr(reader, '__len__'):
        logger.info('%s/%s: %d samples', dataset.name, split, len(dataset))
    return dataset


def create_eval_dataset(data: str, split: str, input_size: tuple[int, ...],
                        labels: LabelSet | None = None, depth_scale: float = 0.001,
                        synthetic_length: int = 200, seed: int = 0,
                        nyu_depth: str = 'filled', world: str | None = None) -> RGBDDataset:
    """
    An evaluation dataset from a short description (``training/evaluate.py``).

    The model's classes are compared with the dataset's before any file is read.

    :param data: ``'synthetic'`` (the fixed seeded set, rendered at ``input_size``) or a
        folder: the output of ``training.prepare_nyu`` (``nyu_manifest.json``), the CMX layout
        (``RGB/``, ``Depth/``, ``Label/``: NYU Depth v2 for an ``nyu40`` model, SUN RGB-D for
        ``sunrgbd37``)
        or the generic format (``classes.yaml``).
    :param input_size: (H, W) of the model; only the synthetic set is rendered at it.
    :param labels: the model's classes; checked against the dataset's.
    :param nyu_depth: ``prepare_nyu`` output only: ``'filled'`` or ``'raw'`` depth.
    :param world: synthetic only: the world variant (``rgbd_seg_ros.sim.WORLDS``; ``None``: the
        default world, ``nyu_like``).
    """
    if data == 'synthetic':
        reader: Any = SyntheticReader(seed, split, tuple(input_size), synthetic_length,
                                      world=world)
    else:
        root = Path(data)
        if is_converted(root):
            reader = NYUReader(root, split, nyu_depth, depth_scale=depth_scale)
        elif (root / 'RGB').is_dir() and (root / 'Label').is_dir():
            name = labels.name if labels is not None else NYU40.name
            if name not in _CMX_READERS:
                raise ValueError(
                    f'{data}: the checkpoint has {labels.num_classes} classes ({name}) but a '
                    f'CMX-layout folder holds {NYU40.name} (NYU Depth v2, {NYU40.num_classes} '
                    f'classes) or {SUNRGBD37.name} (SUN RGB-D, {SUNRGBD37.num_classes} classes)')
            reader = _CMX_READERS[name](root, split, depth_scale)
        else:
            reader = FolderReader(root, split, depth_scale)
    if labels is not None and tuple(reader.labels.names) != tuple(labels.names):
        raise ValueError(
            f'{data}: the checkpoint has {labels.num_classes} classes ({labels.name}: '
            f'{", ".join(labels.names[:3])}, ...) but the dataset has '
            f'{reader.labels.num_classes} ({reader.labels.name}: '
            f'{", ".join(reader.labels.names[:3])}, ...); the class sets differ, evaluate a '
            'model trained on these classes'
        )
    dataset = RGBDDataset(reader, EvalTransform())
    dataset.validate()
    return dataset
