# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Write a synthetic RGB-D dataset in the generic folder format (docs/datasets.md).

    python -m tools.make_synthetic --out DIR --num N [--size 240x320] [--seed S]
        [--world nyu_like|nyu_like_v1|depth_favoured] [--splits 0.8,0.1,0.1]
        [--sensor default|ideal] [--overwrite]

Frame ``i`` is ``rgbd_seg_ros.sim.sample_frame(seed, i, ..., world=world)`` (default world
``nyu_like``, that of the shipped demo models): the same arguments always give the same files.
Names are ``000000``, ``000001``, ...; the first ``train`` fraction goes to ``train.txt``, then
``val.txt``, then ``test.txt``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import logging
from pathlib import Path
import shutil
import sys

from tqdm import tqdm

from rgbd_seg_ros.sim import DEFAULT_WORLD, SYNTHETIC_LABELS, WORLDS, sample_frame
from training.data.files import write_depth_mm, write_intrinsics, write_label, write_rgb
from training.data.folder import write_classes_yaml
from training.data.synthetic import KNOWN_SENSORS, sensor_config

logger = logging.getLogger(__name__)


def parse_size(text: str) -> tuple[int, int]:
    """'240x320' -> (240, 320) as (H, W)."""
    try:
        h, w = (int(v) for v in text.lower().split('x'))
    except ValueError as exc:
        raise ValueError(f'size must be HxW like 240x320, got {text!r}') from exc
    if h < 8 or w < 8:
        raise ValueError(f'size must be at least 8x8, got {text!r}')
    return h, w


def _split_counts(num: int, fractions: Sequence[float]) -> tuple[int, int, int]:
    if len(fractions) != 3 or min(fractions) < 0 or sum(fractions) <= 0:
        raise ValueError(f'--splits needs three non-negative fractions, got {fractions}')
    total = sum(fractions)
    n_train = int(round(num * fractions[0] / total))
    n_val = int(round(num * fractions[1] / total))
    n_val = min(n_val, num - n_train)
    return n_train, n_val, num - n_train - n_val


def make_synthetic(out: str | Path, num: int, size: tuple[int, int], seed: int = 0,
                   splits: Sequence[float] = (0.8, 0.1, 0.1), sensor: str = 'default',
                   overwrite: bool = False, world: str = DEFAULT_WORLD) -> Path:
    """
    Render ``num`` frames of ``world`` into ``out`` (see the module docstring); returns the folder.

    ``sensor='default'`` is the world's own sensor model (``WorldStyle.sensor``).

    Refuses a non-empty ``out`` unless ``overwrite`` (then its contents are replaced).
    """
    out = Path(out)
    if num < 1:
        raise ValueError(f'--num must be >= 1, got {num}')
    if out.exists() and not out.is_dir():
        raise ValueError(f'{out} exists and is not a folder')
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise ValueError(f'{out} is not empty; pass --overwrite to replace its contents')
        for child in out.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    out.mkdir(parents=True, exist_ok=True)
    if world not in WORLDS:
        raise ValueError(f'unknown synthetic world {world!r}; expected one of {tuple(WORLDS)}')
    cfg = sensor_config(sensor, world)
    h, w = size
    names = []
    for i in tqdm(range(num), desc=f'rendering {out.name}', unit='frame'):
        f = sample_frame(seed, i, w, h, cfg, world)
        name = f'{i:06d}'
        write_rgb(out / 'rgb' / f'{name}.png', f.rgb)
        write_depth_mm(out / 'depth' / f'{name}.png', f.depth_m)
        write_label(out / 'labels' / f'{name}.png', f.label)
        write_intrinsics(out / 'intrinsics' / f'{name}.txt', f.intrinsics)
        names.append(name)
    write_classes_yaml(out / 'classes.yaml', SYNTHETIC_LABELS)
    n_train, n_val, _ = _split_counts(num, splits)
    parts = {'train': names[:n_train], 'val': names[n_train:n_train + n_val],
             'test': names[n_train + n_val:]}
    for split, members in parts.items():
        (out / f'{split}.txt').write_text(''.join(f'{n}\n' for n in members))
    logger.info('wrote %d frames to %s (%s)', num, out,
                ', '.join(f'{k} {len(v)}' for k, v in parts.items()))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog='python -m tools.make_synthetic',
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', required=True, help='output folder (must be empty or new)')
    parser.add_argument('--num', type=int, required=True, help='number of frames')
    parser.add_argument('--size', default='240x320', help='HxW, default 240x320')
    parser.add_argument('--seed', type=int, default=0, help='world seed (default 0)')
    parser.add_argument('--world', choices=tuple(WORLDS), default=DEFAULT_WORLD,
                        help='synthetic world variant (default %(default)s)')
    parser.add_argument('--splits', default='0.8,0.1,0.1',
                        help='train,val,test fractions (default 0.8,0.1,0.1)')
    parser.add_argument('--sensor', default='default', choices=KNOWN_SENSORS,
                        help='sensor model: realistic noise (default) or ideal')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace the contents of a non-empty --out folder')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    try:
        fractions = tuple(float(v) for v in args.splits.split(','))
        make_synthetic(args.out, args.num, parse_size(args.size), args.seed, fractions,
                       args.sensor, args.overwrite, args.world)
    except ValueError as exc:
        parser.error(str(exc))
    return 0


if __name__ == '__main__':
    sys.exit(main())
