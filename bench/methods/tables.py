# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""The benchmark report as Markdown tables: ours, and the layout of the papers' tables."""

from __future__ import annotations

from typing import Any

from bench.methods.plan import PRETRAIN


def pct(v: float | None, sign: bool = False) -> str:
    """A fraction as percent with one decimal (``-`` for None); ``sign``: always signed."""
    if v is None:
        return '-'
    return f'{v * 100:+.1f}' if sign else f'{v * 100:.1f}'


def format_tables(report: dict[str, Any]) -> str:
    """Markdown tables: every row vs its baseline, per-class gains, teachers, calibration."""
    lines = ['| model | test mIoU % (mean ± std) | 95 % CI | vs baseline (paired) | '
             'seeds | wall min |', '|---|---:|---:|---:|---:|---:|']
    for r in report['rows']:
        delta = ''
        if r.get('delta_mean') is not None:
            delta = f'{pct(r["delta_mean"], True)} ± {pct(r.get("delta_ci95"))}'
        wall = f'{r["wall_s"] / 60:.1f}' if r['wall_s'] else '-'
        lines.append(f'| {r["label"]} | {pct(r["miou_mean"])} ± {pct(r["miou_std"])} | '
                     f'± {pct(r["miou_ci95"])} | {delta} | {len(r["per_seed"])} | {wall} |')
    gains = [r for r in report['rows'] if r.get('per_class_delta')]
    if gains:
        classes = list(gains[0]['per_class_delta'])
        lines += ['', '| per-class IoU gain vs baseline (points) | ' + ' | '.join(classes)
                  + ' |', '|---|' + '---:|' * len(classes)]
        for r in gains:
            lines.append(f'| {r["label"]} | ' + ' | '.join(
                pct(r['per_class_delta'][c], True) for c in classes) + ' |')
    if report.get('teachers'):
        lines += ['', '| teacher | val mIoU % (best) | test mIoU % | steps | plateau |',
                  '|---|---:|---:|---:|---|']
        for name, t in report['teachers'].items():
            lines.append(f'| {name} | {pct(t["best_val"])} | {pct(t["test_miou"])} | '
                         f'{t["steps"]} | {t["plateau"]} |')
    pre = report.get('pretrain') or {}
    if 'steps' in pre:  # a report written before the depth pretraining: one RGB run
        pre = {PRETRAIN: {**pre, 'stream': 'rgb'}}
    for run, p in pre.items():
        lines += ['', f'{run} ({p["stream"]}, endless stream of rooms, data seed '
                      f'{p["data_seed"]}): {p["steps"]} steps, best val mIoU '
                      f'{pct(p["best_val"])} %, {p["wall_s"] / 60:.1f} min']
    cal = report.get('calibration')
    if cal:
        lines += ['', f'calibration (the teachers, test mIoU; converged where plateau is True): '
                      f'depth / RGB = '
                      f'{cal["depth_over_rgb"]:.3f} (NYU-like: 0.75-0.95), RGB-D / RGB = '
                      f'{cal["rgbd_over_rgb"]:.3f} (NYU-like: 1.05-1.20)']
    return '\n'.join(lines)


def format_paper_tables(report: dict[str, Any]) -> str:
    """The layout of PrimKD Tables 3/4 and of CroDiNo-KD's RGB/depth student table."""
    by = {r['label']: r for r in report['rows']}
    lines = ['PrimKD (Tables 3/4 layout)', '| Method | Modality | mIoU (%) |', '|---|---|---:|']
    for label, mod in (('RGB-D fusion baseline', 'RGB-D'),
                       ('PrimKD fusion (RGB teacher)', 'RGB-D'),
                       ('PrimKD fusion (depth teacher)', 'RGB-D')):
        if label in by:
            lines.append(f'| {label} | {mod} | {pct(by[label]["miou_mean"])} |')
    lines += ['', 'CroDiNo-KD (RGB / depth students)', '| Method | RGB mIoU (%) | '
              'Depth mIoU (%) |', '|---|---:|---:|']
    for name, rgb, depth in (('Baseline', 'RGB baseline', 'depth baseline'),
                             ('CMKD (teacher/student)', 'CMKD RGB student',
                              'CMKD depth student'),
                             ('CroDiNo-KD', 'CroDiNo-KD RGB', 'CroDiNo-KD depth')):
        if rgb in by or depth in by:
            lines.append(f'| {name} | {pct(by.get(rgb, {}).get("miou_mean"))} | '
                         f'{pct(by.get(depth, {}).get("miou_mean"))} |')
    return '\n'.join(lines)
