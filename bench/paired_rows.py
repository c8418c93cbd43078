# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Two ``bench.methods`` reports side by side: a variant against the default, seed by seed.

    python bench/paired_rows.py DEFAULT.json VARIANT.json

prints, for every row label in both reports, the variant's test mIoU minus the default's on
each shared seed (points), their mean and the half-width of its 95 % t-interval: the
"vs default" columns of the reports in bench/log/.
``--teacher-gap ROW=TEACHER`` (repeatable; one report) prints instead the correlation over the
classes between ROW's per-class gain on its baseline and TEACHER's per-class IoU minus that
baseline's: how much of a distilled row's per-class result its teacher's gaps explain.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import json
from pathlib import Path
import sys
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from bench.methods.scores import summarise  # noqa: E402  (mean, std, 95 % t-interval)


def load_rows(path: str | Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A report and its rows by label; a clear error when it is not a bench.methods report."""
    report = json.loads(Path(path).read_text(encoding='utf-8'))
    if not isinstance(report, dict) or not isinstance(report.get('rows'), list):
        raise ValueError(f'{path}: no "rows" list (not a bench.methods report?)')
    return report, {row['label']: row for row in report['rows']}


def paired(default: dict[str, dict[str, Any]], variant: dict[str, dict[str, Any]]
           ) -> list[dict[str, Any]]:
    """Per-seed variant - default (points) for every label in both, on the seeds both ran."""
    out = []
    for label, row in variant.items():
        if label not in default:
            continue
        base = default[label]['per_seed']
        seeds = [s for s in row['per_seed'] if s in base]
        diffs = [(row['per_seed'][s] - base[s]) * 100.0 for s in seeds]
        stats = summarise(diffs)
        out.append({'label': label, 'seeds': seeds, 'diff_per_seed': diffs,
                    'diff_mean': stats['mean'], 'diff_ci95': stats['ci95']})
    return out


def teacher_gap_correlation(report: dict[str, Any], rows: dict[str, dict[str, Any]],
                            label: str, teacher: str) -> float:
    """Pearson r over the classes: row ``label``'s gain on its baseline vs the teacher's gap."""
    baselines = {row['method']: row for row in rows.values() if row.get('baseline') is None}
    if label not in rows or rows[label].get('baseline') not in baselines:
        raise ValueError(f'no row "{label}" with a baseline row in the report')
    if teacher not in report.get('teachers', {}):
        raise ValueError(f'no teacher "{teacher}" in the report')
    base = baselines[rows[label]['baseline']]['per_class']
    classes = list(base)
    gain = [rows[label]['per_class'][c] - base[c] for c in classes]
    gap = [report['teachers'][teacher]['per_class'][c] - base[c] for c in classes]
    return float(np.corrcoef(gain, gap)[0, 1])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('reports', nargs='+', help='DEFAULT.json VARIANT.json, or one report '
                        'with --teacher-gap')
    parser.add_argument('--teacher-gap', action='append', default=[], metavar='ROW=TEACHER')
    args = parser.parse_args(argv)
    try:
        if args.teacher_gap:
            report, rows = load_rows(args.reports[0])
            for item in args.teacher_gap:
                label, _, teacher = item.partition('=')
                r = teacher_gap_correlation(report, rows, label, teacher)
                print(f'{label} vs {teacher}: r = {r:.2f}')
            return 0
        if len(args.reports) != 2:
            raise ValueError('give DEFAULT.json and VARIANT.json')
        _, default = load_rows(args.reports[0])
        _, variant = load_rows(args.reports[1])
    except (OSError, ValueError) as exc:
        print(f'paired_rows: {exc}', file=sys.stderr)
        return 2
    print('| row | variant - default, per seed (points) | mean | 95 % CI |')
    print('|---|---|---:|---:|')
    for item in paired(default, variant):
        seeds = ', '.join(f'{d:+.1f}' for d in item['diff_per_seed'])
        mean = '-' if item['diff_mean'] is None else f'{item["diff_mean"]:+.1f}'
        ci95 = '-' if item['diff_ci95'] is None else f'± {item["diff_ci95"]:.1f}'
        print(f'| {item["label"]} | {seeds} | {mean} | {ci95} |')
    return 0


if __name__ == '__main__':
    sys.exit(main())
