# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""Label sets (class names, palette, ignore id), colorize and overlay."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

IGNORE_INDEX = 255


@dataclass(frozen=True)
class LabelSet:
    """Names and RGB colours of classes 0..K-1, plus the ignore id used in label images."""

    name: str  # short identifier of the set, e.g. 'nyu40' or 'synthetic'
    names: tuple[str, ...]  # class names, index = class id
    colors: tuple[tuple[int, int, int], ...]  # RGB colour of each class, 0..255
    ignore_index: int = IGNORE_INDEX  # label value that marks unlabeled pixels

    def __post_init__(self) -> None:
        if not self.names:
            raise ValueError('LabelSet needs at least one class')
        if len(self.names) != len(self.colors):
            raise ValueError(
                f'LabelSet {self.name!r}: {len(self.names)} names but {len(self.colors)} colours'
            )
        if len(set(self.names)) != len(self.names):
            raise ValueError(f'LabelSet {self.name!r}: duplicate class names')
        for c in self.colors:
            if len(c) != 3 or not all(0 <= int(v) <= 255 for v in c):
                raise ValueError(f'LabelSet {self.name!r}: bad colour {c}')
        if 0 <= self.ignore_index < len(self.names):
            raise ValueError(
                f'LabelSet {self.name!r}: ignore_index {self.ignore_index} is a class id'
            )
        object.__setattr__(self, 'names', tuple(str(n) for n in self.names))
        object.__setattr__(
            self, 'colors', tuple(tuple(int(v) for v in c) for c in self.colors)
        )

    @property
    def num_classes(self) -> int:
        """Number of classes K."""
        return len(self.names)

    def palette(self) -> np.ndarray:
        """``[256, 3]`` uint8 lookup table; ignore and unused ids are black."""
        lut = np.zeros((256, 3), dtype=np.uint8)
        lut[: self.num_classes] = np.asarray(self.colors, dtype=np.uint8)[:256]
        return lut

    def colorize(self, labels: np.ndarray) -> np.ndarray:
        """Label ids ``[H, W]`` -> RGB uint8 ``[H, W, 3]`` (ignore and unknown ids black)."""
        labels = np.asarray(labels)
        if self.num_classes <= 256 and labels.dtype == np.uint8:
            return self.palette()[labels]
        colors = np.zeros((max(self.num_classes, int(labels.max(initial=0)) + 1), 3), np.uint8)
        colors[: self.num_classes] = np.asarray(self.colors, dtype=np.uint8)
        out = colors[np.clip(labels, 0, len(colors) - 1)]
        out[(labels < 0) | (labels >= self.num_classes)] = 0
        return out

    def overlay(self, rgb: np.ndarray, labels: np.ndarray, alpha: float = 0.5) -> np.ndarray:
        """Blend the colorized labels over ``rgb`` uint8 ``[H, W, 3]``; ignore pixels untouched."""
        if rgb.shape[:2] != labels.shape[:2]:
            raise ValueError(f'rgb {rgb.shape[:2]} and labels {labels.shape[:2]} differ in size')
        colored = self.colorize(labels).astype(np.float32)
        out = rgb.astype(np.float32)
        known = (labels >= 0) & (labels < self.num_classes)
        out[known] = (1.0 - alpha) * out[known] + alpha * colored[known]
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (checkpoint metadata, ROS parameters)."""
        return {
            'name': self.name,
            'names': list(self.names),
            'colors': [list(c) for c in self.colors],
            'ignore_index': self.ignore_index,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LabelSet:
        """Inverse of ``to_dict``; raises ``ValueError`` on missing or unknown keys."""
        expected = {'name', 'names', 'colors', 'ignore_index'}
        if not isinstance(d, dict):
            raise ValueError(f'label set must be a mapping, got {type(d).__name__}')
        unknown = set(d) - expected
        missing = {'names', 'colors'} - set(d)
        if unknown:
            raise ValueError(f'label set has unknown keys {sorted(unknown)}')
        if missing:
            raise ValueError(f'label set is missing keys {sorted(missing)}')
        return cls(
            name=str(d.get('name', 'custom')),
            names=tuple(d['names']),
            colors=tuple(tuple(c) for c in d['colors']),
            ignore_index=int(d.get('ignore_index', IGNORE_INDEX)),
        )


def _nyu40_colors() -> tuple[tuple[int, int, int], ...]:
    """A distinct, deterministic palette for 40 classes (PASCAL-style bit interleaving)."""
    colors = []
    for i in range(1, 41):
        r = g = b = 0
        cid = i
        for j in range(8):
            r |= ((cid >> 0) & 1) << (7 - j)
            g |= ((cid >> 1) & 1) << (7 - j)
            b |= ((cid >> 2) & 1) << (7 - j)
            cid >>= 3
        colors.append((r, g, b))
    return tuple(colors)


NYU40 = LabelSet(
    name='nyu40',
    names=(
        'wall', 'floor', 'cabinet', 'bed', 'chair', 'sofa', 'table', 'door', 'window',
        'bookshelf', 'picture', 'counter', 'blinds', 'desk', 'shelves', 'curtain', 'dresser',
        'pillow', 'mirror', 'floor mat', 'clothes', 'ceiling', 'books', 'refridgerator',
        'television', 'paper', 'towel', 'shower curtain', 'box', 'whiteboard', 'person',
        'night stand', 'toilet', 'sink', 'lamp', 'bathtub', 'bag', 'otherstructure',
        'otherfurniture', 'otherprop',
    ),
    colors=_nyu40_colors(),
)

