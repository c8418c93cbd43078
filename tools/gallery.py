# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
A picture of the data: one row per sample, columns RGB | depth | HHA | labels, plus a legend.

    python -m tools.gallery --out out/gallery.png [--num 4] [--size 240x320] [--seed 0]
        [--data synthetic|FOLDER] [--world nyu_like] [--split test]

``--data synthetic`` (default) renders frames ``0..num-1`` of ``--seed`` in the synthetic world
``--world`` (default ``nyu_like``); a folder (generic
format or CMX layout) shows its first samples of ``--split``. Depth is colour-mapped from 0 to
the 98th percentile (invalid pixels black); HHA is shown as its R, G, B = disparity, height,
angle planes, computed with ``core/hha.py`` exactly as in training.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import logging
from pathlib import Path
import sys
from typing import Any

import cv2
import numpy as np

from rgbd_seg_ros.core.labels import LabelSet
from rgbd_seg_ros.sim import DEFAULT_WORLD, WORLDS
from tools.make_synthetic import parse_size

logger = logging.getLogger(__name__)

_FONT = cv2.FONT_HERSHEY_SIMPLEX


def depth_to_color(depth_m: np.ndarray, valid: np.ndarray, max_m: float | None = None
                   ) -> np.ndarray:
    """Turbo colour map of depth (near blue, far red), invalid black; uint8 RGB."""
    d = depth_m[valid]
    top = max_m if max_m is not None else (float(np.percentile(d, 98)) if d.size else 1.0)
    grey = np.clip(depth_m / max(top, 1e-3) * 255.0, 0, 255).astype(np.uint8)
    out = cv2.applyColorMap(grey, cv2.COLORMAP_TURBO)[..., ::-1].copy()
    out[~valid] = 0
    return out


def _title(img: np.ndarray, text: str) -> np.ndarray:
    out = img.copy()
    scale = max(0.35, img.shape[1] / 700.0)
    cv2.putText(out, text, (5, int(18 * scale / 0.45)), _FONT, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(out, text, (5, int(18 * scale / 0.45)), _FONT, scale, (255, 255, 255), 1,
                cv2.LINE_AA)
    return out


def _legend(labels: LabelSet, width: int) -> np.ndarray:
    cols = 7
    cell_w = width // cols
    rows = (labels.num_classes + cols - 1) // cols
    out = np.full((rows * 22 + 6, width, 3), 255, np.uint8)
    for i, (name, color) in enumerate(zip(labels.names, labels.colors)):
        x, y = (i % cols) * cell_w + 4, (i // cols) * 22 + 4
        cv2.rectangle(out, (x, y), (x + 16, y + 16), tuple(int(c) for c in color), -1)
        cv2.putText(out, f'{i} {name}', (x + 20, y + 13), _FONT, 0.42, (0, 0, 0), 1,
                    cv2.LINE_AA)
    return out


def _samples(data: str, split: str, num: int, size: tuple[int, int], seed: int,
             world: str | None = None) -> tuple[list[dict[str, Any]], LabelSet]:
    if data == 'synthetic':
        from rgbd_seg_ros.sim import SYNTHETIC_LABELS, sample_frame

        out = []
        for i in range(num):
            f = sample_frame(seed, i, size[1], size[0], world=world)
            out.append({'name': f'{seed}/{i}', 'rgb': f.rgb, 'depth_m': f.depth_m,
                        'valid': f.valid, 'label': f.label, 'intrinsics': f.intrinsics})
        return out, SYNTHETIC_LABELS
    from training.data.dataset import create_eval_dataset

    reader = create_eval_dataset(data, split, size).reader
    return [reader[i] for i in range(min(num, len(reader)))], reader.labels


def make_gallery(out: str | Path, num: int = 4, size: tuple[int, int] = (240, 320),
                 seed: int = 0, data: str = 'synthetic', split: str = 'test',
                 world: str | None = None) -> Path:
    """Write the gallery PNG and return its path (``world``: synthetic only; ``None``: default)."""
    import torch

    from rgbd_seg_ros.core.hha import compute_hha

    samples, labels = _samples(data, split, num, size, seed, world)
    rows = []
    width = None
    for s in samples:
        hha = compute_hha(torch.from_numpy(s['depth_m']), s['intrinsics'],
                          torch.from_numpy(s['valid']))[0].permute(1, 2, 0).numpy()
        h, w = s['label'].shape
        tiles = [
            _title(s['rgb'], f'RGB {s["name"]}'),
            _title(depth_to_color(s['depth_m'], s['valid']),
                   f'depth {100 * s["valid"].mean():.0f}% valid'),
            _title(hha.astype(np.uint8), 'HHA'),
            _title(labels.colorize(s['label']), 'labels'),
        ]
        row = np.concatenate([np.pad(t, ((2, 2), (2, 2), (0, 0)), constant_values=255)
                              for t in tiles], axis=1)
        width = row.shape[1]
        rows.append(row)
    grid = np.concatenate(rows + [_legend(labels, width)], axis=0)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), np.ascontiguousarray(grid[..., ::-1])):
        raise ValueError(f'could not write {out}')
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog='python -m tools.gallery',
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='out/gallery.png', help='output PNG')
    parser.add_argument('--num', type=int, default=4, help='number of samples (rows)')
    parser.add_argument('--size', default='240x320', help='HxW of synthetic frames')
    parser.add_argument('--seed', type=int, default=0, help='synthetic world seed')
    parser.add_argument('--data', default='synthetic', help="'synthetic' or a dataset folder")
    parser.add_argument('--split', default='test', help='split of a dataset folder')
    parser.add_argument('--world', choices=tuple(WORLDS), default=DEFAULT_WORLD,
                        help='synthetic world variant (default %(default)s)')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    try:
        if args.num < 1:
            raise ValueError(f'--num must be >= 1, got {args.num}')
        path = make_gallery(args.out, args.num, parse_size(args.size), args.seed, args.data,
                            args.split, args.world)
    except ValueError as exc:
        parser.error(str(exc))
    logger.info('wrote %s', path)
    return 0


if __name__ == '__main__':
    sys.exit(main())
