# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Per-frame records of a replay and the summary that becomes ``report.json``.

Shared by the offline evaluation (``evaluate.py``) and the live evaluator node (``live.py``),
so both write the same report. ROS-free and torch-free.

Metrics come from ``core/metrics.py`` (the rules training uses too): a confusion matrix
``[K, K]`` accumulated over the frames, ignore pixels left out, mIoU over the classes with a
non-empty union, None when nothing was scored. An output with a class id outside ``0..K-1`` is
not scored: it is counted in ``skipped``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
import math
from typing import Any

import numpy as np

from rgbd_seg_ros.core.metrics import confusion_matrix, iou_per_class, mean_iou, pixel_accuracy

FALLBACK_KEY = 'fallback_frames'  # confusion of what the pipeline output while not in rgbd mode
FUSION_ONLY_KEY = 'fusion_only_fallback_frames'  # the fusion model alone on those frames


def put_bounded(pending: dict[Any, Any], key: Any, value: Any, limit: int) -> int:
    """``pending[key] = value``, then drop the oldest beyond ``limit``; returns how many."""
    pending[key] = value
    dropped = 0
    while len(pending) > limit:
        pending.pop(next(iter(pending)))
        dropped += 1
    return dropped


def percentile(values: list[float], q: float) -> float | None:
    """``q``-th percentile (linear interpolation), None for an empty list."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if values else None


@dataclass
class FrameRecord:
    """What happened to one RGB frame of the bag."""

    stamp_ns: int  # header stamp of the RGB message (the output carries the same stamp)
    t_ns: int  # bag time at which the RGB message arrived
    mode: str | None = None  # mode that produced the output ('rgbd', 'rgb', 'depth'); None = none
    latency_ms: float | None = None  # input to output, milliseconds
    sync_wait_ms: float | None = None  # part of the latency spent waiting in the synchronizer
    depth_ratio: float | None = None  # valid-pixel fraction of the paired depth; None = no depth
    miou: float | None = None  # this frame's mIoU against ground truth
    pixel_acc: float | None = None  # this frame's pixel accuracy
    fusion_only_miou: float | None = None  # fusion model alone (no fallback), fallback frames
    note: str | None = None  # why there is no output, when there is none

    def to_dict(self, start_ns: int) -> dict[str, Any]:
        """JSON form with times in seconds (``t``: bag time, ``t_rel``: since bag start)."""
        return {
            't': self.t_ns / 1e9,
            't_rel': round((self.t_ns - start_ns) / 1e9, 6),
            'stamp': self.stamp_ns / 1e9,
            'mode': self.mode,
            'latency_ms': _round(self.latency_ms),
            'sync_wait_ms': _round(self.sync_wait_ms),
            'depth_valid_ratio': _round(self.depth_ratio),
            'miou': _round(self.miou),
            'pixel_acc': _round(self.pixel_acc),
            'fusion_only_miou': _round(self.fusion_only_miou),
            'note': self.note,
        }


@dataclass
class BagModeSwitch:
    """
    A change of the node's mode at bag time ``t_ns``: the report's row (the state machine's
    own event is ``core.health.ModeSwitch``, in seconds of ``now``).
    """

    t_ns: int
    from_mode: str
    to_mode: str
    reason: str = ''

    def to_dict(self, start_ns: int) -> dict[str, Any]:
        """JSON form: ``t`` bag time in seconds, ``t_rel`` seconds since the bag start."""
        return {
            't': self.t_ns / 1e9,
            't_rel': round((self.t_ns - start_ns) / 1e9, 6),
            'from': self.from_mode,
            'to': self.to_mode,
            'reason': self.reason,
        }


@dataclass
class ReplayResult:
    """Everything a report is made of; filled by the offline or the live evaluator."""

    bag: str
    start_ns: int
    end_ns: int
    label_names: tuple[str, ...]
    ignore_index: int = 255
    source: str = 'offline'  # 'offline' (deterministic, no DDS) or 'live' (over DDS)
    frames: list[FrameRecord] = field(default_factory=list)
    mode_switches: list[BagModeSwitch] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> messages skipped
    confusion: dict[str, np.ndarray] = field(default_factory=dict)  # 'all', 'mode:rgb', ...
    settings: dict[str, Any] = field(default_factory=dict)  # models, topics, sync parameters
    transport: dict[str, Any] = field(default_factory=dict)  # live only: sent/received/lost
    examples: list[dict[str, Any]] = field(default_factory=list)  # images for the overlay plot

    @property
    def num_classes(self) -> int:
        """Number of classes K of the label set."""
        return len(self.label_names)

    def add_confusion(self, key: str, conf: np.ndarray) -> None:
        """Accumulate a frame's ``[K, K]`` confusion under ``key``."""
        if key in self.confusion:
            self.confusion[key] += conf
        else:
            self.confusion[key] = conf.astype(np.int64).copy()

    def score_frame(
        self, record: FrameRecord, gt: np.ndarray, pred: np.ndarray,
        fusion_only_pred: np.ndarray | None = None,
    ) -> None:
        """Score ``pred`` (and the fusion-only prediction on fallback frames) against ``gt``."""
        try:
            conf = confusion_matrix(pred, gt, self.num_classes, self.ignore_index)
            only = None if fusion_only_pred is None else confusion_matrix(
                fusion_only_pred, gt, self.num_classes, self.ignore_index)
        except ValueError as exc:
            self.skipped[f'output not scored: {exc}'] += 1
            return
        record.miou = mean_iou(conf)
        record.pixel_acc = pixel_accuracy(conf)
        self.add_confusion('all', conf)
        self.add_confusion(f'mode:{record.mode}', conf)
        if only is not None:
            self.add_confusion(FALLBACK_KEY, conf)
            record.fusion_only_miou = mean_iou(only)
            self.add_confusion(FUSION_ONLY_KEY, only)

    def summary(self) -> dict[str, Any]:
        """The ``report.json`` dictionary (fractions, seconds, milliseconds)."""
        frames = self.frames
        with_output = [f for f in frames if f.mode is not None]
        latencies = [f.latency_ms for f in with_output if f.latency_ms is not None]
        waits = [f.sync_wait_ms for f in with_output if f.sync_wait_ms is not None]
        modes = sorted({f.mode for f in with_output})
        all_conf = self.confusion.get('all')
        fallback = self.confusion.get(FALLBACK_KEY)
        fusion_only = self.confusion.get(FUSION_ONLY_KEY)
        gain = None
        if fallback is not None and fusion_only is not None:
            gain = _diff(mean_iou(fallback), mean_iou(fusion_only))
        iou = iou_per_class(all_conf) if all_conf is not None else None
        out: dict[str, Any] = {
            'bag': self.bag,
            'source': self.source,
            'start_time': self.start_ns / 1e9,
            'end_time': self.end_ns / 1e9,
            'duration_s': round((self.end_ns - self.start_ns) / 1e9, 6),
            'frames': len(frames),
            'frames_with_output': len(with_output),
            'frames_without_output': len(frames) - len(with_output),
            'frames_scored': int(sum(f.miou is not None for f in frames)),
            'miou': _round(mean_iou(all_conf)),
            'pixel_acc': _round(pixel_accuracy(all_conf)),
            'miou_by_mode': {
                m: _round(mean_iou(self.confusion.get(f'mode:{m}'))) for m in modes
            },
            'pixel_acc_by_mode': {
                m: _round(pixel_accuracy(self.confusion.get(f'mode:{m}'))) for m in modes
            },
            'frames_by_mode': {m: sum(f.mode == m for f in frames) for m in modes},
            'iou_per_class': (
                {n: (None if math.isnan(v) else round(float(v), 6))
                 for n, v in zip(self.label_names, iou)} if iou is not None else None
            ),
            'latency_ms': {
                'p50': _round(percentile(latencies, 50), 3),
                'p95': _round(percentile(latencies, 95), 3),
                'max': _round(max(latencies) if latencies else None, 3),
                'mean': _round(float(np.mean(latencies)) if latencies else None, 3),
            },
            'sync_wait_ms': {
                'p50': _round(percentile(waits, 50), 3),
                'p95': _round(percentile(waits, 95), 3),
                'max': _round(max(waits) if waits else None, 3),
            },
            'latency_ms_by_mode': {
                m: {
                    'p50': _round(percentile(
                        [f.latency_ms for f in with_output if f.mode == m], 50), 3),
                    'p95': _round(percentile(
                        [f.latency_ms for f in with_output if f.mode == m], 95), 3),
                } for m in modes
            },
            'mode_switches': [s.to_dict(self.start_ns) for s in self.mode_switches],
            'fallback': {
                'frames': int(sum(f.fusion_only_miou is not None or (
                    f.mode not in (None, 'rgbd')) for f in frames)),
                'miou_with_fallback': _round(mean_iou(fallback)),
                'pixel_acc_with_fallback': _round(pixel_accuracy(fallback)),
                'miou_fusion_only': _round(mean_iou(fusion_only)),
                'pixel_acc_fusion_only': _round(pixel_accuracy(fusion_only)),
                'miou_gain': _round(gain),
            },
            'skipped_messages': dict(sorted(self.skipped.items())),
            'settings': self.settings,
        }
        if self.transport:
            out['transport'] = self.transport
        out['per_frame'] = [f.to_dict(self.start_ns) for f in frames]
        return out


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(float(value), digits)


class ExamplePicker:
    """
    Chooses the frames of ``examples.png`` while streaming, with bounded memory.

    Keeps two candidates per run of one mode: the run's 4th frame (its first frames when
    shorter) and its last frame (the one before the next switch); ``pick`` returns up to ``limit``
    of them, each run's 4th frame first, in time order.
    """

    def __init__(self, limit: int, start_ns: int) -> None:
        self.limit = limit
        self.start_ns = start_ns
        self.candidates: list[dict[str, Any]] = []
        self._run_pos = 0

    def offer(self, record: FrameRecord, rgb: np.ndarray, depth_m: np.ndarray | None,
              pred: np.ndarray, fusion_only: np.ndarray | None = None) -> None:
        """Consider one frame (its record has ``mode`` set)."""
        if self.limit <= 0:
            return
        cands = self.candidates
        new_run = not cands or cands[-1]['mode'] != record.mode
        self._run_pos = 0 if new_run else self._run_pos + 1
        if new_run and len(cands) >= 4 * self.limit:
            self._run_pos = -1_000_000  # enough candidates: stop collecting
            return
        if self._run_pos < 0:
            return
        t_rel = (record.t_ns - self.start_ns) / 1e9
        cand = {
            'stamp_ns': record.stamp_ns, 'mode': record.mode, 'rgb': rgb, 'depth_m': depth_m,
            'pred': pred, 'gt': None, 'fusion_only': fusion_only,
            'title': f't = {t_rel:.2f} s\n{record.mode} mode', 'run_pos': self._run_pos,
        }
        if new_run:
            cands.append(cand)
        elif self._run_pos <= 3:
            cands[-1] = cand
        elif self._run_pos == 4 or cands[-1]['run_pos'] <= 3:
            cands.append(cand)  # the run's last frame so far
        else:
            cands[-1] = cand

    def add_ground_truth(self, record: FrameRecord, gt: np.ndarray) -> None:
        """Attach the ground truth (and the frame's mIoU) to a kept candidate."""
        for cand in self.candidates:
            if cand['stamp_ns'] == record.stamp_ns:
                cand['gt'] = gt
                if record.miou is not None:
                    cand['title'] += f'\nframe mIoU {100 * record.miou:.1f} %'

    def pick(self) -> list[dict[str, Any]]:
        """Up to ``limit`` candidates in time order."""
        cands = self.candidates
        order = [i for i, c in enumerate(cands) if c['run_pos'] <= 3]
        order += [i for i, c in enumerate(cands) if c['run_pos'] > 3]
        return [cands[i] for i in sorted(order[: self.limit])]
