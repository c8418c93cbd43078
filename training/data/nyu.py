# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
NYU Depth v2 as written by ``python -m training.prepare_nyu`` from the official labeled file,
and the shipped metadata tables (``training/data/nyu_meta/``: 894 -> 40 class mapping, the 40
class names, the official 795/654 split).

```
ROOT/
  nyu_manifest.json     written by the converter; marks the layout (and whether it finished)
  RGB/NAME.png          8-bit colour
  Depth/NAME.png        filled depth (the file's in-painted `depths`), uint16 millimetres
  DepthRaw/NAME.png     raw depth (`rawDepths`, projected sensor depth), uint16 mm, 0 = missing
  Label/NAME.png        uint8 40-class ids: 0 = unlabeled, 1..40 = classes40.txt
  intrinsics/NAME.txt   3x3 K of the colour camera, 0-based pixel centres
  HHA/NAME.png          optional (--hha): lossless HHA of the filled depth
  train.txt test.txt    NAME per line; NAME = 1-based frame number in the file, zero padded
```

``data.kind: nyu`` picks this reader when ``ROOT/nyu_manifest.json`` exists and the CMX / PrimKD
layout reader (``training/data/cmx.py``) otherwise; the layout is never guessed from a class
count. ``data.nyu_depth`` chooses the depth that trains: ``filled`` (default, as the papers do)
or ``raw``. Labels become 0..39 with 0 -> ignore (255), exactly as the CMX reader maps its
``Label/`` files.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from rgbd_seg_ros.core.labels import IGNORE_INDEX, NYU40
from training.data.config import KNOWN_NYU_DEPTH
from training.data.files import read_depth, read_intrinsics, read_label, read_rgb
from training.data.folder import Sample, check_label_range, check_sizes
from training.data.splits import split_names

logger = logging.getLogger(__name__)

MANIFEST = 'nyu_manifest.json'
FORMAT = 'rgbd_seg_ros/nyu_depth_v2'
FORMAT_VERSION = 1
DEPTH_SCALE_M = 0.001  # metres per grey level of Depth/ and DepthRaw/ (uint16 millimetres)
DEPTH_FOLDERS = {'filled': 'Depth', 'raw': 'DepthRaw'}
NUM_NYU_LABELS = 894  # entries of `names` in the official labeled file
NUM_FRAMES = 1449  # frames of the official labeled file
FRAME_SIZE = (480, 640)  # (H, W) of every frame of the official file


def _meta_text(name: str) -> str:
    return (resources.files('training.data') / 'nyu_meta' / name).read_text(encoding='utf-8')


@lru_cache(maxsize=1)
def class_mapping() -> tuple[tuple[str, ...], np.ndarray]:
    """
    The shipped 894 -> 40 mapping: (the 894 ``names`` in file order, lookup table).

    The table is uint8 ``[895]``: index = value of the file's ``labels`` (0 = unlabeled), entry =
    40-class id (0 = unlabeled, 1..40).
    """
    rows = list(csv.DictReader(_meta_text('class_mapping_894_to_40.tsv').splitlines(),
                               delimiter='\t'))
    names = tuple(r['nyu_name'] for r in rows)
    lut = np.zeros(len(rows) + 1, np.uint8)
    for i, r in enumerate(rows, start=1):
        if int(r['nyu_label']) != i:
            raise ValueError(f'nyu_meta/class_mapping_894_to_40.tsv: row {i} has nyu_label '
                             f'{r["nyu_label"]}')
        lut[i] = int(r['class40'])
    return names, lut


@lru_cache(maxsize=1)
def classes40() -> tuple[str, ...]:
    """The 40 class names in id order (1 = wall ... 40 = otherprop)."""
    return tuple(line for line in _meta_text('classes40.txt').splitlines() if line)


def official_splits() -> dict[str, list[int]]:
    """The official split: ``{'train': [795], 'test': [654]}`` 1-based frame numbers."""
    return json.loads(_meta_text('splits.json'))


def is_converted(root: str | Path) -> bool:
    """True if ``root`` holds the converter's output (its manifest), whatever its state."""
    return (Path(root) / MANIFEST).is_file()


def read_manifest(root: str | Path) -> dict[str, Any]:
    """The manifest of a converted folder; ``ValueError`` if missing, foreign or unfinished."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise ValueError(f'missing file: {path} (make the folder with python -m '
                         'training.prepare_nyu)')
    try:
        doc = json.loads(path.read_text(encoding='utf-8'))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f'{path}: not a readable JSON manifest: {exc}') from exc
    if not isinstance(doc, dict) or doc.get('format') != FORMAT:
        raise ValueError(f'{path}: not a manifest of python -m training.prepare_nyu')
    if doc.get('version') != FORMAT_VERSION:
        raise ValueError(f'{path}: format version {doc.get("version")}, this code reads '
                         f'{FORMAT_VERSION}; convert again with python -m training.prepare_nyu')
    if not doc.get('complete'):
        raise ValueError(f'{path}: the conversion did not finish; run python -m '
                         'training.prepare_nyu again with the same --mat and --out to complete it')
    return doc


class NYUReader:
    """One split of a converted NYU Depth v2 folder as numpy sample dicts (labels 0..39)."""

    def __init__(self, root: str | Path, split: str, depth: str = 'filled',
                 val_holdout: float = 0.0, seed: int = 0,
                 depth_scale: float = DEPTH_SCALE_M) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise ValueError(f'dataset folder not found: {self.root}')
        if depth not in KNOWN_NYU_DEPTH:
            raise ValueError(f'data.nyu_depth: unknown value {depth!r}; expected one of '
                             f'{KNOWN_NYU_DEPTH}')
        self.manifest = read_manifest(self.root)
        if not np.isclose(depth_scale, self.manifest['depth_scale_m']):
            raise ValueError(
                f'data.depth_scale={depth_scale} but {self.root / MANIFEST} says its depth PNGs '
                f'hold {self.manifest["depth_scale_m"]} m per level; drop the override'
            )
        if tuple(self.manifest['classes']) != NYU40.names:
            raise ValueError(f'{self.root / MANIFEST}: classes differ from NYU40')
        self.split = split
        self.depth = depth
        self.labels = NYU40
        self.names = split_names(self.root, split, val_holdout, seed)
        self.name = 'nyu'
        self._depth_dir = self.root / DEPTH_FOLDERS[depth]

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index: int) -> Sample:
        return self.load(self.names[index])

    def load(self, name: str) -> Sample:
        """The sample called ``name``: filled or raw depth as chosen, labels 0..39 / 255."""
        rgb_path = self.root / 'RGB' / f'{name}.png'
        depth_path = self._depth_dir / f'{name}.png'
        label_path = self.root / 'Label' / f'{name}.png'
        rgb = read_rgb(rgb_path)
        depth, valid = read_depth(depth_path, DEPTH_SCALE_M)
        raw = read_label(label_path)
        check_sizes(name, rgb=(rgb, rgb_path), depth=(depth, depth_path),
                    label=(raw, label_path))
        k = self.labels.num_classes
        check_label_range(raw, k + 1, IGNORE_INDEX, label_path)  # 0..40 only
        label = np.where(raw == 0, IGNORE_INDEX, raw.astype(np.int32) - 1).astype(np.uint8)
        h, w = label.shape
        intrinsics = read_intrinsics(self.root / 'intrinsics' / f'{name}.txt', w, h)
        return {'name': name, 'rgb': rgb, 'depth_m': depth, 'valid': valid, 'label': label,
                'intrinsics': intrinsics}

    def validate(self) -> None:
        """Read every sample of the split; raises ``ValueError`` naming the first bad file."""
        for name in tqdm(self.names, desc=f'checking {self.root.name}/{self.split}',
                         leave=False, disable=len(self.names) < 50):
            self.load(name)


def nyu_dataset_reader(root: str | Path, split: str, depth_scale: float = DEPTH_SCALE_M,
                       val_holdout: float = 0.1, seed: int = 0, depth: str = 'filled',
                       hha_cache: str = '') -> Any:
    """
    ``data.kind: nyu``: the converter's output when ``root`` has its manifest, else the CMX
    layout (which has one depth only: ``depth='raw'`` is refused there).
    """
    from training.data.cmx import nyu_reader

    root = Path(root)
    if not is_converted(root):
        if depth != 'filled':
            raise ValueError(f'data.nyu_depth={depth!r} needs the output of python -m '
                             f'training.prepare_nyu ({root / MANIFEST} not found); the CMX '
                             'layout has one depth map per frame')
        return nyu_reader(root, split, depth_scale, val_holdout, seed)
    reader = NYUReader(root, split, depth, val_holdout, seed, depth_scale)
    hha = reader.manifest.get('hha')
    if (hha_cache and hha and depth != reader.manifest['hha_depth']
            and Path(hha_cache).resolve() == (root / hha).resolve()):
        raise ValueError(f'data.hha_cache={hha_cache} holds HHA of the '
                         f'{reader.manifest["hha_depth"]} depth but data.nyu_depth={depth!r}; '
                         "compute HHA on the fly (data.hha_cache='')")
    return reader
