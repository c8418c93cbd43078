# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Are the benchmark's teachers converged? The doubling test: the same teachers at twice the steps.

``training.run_log.plateaued`` reads one validation curve, and under the poly-decay schedule the
last quarter of a run is also where the learning rate anneals, so a curve rises there even when
more steps would buy little. The test that separates the two trains each teacher again at twice
the budget (``bench.methods --teacher-factor 2K``, a folder of its own) and compares the test
mIoU: a teacher is converged here when doubling its steps gains at most ``--tol`` points.

    python -m bench.methods --protocol full --seeds '' --world W --teacher-factor 6 ...
        --json bench/results/calibration_full_W_tf6.json
    python bench/teacher_doubling.py bench/results/methods_full_W.json
        bench/results/calibration_full_W_tf6.json [--tol 1.0] [--json OUT]

(each command on one line).

Both inputs are ``bench.methods`` JSON reports (their ``teachers`` block); the table gives
each teacher's steps, test mIoU at both budgets, the gain and the verdict, and the calibration
ratios (depth / RGB, RGB-D / RGB) at both budgets.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import json
from pathlib import Path
import sys
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from training.run_log import DOUBLING_TOL, doubling_row, last_quarter_gain  # noqa: E402


def load_report(path: str | Path) -> dict[str, Any]:
    """A ``bench.methods`` report; a clear error when it has no usable ``teachers`` block."""
    report = json.loads(Path(path).read_text(encoding='utf-8'))
    teachers = report.get('teachers') if isinstance(report, dict) else None
    if not teachers:
        raise ValueError(f'{path}: no "teachers" block (not a bench.methods report?)')
    for name, entry in teachers.items():
        for key in ('test_miou', 'steps'):
            if key not in entry:
                raise ValueError(f'{path}: teacher {name} has no "{key}"')
    return report


def _last_quarter_points(curve: list[list[float]] | None) -> float | None:
    """``training.run_log.last_quarter_gain`` of a report's validation curve, in points."""
    gain = last_quarter_gain([(int(s), float(v)) for s, v in curve or []])
    return None if gain is None else round(gain * 100.0, 2)


def compare(base_report: dict[str, Any], doubled_report: dict[str, Any],
            tol: float = DOUBLING_TOL) -> dict[str, Any]:
    """
    The doubling test of every teacher in both reports (:func:`load_report`).

    ``test_miou`` in the reports is a fraction (0-1); ``gain`` and ``tol`` are in points. A
    teacher of ``doubled`` must have trained exactly twice the steps of its ``base`` namesake.
    The calibration ratios are the reports' own (``bench.methods`` computes them).
    """
    base, doubled = base_report['teachers'], doubled_report['teachers']
    common = [name for name in base if name in doubled]
    if not common:
        raise ValueError('the two reports share no teacher')
    rows = []
    for name in sorted(common):
        b, d = base[name], doubled[name]
        row = doubling_row(name, int(b['steps']), float(b['test_miou']) * 100.0,
                           int(d['steps']), float(d['test_miou']) * 100.0, tol,
                           hint='run the second report with twice the --teacher-factor of the '
                                'first')
        rows.append({'teacher': name, **row,
                     'plateau_rule': b.get('plateau'),
                     'last_quarter_gain': _last_quarter_points(b.get('val_curve'))})
    return {'tol': tol, 'rows': rows,
            'calibration': {'base': base_report.get('calibration') or {},
                            'doubled': doubled_report.get('calibration') or {}}}


def _signed(v: float | None) -> str:
    return '-' if v is None else f'{v:+.1f}'


def format_table(result: dict[str, Any]) -> str:
    """Markdown table of :func:`compare`'s result."""
    lines = ['| teacher | steps | test mIoU % | steps x2 | test mIoU % x2 | gain (points) | '
             f'converged (gain <= {result["tol"]:g}) | plateau rule | last quarter (points) |',
             '|---|---:|---:|---:|---:|---:|---|---|---:|']
    for r in result['rows']:
        lines.append(f'| {r["teacher"]} | {r["steps"]} | {r["test_miou"]:.1f} | '
                     f'{r["steps_doubled"]} | {r["test_miou_doubled"]:.1f} | {r["gain"]:+.1f} | '
                     f'{"yes" if r["converged"] else "no"} | {r["plateau_rule"]} | '
                     f'{_signed(r["last_quarter_gain"])} |')
    cal = result['calibration']

    def fmt(v: float | None) -> str:
        return '-' if v is None else f'{v:.3f}'

    def ratio(which: str, key: str) -> str:
        return fmt(cal[which].get(key))

    lines.append('')
    lines.append(f'calibration: depth / RGB {ratio("base", "depth_over_rgb")} -> '
                 f'{ratio("doubled", "depth_over_rgb")}, RGB-D / RGB '
                 f'{ratio("base", "rgbd_over_rgb")} -> {ratio("doubled", "rgbd_over_rgb")}')
    return '\n'.join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('base', help="bench.methods report with the protocol's teachers")
    parser.add_argument('doubled', help='report with the same teachers at twice the steps')
    parser.add_argument('--tol', type=float, default=DOUBLING_TOL,
                        help='mIoU points a converged teacher may gain from twice the steps')
    parser.add_argument('--json', metavar='OUT', help='write the comparison as JSON here')
    args = parser.parse_args(argv)
    try:
        result = compare(load_report(args.base), load_report(args.doubled), args.tol)
    except (OSError, ValueError) as exc:
        print(f'teacher_doubling: {exc}', file=sys.stderr)
        return 2
    result['inputs'] = {'base': str(args.base), 'doubled': str(args.doubled)}
    print(format_table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + '\n', encoding='utf-8')
    return 0


if __name__ == '__main__':
    sys.exit(main())
