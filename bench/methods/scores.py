# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Scoring the benchmark's models: test mIoU of one checkpoint, the statistics over seeds (mean,
sample std, 95 % t-interval) and one report row per exported model with its paired differences
to its baseline. Scores are fractions in [0, 1].
"""

from __future__ import annotations

import math
from pathlib import Path
import statistics
from typing import Any

from bench.methods.plan import ROWS, RUNS, TEACHER_SEED, Plan

# two-sided 95 % Student t quantiles by degrees of freedom
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
        9: 2.262, 10: 2.228}


def summarise(values: list[float]) -> dict[str, float | None]:
    """Mean, sample std and the half-width of the 95 % t-interval (None below 2 values)."""
    if not values:
        return {'mean': None, 'std': None, 'ci95': None}
    mean = statistics.fmean(values)
    if len(values) < 2:
        return {'mean': mean, 'std': None, 'ci95': None}
    std = statistics.stdev(values)
    t = _T95.get(len(values) - 1, 1.96)
    return {'mean': mean, 'std': std, 'ci95': t * std / math.sqrt(len(values))}


def test_scores(path: Path, plan: Plan) -> dict[str, Any]:
    """Test mIoU, pixel accuracy and per-class IoU (None: class absent) of one checkpoint."""
    from rgbd_seg_ros.core.inference import Segmenter
    from training.data.dataset import RGBDDataset, create_eval_dataset
    from training.data.synthetic import SyntheticReader
    from training.data.transforms import EvalTransform
    from training.engine import val_loader
    from training.evaluate import evaluate

    segmenter = Segmenter.from_checkpoint(path, device=plan.device)
    if plan.synthetic:
        reader = SyntheticReader(0, 'test', tuple(segmenter.meta.input_size),
                                 plan.budget.test_frames, world=plan.world,
                                 cache=str(plan.out / 'frames'), depth=plan.depth)
        ds: Any = RGBDDataset(reader, EvalTransform())
    else:
        ds = create_eval_dataset(str(plan.root), 'test', tuple(segmenter.meta.input_size),
                                 labels=segmenter.labels)
    scores = evaluate(segmenter, val_loader(ds, 8, 0), progress=False)
    names = segmenter.labels.names
    out = {'miou': scores['miou'], 'pixel_acc': scores['pixel_acc'],
           'per_class': {n: (None if math.isnan(v) else float(v))
                         for n, v in zip(names, scores['iou'])}}
    if plan.depth_valid and segmenter.needs_depth:  # the same holes for every arm and seed
        out['by_depth_valid'] = {
            f'{f:g}': evaluate(segmenter, val_loader(ds, 8, 0), progress=False,
                               depth_valid=f, seed=0)['miou']
            for f in plan.depth_valid}
    return out


def _class_delta(scores: dict[str, dict[int, Any]], key: str, base_key: str, c: str,
                 seeds: list[int]) -> float | None:
    """Mean paired IoU difference of class ``c``; None where it is absent from a test set."""
    pairs = [(scores[key][s]['per_class'][c], scores[base_key][s]['per_class'][c])
             for s in seeds if s in scores[base_key]]
    if not pairs or any(a is None or b is None for a, b in pairs):
        return None
    return statistics.fmean(a - b for a, b in pairs)


def build_rows(methods: list[str], seeds: list[int], scores: dict[str, dict[int, Any]],
               seconds: dict[str, dict[int, float]]) -> list[dict[str, Any]]:
    """
    One JSON row per exported model: statistics, paired deltas and per-class IoU.

    :param scores: ``'<method>/<export>'`` -> seed -> ``test_scores`` of that model.
    :param seconds: run -> seed -> training seconds (a teacher's under ``TEACHER_SEED``).
    """
    rows = []
    for (method, export), (label, kind, baseline) in ROWS.items():
        key = f'{method}/{export}'
        if method not in methods or key not in scores:
            continue
        done = [s for s in seeds if s in scores[key]]
        per_seed = {str(s): scores[key][s]['miou'] for s in done}
        classes = list(scores[key][done[0]]['per_class']) if done else []
        per_class = {}
        for c in classes:
            vals = [scores[key][s]['per_class'][c] for s in done]
            per_class[c] = (None if any(v is None for v in vals)
                            else statistics.fmean(vals))
        teacher = RUNS[method][1]
        wall = [seconds[method][s] + (seconds[teacher][TEACHER_SEED] if teacher else 0.0)
                for s in done if s in seconds.get(method, {})]
        stats = summarise(list(per_seed.values()))
        row: dict[str, Any] = {
            'method': method, 'model': export if method == 'crodino' else kind, 'label': label,
            'baseline': baseline, 'miou_mean': stats['mean'], 'miou_std': stats['std'],
            'miou_ci95': stats['ci95'], 'per_seed': per_seed, 'per_class': per_class,
            'wall_s': statistics.fmean(wall) if wall else None,
        }
        if done and 'by_depth_valid' in scores[key][done[0]]:  # mean over seeds per fraction
            fractions = scores[key][done[0]]['by_depth_valid']
            row['by_depth_valid'] = {
                f: statistics.fmean(scores[key][s]['by_depth_valid'][f] for s in done)
                for f in fractions}
        base_key = f'{baseline}/model' if baseline else None
        if base_key and base_key in scores:
            pairs = [scores[key][s]['miou'] - scores[base_key][s]['miou']
                     for s in done if s in scores[base_key]]
            d = summarise(pairs)
            row.update(delta_mean=d['mean'], delta_ci95=d['ci95'],
                       delta_per_seed=pairs,
                       per_class_delta={c: _class_delta(scores, key, base_key, c, done)
                                        for c in classes})
        rows.append(row)
    return rows
