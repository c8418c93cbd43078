# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
r"""
Evaluate a checkpoint on a whole split: mIoU, pixel accuracy, per-class IoU, confusion matrix.

Predictions go through ``core.inference.Segmenter.predict_logits``, the code the ROS node runs,
so the numbers here are the numbers of the deployed model. Usage::

    python -m training.evaluate --checkpoint runs/rgbd/model.safetensors --data synthetic \
        [--world nyu_like] [--split test] [--multiscale] [--flip] [--depth-dropout 0.5] \
        [--json out/eval.json]

``--data synthetic`` renders the fixed seeded frames of the synthetic world ``--world``
(default ``nyu_like``, the world of the shipped demo models and of the training configs' default).

For models that read depth the degraded case (every depth map missing) is evaluated as well.
Multi-scale testing feeds the network at scales {0.75, 1, 1.25} of the checkpoint's input size
and averages the softmax probabilities at the image resolution (with ``--flip`` also of the
mirrored images).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from dataclasses import replace
import json
import logging
import math
from pathlib import Path
import sys
from typing import Any

import numpy as np
import torch
from torch.utils.data import Subset
from tqdm import tqdm

from rgbd_seg_ros.core.labels import LabelSet
from rgbd_seg_ros.core.metrics import ConfusionMatrix
from rgbd_seg_ros.sim import DEFAULT_WORLD, WORLDS

LOG = logging.getLogger(__name__)

MULTISCALE = (0.75, 1.0, 1.25)


def _flip_k(K: torch.Tensor, width: int) -> torch.Tensor:  # noqa: N803
    """Intrinsics of horizontally mirrored images (0-based: cx -> W - 1 - cx)."""
    K = K.clone()  # noqa: N806
    K[:, 0, 2] = (width - 1) - K[:, 0, 2]
    return K


def predict_probabilities(
    segmenters: Sequence[Any],
    rgb: torch.Tensor,
    depth_m: torch.Tensor | None,
    K: torch.Tensor | None,  # noqa: N803
    valid: torch.Tensor | None,
    flip: bool = False,
) -> torch.Tensor:
    """
    Mean softmax ``[B, K, H, W]`` over the given segmenters (one per scale) and flips.

    Each segmenter is the same model with its own input size (see ``scaled_segmenters``).
    """
    total = None
    count = 0
    width = rgb.shape[-1]
    variants = [(rgb, depth_m, K, valid)]
    if flip:
        variants.append((
            rgb.flip(-1),
            None if depth_m is None else depth_m.flip(-1),
            None if K is None else _flip_k(K, width),
            None if valid is None else valid.flip(-1),
        ))
    for segmenter in segmenters:
        for i, (r, d, k, v) in enumerate(variants):
            prob = torch.softmax(segmenter.predict_logits(r, d, k, v), dim=1)
            if i == 1:
                prob = prob.flip(-1)
            total = prob if total is None else total + prob
            count += 1
    return total / count


def scaled_segmenters(segmenter: Any, scales: Sequence[float]) -> list[Any]:
    """The segmenter at each scale of its checkpoint input size (scale 1 is itself)."""
    from rgbd_seg_ros.core.inference import Segmenter

    out = []
    h, w = segmenter.meta.input_size
    for s in scales:
        if s == 1.0:
            out.append(segmenter)
            continue
        meta = replace(segmenter.meta, input_size=(max(1, round(h * s)), max(1, round(w * s))))
        out.append(Segmenter(segmenter.model, meta, device=segmenter.device,
                             precision=segmenter.precision))
    return out


def evaluate(
    segmenter: Any,
    batches: Iterable[dict[str, torch.Tensor]],
    scales: Sequence[float] = (1.0,),
    flip: bool = False,
    depth_dropout: float = 0.0,
    seed: int = 0,
    progress: bool = True,
    desc: str = 'eval',
    depth_valid: float = 1.0,
) -> dict[str, Any]:
    """
    Scores of ``segmenter`` over ``batches`` (dataset dicts: ``rgb``, ``depth_m``, ``K``,
    ``valid``, ``label``); the confusion matrix is summed over ranks when distributed.

    :param scales: network input scales; ``(1.0,)`` with ``flip=False`` is exactly
        ``predict_logits``, the deployment path.
    :param depth_dropout: probability that an image's depth is removed (all pixels invalid),
        drawn per image from ``seed``; only for models that read depth.
    :param depth_valid: keep this fraction of each image's valid depth, with realistic holes
        (``training.data.holes.degrade_depth``: far, dark, shiny, edges, blobs; seeded per
        image from ``seed``, so the holes of two fractions are nested).
    :returns: ``miou``, ``pixel_acc``, ``mean_acc``, ``iou`` (per class), ``num_pixels``,
        ``confusion`` (``[K, K]`` list, rows = labels).
    """
    if not 0.0 <= depth_dropout <= 1.0:
        raise ValueError(f'depth_dropout must be in [0, 1], got {depth_dropout}')
    if not 0.0 <= depth_valid <= 1.0:
        raise ValueError(f'depth_valid must be in [0, 1], got {depth_valid}')
    hole_seeds = np.random.default_rng(seed)
    labels: LabelSet = segmenter.labels
    cm = ConfusionMatrix(labels.num_classes, labels.ignore_index, device=str(segmenter.device))
    segmenters = scaled_segmenters(segmenter, scales)
    gen = torch.Generator().manual_seed(seed)
    needs_depth = segmenter.needs_depth
    for batch in tqdm(batches, desc=desc, disable=not progress, leave=False):
        rgb, label = batch['rgb'], batch['label']
        depth_m = batch.get('depth_m') if needs_depth else None
        valid = batch.get('valid') if needs_depth else None
        K = batch.get('K')  # noqa: N806
        if needs_depth and depth_dropout > 0:
            drop = torch.rand(rgb.shape[0], generator=gen) < depth_dropout
            if bool(drop.any()):
                keep = (~drop).view(-1, 1, 1, 1).to(depth_m.device)
                depth_m = depth_m * keep  # core.depth.missing_depth: every pixel invalid
                valid = (valid if valid is not None else depth_m > 0) & keep
        if needs_depth and depth_valid < 1.0:
            depth_m, valid = _with_holes(rgb, depth_m, valid, depth_valid, hole_seeds)
        if len(segmenters) == 1 and not flip:
            logits = segmenter.predict_logits(rgb, depth_m, K, valid)
        else:
            logits = predict_probabilities(segmenters, rgb, depth_m, K, valid, flip)
        cm.update(logits.argmax(dim=1), label.to(logits.device))
    cm.all_reduce()
    scores = cm.compute()
    scores['confusion'] = cm.matrix.cpu().tolist()
    return scores


def _with_holes(rgb: torch.Tensor, depth_m: torch.Tensor, valid: torch.Tensor | None,
                fraction: float, seeds: np.random.Generator
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """``degrade_depth`` of each image: depth ``[B, 1, H, W]``, RGB uint8 ``[B, 3, H, W]``."""
    from training.data.holes import degrade_depth

    d = depth_m.detach().cpu().float().numpy().reshape(depth_m.shape[0], *depth_m.shape[-2:])
    v = (d > 0) if valid is None else valid.detach().cpu().numpy().reshape(d.shape)
    images = rgb.detach().cpu().permute(0, 2, 3, 1).numpy()
    out_d, out_v = np.empty_like(d), np.empty(d.shape, bool)
    for i in range(d.shape[0]):
        rng = np.random.default_rng(int(seeds.integers(2**63)))
        out_d[i], out_v[i] = degrade_depth(d[i], v[i], images[i], fraction, rng)
    return (torch.from_numpy(out_d)[:, None].to(depth_m.device),
            torch.from_numpy(out_v)[:, None].to(depth_m.device))


def plot_confusion(cm: Sequence[Sequence[int]], labels: LabelSet, path: str | Path,
                   title: str = '') -> None:
    """Row-normalised confusion matrix as a PNG (rows: true class, columns: prediction)."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    m = np.asarray(cm, dtype=np.float64)
    rows = m.sum(axis=1, keepdims=True)
    norm = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
    k = m.shape[0]
    size = max(5.0, 0.28 * k + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1.0, size))
    im = ax.imshow(norm, vmin=0.0, vmax=1.0, cmap='Blues')
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xticklabels(labels.names, rotation=90, fontsize=7)
    ax.set_yticklabels(labels.names, fontsize=7)
    ax.set_xlabel('predicted')
    ax.set_ylabel('true')
    if k <= 20:
        for i in range(k):
            for j in range(k):
                if norm[i, j] >= 0.01:
                    ax.text(j, i, f'{norm[i, j]:.2f}', ha='center', va='center', fontsize=6,
                            color='white' if norm[i, j] > 0.5 else 'black')
    ax.set_title(title or 'confusion matrix (row-normalised)')
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    fig.savefig(str(path), dpi=120)
    plt.close(fig)


def _nan_to_none(values: Sequence[float]) -> list[float | None]:
    return [None if math.isnan(v) else v for v in values]


def _report(scores: dict[str, Any], labels: LabelSet) -> dict[str, Any]:
    return {
        'miou': scores['miou'],
        'pixel_acc': scores['pixel_acc'],
        'mean_acc': scores['mean_acc'],
        'num_pixels': scores['num_pixels'],
        'per_class_iou': dict(zip(labels.names, _nan_to_none(scores['iou']))),
        'confusion': scores['confusion'],
    }


def _dataset(data: str, split: str, segmenter: Any, depth_scale: float = 0.001,
             nyu_depth: str = 'filled', world: str = DEFAULT_WORLD) -> Any:
    """The evaluation dataset: 'synthetic' (of ``world``) or a folder (NYU layouts, generic)."""
    from training.data import create_eval_dataset

    return create_eval_dataset(data, split, tuple(segmenter.meta.input_size),
                               labels=segmenter.labels, depth_scale=depth_scale,
                               nyu_depth=nyu_depth, world=world)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog='python -m training.evaluate', description=__doc__.split('\n\n')[0])
    parser.add_argument('--checkpoint', required=True, help='model .safetensors file')
    parser.add_argument('--data', required=True,
                        help="'synthetic' or a dataset folder (prepare_nyu output, CMX layout "
                             'or the generic folder format)')
    parser.add_argument('--depth-scale', type=float, default=0.001, metavar='M',
                        help='metres per depth grey level of the folder (default 0.001: 16-bit '
                             'millimetres; 8-bit depth needs its own scale)')
    parser.add_argument('--nyu-depth', choices=('filled', 'raw'), default='filled',
                        help='prepare_nyu output: evaluate on the filled (default) or raw depth')
    parser.add_argument('--world', choices=tuple(WORLDS), default=DEFAULT_WORLD,
                        help='--data synthetic: the synthetic world variant (default '
                             '%(default)s)')
    parser.add_argument('--split', default='test', help='split to evaluate (default: test)')
    parser.add_argument('--multiscale', action='store_true',
                        help=f'average over input scales {MULTISCALE}')
    parser.add_argument('--flip', action='store_true', help='also average mirrored images')
    parser.add_argument('--depth-dropout', type=float, default=0.0, metavar='P',
                        help='remove the depth of each image with probability P (depth models)')
    parser.add_argument('--depth-valid', type=float, nargs='+', default=[], metavar='F',
                        help='also score with only fraction F of the valid depth kept, in '
                             'realistic holes (training/data/holes.py), e.g. 0.75 0.5 0.25 0; '
                             'JSON key by_depth_valid (depth models)')
    parser.add_argument('--json', metavar='OUT', help='write the scores as JSON here')
    parser.add_argument('--png', metavar='OUT',
                        help='confusion matrix image (default: beside --json, *_confusion.png)')
    parser.add_argument('--device', default='auto', help="'auto', 'cpu', 'cuda' or 'cuda:N'")
    parser.add_argument('--batch-size', type=int, default=4, help='images per batch')
    parser.add_argument('--num-workers', type=int, default=2, help='data loader workers')
    parser.add_argument('--seed', type=int, default=0, help='seed of the depth dropout draws')
    parser.add_argument('--max-images', type=int, default=0, metavar='N',
                        help='evaluate only the first N images (quick checks); 0 = all')
    parser.add_argument('--quiet', action='store_true', help='no progress bar')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s')

    from rgbd_seg_ros.core.device import resolve_device
    from rgbd_seg_ros.core.inference import Segmenter
    from training.loader import val_loader

    try:
        if not args.depth_scale > 0:
            raise ValueError(f'--depth-scale must be > 0, got {args.depth_scale}')
        bad = [f for f in args.depth_valid if not 0.0 <= f <= 1.0]
        if bad:
            raise ValueError(f'--depth-valid fractions must be in [0, 1], got {bad}')
        device = resolve_device(args.device)
        segmenter = Segmenter.from_checkpoint(args.checkpoint, device=device)
        dataset = _dataset(args.data, args.split, segmenter, args.depth_scale, args.nyu_depth,
                           args.world)
        if args.max_images > 0:
            dataset = Subset(dataset, range(min(args.max_images, len(dataset))))
    except ValueError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    scales = MULTISCALE if args.multiscale else (1.0,)
    labels = segmenter.labels

    def run(dropout: float, desc: str, depth_valid: float = 1.0) -> dict[str, Any]:
        loader = val_loader(dataset, args.batch_size, args.num_workers)
        return evaluate(segmenter, loader, scales, args.flip, dropout, args.seed,
                        progress=not args.quiet, desc=desc, depth_valid=depth_valid)

    scores = run(args.depth_dropout, 'eval')
    result: dict[str, Any] = {
        'checkpoint': str(args.checkpoint),
        'data': args.data,
        **({'world': args.world} if args.data == 'synthetic' else {}),
        'split': args.split,
        'modalities': list(segmenter.modalities),
        'scales': list(scales),
        'flip': args.flip,
        'depth_dropout': args.depth_dropout if segmenter.needs_depth else None,
        'num_images': len(dataset),
        **_report(scores, labels),
    }
    if scores['miou'] is None:
        LOG.error('%s/%s has no labelled pixel: nothing to score', args.data, args.split)
        return 1
    lines = [f'{args.checkpoint} on {args.data}/{args.split} ({len(dataset)} images): '
             f'mIoU {scores["miou"]:.4f}, pixel acc {scores["pixel_acc"]:.4f}']
    if segmenter.needs_depth and args.depth_dropout < 1.0:
        degraded = run(1.0, 'eval (no depth)')
        result['depth_missing'] = _report(degraded, labels)
        lines.append(f'  depth missing: mIoU {degraded["miou"]:.4f}, '
                     f'pixel acc {degraded["pixel_acc"]:.4f}')
    if segmenter.needs_depth and args.depth_valid:
        result['by_depth_valid'] = {}
        for fraction in args.depth_valid:
            holed = run(args.depth_dropout, f'eval (depth valid {fraction:g})', fraction)
            result['by_depth_valid'][f'{fraction:g}'] = holed['miou']
            lines.append(f'  depth valid {fraction:g}: mIoU {holed["miou"]:.4f}')
    width = max(len(n) for n in labels.names)
    for name, iou in zip(labels.names, scores['iou']):
        lines.append(f'  {name:<{width}}  {"-" if math.isnan(iou) else f"{iou:.4f}"}')
    print('\n'.join(lines))
    png = args.png
    if png is None and args.json:
        png = str(Path(args.json).with_suffix('')) + '_confusion.png'
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2), encoding='utf-8')
    if png:
        Path(png).parent.mkdir(parents=True, exist_ok=True)
        plot_confusion(scores['confusion'], labels, png,
                       title=f'{Path(args.checkpoint).name}: mIoU {scores["miou"]:.3f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
