# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
r"""
mIoU against the fraction of valid depth: every depth-taking arm at depth-valid fractions (1.0,
0.75, 0.5, 0.25, 0.0 by default; realistic holes, ``training/data/holes.py``) against the
RGB-only arms, the crossing point (the valid fraction below which the best RGB arm beats the
best depth-taking arm: the data-driven ``min_valid_depth_ratio``), a plot and JSON.

    .venv/bin/python bench/depth_valid.py --arm rgbd=models/demo/rgbd.safetensors \
        --arm rgb=models/demo/rgb.safetensors --images 64 \
        --json bench/results/depth_valid_demo.json --png bench/results/depth_valid_demo.png

Every arm sees the same test images and, at each fraction, the same holes (seeded per image).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
import sys

from common import REPO, write_json  # noqa: E402 - bench/common.py

FRACTIONS = (1.0, 0.75, 0.5, 0.25, 0.0)


def crossing(curve: dict[float, float], rgb_miou: float) -> float | None:
    """
    The valid fraction where the depth arm's curve (fraction -> mIoU) falls to ``rgb_miou``,
    linear between the measured fractions: 1.0 when it is no better even with full depth,
    None when it stays better down to the lowest fraction measured.
    """
    points = sorted(curve.items(), reverse=True)  # from full depth down
    if points[0][1] <= rgb_miou:
        return 1.0
    for (f_hi, m_hi), (f_lo, m_lo) in zip(points, points[1:]):
        if m_lo <= rgb_miou < m_hi:
            return f_lo + (rgb_miou - m_lo) / (m_hi - m_lo) * (f_hi - f_lo)
    return None


def run(args: argparse.Namespace) -> dict:
    """Evaluate every arm (``args.threads`` torch threads meanwhile); returns the result."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        return _run(args)
    finally:
        torch.set_num_threads(threads)


def _run(args: argparse.Namespace) -> dict:
    from torch.utils.data import Subset

    from rgbd_seg_ros.core.inference import Segmenter
    from training.data import create_eval_dataset
    from training.evaluate import evaluate
    from training.loader import val_loader

    rows: dict[str, dict] = {}
    base_valid = None  # the test images' mean valid ratio at full depth
    for spec in args.arm:
        name, _, path = spec.partition('=')
        seg = Segmenter.from_checkpoint(path)
        ds = create_eval_dataset('synthetic', 'test', tuple(seg.meta.input_size),
                                 labels=seg.labels, world=args.world)
        ds = Subset(ds, range(min(args.images, len(ds))))
        fractions = args.fractions if seg.needs_depth else [1.0]
        by = {}
        for f in fractions:
            scores = evaluate(seg, val_loader(ds, 4, 0), depth_valid=f, seed=args.seed,
                              progress=not args.quiet, desc=f'{name} valid {f:g}')
            by[f'{f:g}'] = round(100.0 * scores['miou'], 2)
        if seg.needs_depth and base_valid is None:
            base_valid = float(sum(float(ds[i]['valid'].float().mean()) for i in range(len(ds)))
                               / len(ds))  # the node's measure: valid pixels / all pixels
        rows[name] = {'checkpoint': path, 'modalities': list(seg.modalities),
                      'miou': by['1'], **({'by_depth_valid': by} if seg.needs_depth else {})}
    rgb = {n: r['miou'] for n, r in rows.items() if 'by_depth_valid' not in r}
    depth_arms = {n: r for n, r in rows.items() if 'by_depth_valid' in r}
    out = {'protocol': {'world': args.world, 'split': 'test', 'images': args.images,
                        'seed': args.seed, 'holes': 'training/data/holes.py'},
           'arms': rows}
    if rgb and depth_arms:
        best_rgb = max(rgb, key=rgb.get)
        curves = {n: {float(k): v for k, v in r['by_depth_valid'].items()}
                  for n, r in depth_arms.items()}
        out['best_rgb'] = best_rgb
        out['crossing_vs_best_rgb'] = {n: crossing(c, rgb[best_rgb]) for n, c in curves.items()}
        # in the node's terms (valid pixels of the frame, min_valid_depth_ratio): the fraction
        # kept times the test images' own mean valid ratio
        out['mean_valid_ratio_full_depth'] = round(base_valid, 4)
        out['crossing_as_frame_valid_ratio'] = {
            n: None if c is None else round(c * base_valid, 3)
            for n, c in out['crossing_vs_best_rgb'].items()}
    return out


def plot(result: dict, path: str) -> None:
    """mIoU vs depth-valid fraction, the RGB arms as horizontal lines."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    for name, row in result['arms'].items():
        if 'by_depth_valid' in row:
            pts = sorted((float(k), v) for k, v in row['by_depth_valid'].items())
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker='o', label=name)
        else:
            ax.axhline(row['miou'], linestyle='--', label=f'{name} (RGB only)')
    ax.set_xlabel('fraction of valid depth kept (realistic holes)')
    ax.set_ylabel('test mIoU (%)')
    ax.invert_xaxis()
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--arm', action='append', required=True, metavar='NAME=CHECKPOINT',
                        help='an arm to score (repeat); depth-taking arms get the curve')
    parser.add_argument('--fractions', type=float, nargs='+', default=list(FRACTIONS))
    parser.add_argument('--images', type=int, default=64, help='test images (nyu_like world)')
    parser.add_argument('--world', default='nyu_like')
    parser.add_argument('--seed', type=int, default=0, help='seed of the holes')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--quiet', action='store_true')
    parser.add_argument('--json', default=str(REPO / 'bench' / 'results' / 'depth_valid.json'))
    parser.add_argument('--png', default='', help='plot (default: beside --json)')
    args = parser.parse_args(argv)
    os.environ.setdefault('HF_HUB_OFFLINE', '1')  # checkpoints are local files; no model hub
    if any('=' not in a for a in args.arm):
        parser.error('--arm takes NAME=CHECKPOINT')
    result = run(args)
    for name, row in result['arms'].items():
        print(f"{name:16} {row.get('by_depth_valid', row['miou'])}")
    if 'crossing_vs_best_rgb' in result:
        print(f"crossing with {result['best_rgb']}: {result['crossing_vs_best_rgb']} of the "
              f"valid depth kept, i.e. a frame valid ratio of "
              f"{result['crossing_as_frame_valid_ratio']}")
    write_json(result, args.json)
    plot(result, args.png or str(Path(args.json).with_suffix('.png')))
    return 0


if __name__ == '__main__':
    sys.exit(main())
