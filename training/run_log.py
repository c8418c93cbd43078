# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The run directory's logs: ``metrics.csv`` (and TensorBoard when installed), ``train.log``; the
validation curve read back from ``metrics.csv``, the test whether it levelled off, and the
doubling test of convergence (the same recipe at twice the steps).
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any


class MetricsWriter:
    """Appends ``step, split, name, value`` rows to metrics.csv (and TensorBoard if present)."""

    def __init__(self, out_dir: Path, enabled: bool = True) -> None:
        self.enabled = enabled
        self._file = None
        self._tb = None
        if not enabled:
            return
        path = out_dir / 'metrics.csv'
        new = not path.exists()
        self._file = path.open('a', newline='', encoding='utf-8')
        self._csv = csv.writer(self._file)
        if new:
            self._csv.writerow(['step', 'split', 'name', 'value'])
        try:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(out_dir / 'tensorboard'))
        except ImportError:
            self._tb = None

    def write(self, step: int, split: str, values: dict[str, float]) -> None:
        """Record scalar ``values`` of ``split`` ('train', 'val/<model>') at ``step``."""
        if not self.enabled:
            return
        for name, value in values.items():
            self._csv.writerow([step, split, name, f'{float(value):.6g}'])
            if self._tb is not None:
                self._tb.add_scalar(f'{split}/{name}', float(value), step)
        self._file.flush()

    def close(self) -> None:
        """Flush and close."""
        if self._file is not None:
            self._file.close()
        if self._tb is not None:
            self._tb.close()


def setup_run_logging(out_dir: Path, is_main: bool) -> logging.Handler | None:
    if not is_main:
        return None
    handler = logging.FileHandler(out_dir / 'train.log', encoding='utf-8')
    handler.setFormatter(logging.Formatter('%(asctime)s %(levelname)s %(name)s: %(message)s'))
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return handler


def remove_handler(handler: logging.Handler | None) -> None:
    if handler is not None:
        logging.getLogger().removeHandler(handler)
        handler.close()


PLATEAU_TOL = 0.005  # mIoU: a run gaining more than this in its last quarter has not converged


def val_curve(out: Path) -> dict[str, list[tuple[int, float]]]:
    """Validation mIoU ``[(step, miou)]`` per export name, from ``out/metrics.csv``."""
    curves: dict[str, list[tuple[int, float]]] = {}
    path = out / 'metrics.csv'
    if not path.exists():
        return curves
    with open(path, encoding='utf-8') as f:
        for row in csv.DictReader(f):
            split = row.get('split', '')
            if split.startswith('val/') and row.get('name') == 'miou':
                curves.setdefault(split[4:], []).append((int(row['step']),
                                                         float(row['value'])))
    return curves


def last_quarter_gain(curve: list[tuple[int, float]]) -> float | None:
    """
    Best mIoU of the last quarter of steps minus the best before it (a fraction, like the
    curve); None with fewer than 4 evaluations.
    """
    if len(curve) < 4:
        return None
    last = curve[-1][0]
    early = [v for s, v in curve if s <= 0.75 * last]
    late = [v for s, v in curve if s > 0.75 * last]
    if not early or not late:
        return None
    return max(late) - max(early)


def plateaued(curve: list[tuple[int, float]], tol: float = PLATEAU_TOL) -> bool | None:
    """
    True when the best of the last quarter of steps is within ``tol`` of the best before it
    (:func:`last_quarter_gain`); None with fewer than 4 evaluations.
    """
    gain = last_quarter_gain(curve)
    return None if gain is None else gain <= tol


DOUBLING_TOL = 1.0  # test mIoU points that twice the steps may add to a converged run


def doubling_row(name: str, steps: int, miou: float, steps_doubled: int, miou_doubled: float,
                 tol: float = DOUBLING_TOL, hint: str = '') -> dict[str, Any]:
    """
    The doubling test of one run: converged when the same recipe at twice the steps gains at
    most ``tol`` points of test mIoU. ``miou``, ``miou_doubled`` and ``tol`` are in points
    (0-100). Raises ``ValueError`` (naming ``name``, then ``hint``) unless ``steps_doubled`` is
    exactly ``2 * steps``.
    """
    if int(steps_doubled) != 2 * int(steps):
        raise ValueError(f'{name}: {steps_doubled} steps is not twice {steps}'
                         + (f'; {hint}' if hint else ''))
    # rounded before the verdict: a fraction scaled to points carries float noise
    gain = round(float(miou_doubled) - float(miou), 6)
    return {'steps': int(steps), 'test_miou': round(float(miou), 2),
            'steps_doubled': int(steps_doubled),
            'test_miou_doubled': round(float(miou_doubled), 2),
            'gain': round(gain, 2), 'converged': gain <= tol}
