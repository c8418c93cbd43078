# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Split files (``train.txt``, ``val.txt``, ``test.txt``) and the validation hold-out.

A split file lists one sample per line: a bare name (``0001``) or, as in some CMX/DFormer
copies, paths whose file stem is the name (``RGB/0001.jpg Label/0001.png``). Blank lines and
lines starting with ``#`` are skipped.

Checkpoints are selected on a validation split, never on test (docs/training.md). Datasets that
ship only ``train.txt``/``test.txt`` (NYU Depth v2, SUN RGB-D) get a seeded hold-out: ``val`` is
a fixed fraction of ``train.txt`` and ``train`` is the rest.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

KNOWN_SPLITS = ('train', 'val', 'test')


def read_split_file(path: Path) -> list[str]:
    """Sample names listed in ``path``; raises ``ValueError`` naming the file if unusable."""
    if not path.is_file():
        raise ValueError(f'missing split file: {path}')
    names = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        first = line.split()[0]
        is_path = '/' in first or Path(first).suffix.lower() in ('.png', '.jpg', '.jpeg')
        names.append(Path(first).stem if is_path else first)
    if not names:
        raise ValueError(f'empty split: {path} lists no samples')
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})[:5]
        raise ValueError(f'{path}: duplicate names {dup}')
    return names


def holdout(names: list[str], fraction: float, seed: int = 0) -> tuple[list[str], list[str]]:
    """Split ``names`` into (rest, held out) with a seeded permutation; order is preserved."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f'hold-out fraction must be in (0, 1), got {fraction}')
    n_val = max(1, int(round(len(names) * fraction)))
    if n_val >= len(names):
        raise ValueError(f'cannot hold out {n_val} of {len(names)} samples for validation')
    perm = np.random.default_rng(np.random.SeedSequence([seed, 0x5EED])).permutation(len(names))
    held = set(perm[:n_val].tolist())
    rest = [n for i, n in enumerate(names) if i not in held]
    val = [n for i, n in enumerate(names) if i in held]
    return rest, val


def split_names(root: Path, split: str, val_holdout: float = 0.0, seed: int = 0) -> list[str]:
    """
    Names of ``split`` under ``root``.

    ``root/SPLIT.txt`` is used when it exists. Without ``val.txt`` and with ``val_holdout`` > 0,
    ``val`` is the seeded hold-out of ``train.txt`` and ``train`` the remainder.
    """
    if split not in KNOWN_SPLITS:
        raise ValueError(f'unknown split {split!r}; expected one of {KNOWN_SPLITS}')
    has_val = (root / 'val.txt').is_file()
    if split in ('train', 'val') and not has_val and val_holdout > 0:
        rest, val = holdout(read_split_file(root / 'train.txt'), val_holdout, seed)
        return rest if split == 'train' else val
    if split == 'val' and not has_val:
        raise ValueError(
            f'missing split file: {root / "val.txt"} (or set data.val_holdout > 0 to hold out '
            'part of train.txt; never select checkpoints on test)'
        )
    return read_split_file(root / f'{split}.txt')
