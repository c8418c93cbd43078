# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
r"""
A lossless HHA cache: one PNG per sample (planes R, G, B = disparity, height, angle), made with
the same ``core/hha.py`` the robot runs, from the sample's own depth, validity and intrinsics.

    python -m training.data.hha_cache --kind nyu --root data/nyu --out data/nyu/HHA_cache \
        [--splits train,val,test] [--depth-scale 0.001]

Train with ``data.hha_cache=DIR`` (and no depth noise/holes: cached HHA cannot follow them).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
import logging
from pathlib import Path
import sys
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from training.data.config import DataConfig
from training.data.files import write_hha

logger = logging.getLogger(__name__)


def hha_of(sample: dict[str, Any]) -> np.ndarray:
    """HHA uint8 ``[H, W, 3]`` of a numpy sample (its depth, valid mask and intrinsics)."""
    from rgbd_seg_ros.core.hha import compute_hha

    hha = compute_hha(torch.from_numpy(sample['depth_m']), sample['intrinsics'],
                      torch.from_numpy(sample['valid']))
    return hha[0].permute(1, 2, 0).numpy().astype(np.uint8)


def build_hha_cache(readers: Iterable[Any], out: str | Path, overwrite: bool = False) -> int:
    """Write ``out/NAME.png`` for every sample of ``readers``; returns the number written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for reader in readers:
        for index in tqdm(range(len(reader)), desc=f'HHA {reader.name}', unit='img'):
            sample = reader[index]
            path = out / f'{sample["name"]}.png'
            if path.exists() and not overwrite:
                continue
            write_hha(path, hha_of(sample))
            written += 1
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point."""
    from training.data.dataset import create_reader

    parser = argparse.ArgumentParser(prog='python -m training.data.hha_cache',
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('--kind', required=True, choices=('folder', 'nyu', 'sunrgbd'))
    parser.add_argument('--root', required=True, help='dataset folder')
    parser.add_argument('--out', required=True, help='cache folder')
    parser.add_argument('--splits', default='train,val,test', help='comma-separated splits')
    parser.add_argument('--depth-scale', type=float, default=0.001,
                        help='metres per depth grey level (default 0.001)')
    parser.add_argument('--overwrite', action='store_true', help='recompute existing files')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    try:
        cfg = DataConfig(kind=args.kind, root=args.root, depth_scale=args.depth_scale)
        readers = []
        for split in args.splits.split(','):
            try:
                readers.append(create_reader(cfg, split))
            except ValueError as exc:
                logger.warning('skipping split %s: %s', split, exc)
        n = build_hha_cache(readers, args.out, args.overwrite)
    except ValueError as exc:
        parser.error(str(exc))
    logger.info('wrote %d HHA images to %s', n, args.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
