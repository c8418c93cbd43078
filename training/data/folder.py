# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The generic RGB-D folder format (docs/datasets.md) and its reader.

```
ROOT/
  rgb/NAME.png          8-bit RGB (JPEG accepted when reading)
  depth/NAME.png        16-bit depth, millimetres (data.depth_scale), 0 = invalid
  labels/NAME.png       8-bit class ids 0..K-1, 255 = ignore
  intrinsics/NAME.txt   3x3 camera matrix, whitespace separated, 0-based pixel centres
  classes.yaml          name, ignore_index, classes: [{id, name, color: [R, G, B]}, ...]
  train.txt val.txt test.txt   one NAME per line
```
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm
import yaml

from rgbd_seg_ros.core.labels import IGNORE_INDEX, LabelSet
from training.data.files import find_image, read_depth, read_intrinsics, read_label, read_rgb
from training.data.splits import split_names

logger = logging.getLogger(__name__)

Sample = dict[str, Any]


def write_classes_yaml(path: Path, labels: LabelSet) -> None:
    """Write ``classes.yaml`` for ``labels``."""
    doc = {
        'name': labels.name,
        'ignore_index': labels.ignore_index,
        'classes': [{'id': i, 'name': n, 'color': list(c)}
                    for i, (n, c) in enumerate(zip(labels.names, labels.colors))],
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False, default_flow_style=None))


def read_classes_yaml(path: Path) -> LabelSet:
    """Read ``classes.yaml``; ids must be 0..K-1 in order. Errors name the file."""
    if not path.is_file():
        raise ValueError(f'missing file: {path}')
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f'{path}: not valid YAML: {exc}') from exc
    if not isinstance(doc, dict) or not isinstance(doc.get('classes'), list):
        raise ValueError(f'{path}: expected a mapping with a "classes" list')
    unknown = set(doc) - {'name', 'ignore_index', 'classes'}
    if unknown:
        raise ValueError(f'{path}: unknown keys {sorted(unknown)}')
    names, colors = [], []
    for i, entry in enumerate(doc['classes']):
        if not isinstance(entry, dict) or set(entry) != {'id', 'name', 'color'}:
            raise ValueError(f'{path}: class entry {i} must have exactly id, name, color')
        if entry['id'] != i:
            raise ValueError(f'{path}: class ids must be 0..K-1 in order; entry {i} has id '
                             f'{entry["id"]}')
        names.append(str(entry['name']))
        colors.append(tuple(entry['color']))
    try:
        return LabelSet(name=str(doc.get('name', path.parent.name)), names=tuple(names),
                        colors=tuple(colors),
                        ignore_index=int(doc.get('ignore_index', IGNORE_INDEX)))
    except ValueError as exc:
        raise ValueError(f'{path}: {exc}') from exc


def check_label_range(label: np.ndarray, num_classes: int, ignore_index: int, path: Path) -> None:
    """Raise naming ``path`` if ``label`` holds ids outside 0..K-1 and the ignore id."""
    bad = (label >= num_classes) & (label != ignore_index)
    if bad.any():
        ids = sorted(set(np.unique(label[bad]).tolist()))[:8]
        raise ValueError(f'{path}: label ids {ids} out of range (classes 0..{num_classes - 1}, '
                         f'ignore {ignore_index})')


def check_sizes(name: str, **arrays: tuple[np.ndarray, Path]) -> None:
    """Raise if the images of one sample differ in size (naming the files)."""
    shapes = {key: (a.shape[:2], p) for key, (a, p) in arrays.items()}
    first_key = next(iter(shapes))
    ref, ref_path = shapes[first_key]
    for shape, p in shapes.values():
        if shape != ref:
            raise ValueError(f'sample {name!r}: {p} is {shape[1]}x{shape[0]} but {ref_path} is '
                             f'{ref[1]}x{ref[0]} (width x height)')


class FolderReader:
    """Reads one split of a generic-format folder as numpy sample dicts."""

    def __init__(self, root: str | Path, split: str, depth_scale: float = 0.001,
                 val_holdout: float = 0.0, seed: int = 0) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise ValueError(f'dataset folder not found: {self.root}')
        self.split = split
        self.depth_scale = float(depth_scale)
        self.labels = read_classes_yaml(self.root / 'classes.yaml')
        self.names = split_names(self.root, split, val_holdout, seed)
        self.name = f'folder:{self.root.name}'

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index: int) -> Sample:
        return self.load(self.names[index])

    def load(self, name: str) -> Sample:
        """The sample called ``name``."""
        rgb_path = find_image(self.root / 'rgb', name)
        depth_path = self.root / 'depth' / f'{name}.png'
        label_path = self.root / 'labels' / f'{name}.png'
        rgb = read_rgb(rgb_path)
        depth, valid = read_depth(depth_path, self.depth_scale)
        label = read_label(label_path)
        check_sizes(name, rgb=(rgb, rgb_path), depth=(depth, depth_path),
                    label=(label, label_path))
        if label.dtype != np.uint8:
            raise ValueError(f'{label_path}: labels must be an 8-bit PNG, got {label.dtype}')
        check_label_range(label, self.labels.num_classes, self.labels.ignore_index, label_path)
        h, w = label.shape
        intrinsics = read_intrinsics(self.root / 'intrinsics' / f'{name}.txt', w, h)
        return {'name': name, 'rgb': rgb, 'depth_m': depth, 'valid': valid, 'label': label,
                'intrinsics': intrinsics}

    def validate(self) -> None:
        """Read every sample of the split; raises ``ValueError`` naming the first bad file."""
        for name in tqdm(self.names, desc=f'checking {self.root.name}/{self.split}',
                         leave=False, disable=len(self.names) < 50):
            self.load(name)
