# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
A whole benchmark from its ``Plan``: the pretraining, the teachers and every seed's runs in
dependency order, their test scores, and the report (the JSON that docs/results.md quotes).
"""

from __future__ import annotations

from collections.abc import Callable
import functools
import os
import platform
import time
from typing import Any

from bench.methods.environment import software_versions
from bench.methods.plan import (
    PRETRAIN_DATA_SEED,
    PRETRAIN_STREAM,
    PRETRAINS,
    RUNS,
    TEACHER_SEED,
    Plan,
)
from bench.methods.runs import train_run
from bench.methods.schedule import run_needs, schedule
from bench.methods.scores import build_rows, test_scores
from training.run_log import plateaued, val_curve

Seconds = dict[str, dict[int, float]]  # run -> seed -> training seconds


def train_all(plan: Plan, progress: Callable[[str], None]) -> Seconds:
    """Train (or reuse) every run of ``plan`` on ``plan.jobs`` threads; their seconds."""

    def job(run: str, seed: int) -> tuple[str, int, float]:
        out = plan.run_folder(run, seed)
        progress(f'training {run} (seed {seed}) ...')
        secs = train_run(run, seed, out, plan, plan.teacher_checkpoint(run))
        if run in PRETRAINS:
            stream = PRETRAIN_STREAM[run]
            if not plan.backbone(stream).exists():
                from training.export_backbone import export_backbone
                export_backbone(out / 'model.safetensors', plan.backbone(stream), stream)
        return run, seed, secs

    if plan.synthetic:
        # imported here, in the main thread, before the jobs' threads: cv2's loader swaps its
        # own sys.modules entry and sys.path while it imports, and once failed with "No module
        # named 'cv2'" when a job's thread imported it first (run_fingerprint)
        import rgbd_seg_ros.sim  # noqa: F401
    seconds: Seconds = {}
    for run, seed, s in schedule(plan.todo(), job, max(1, plan.jobs),
                                 lambda r: run_needs(r, plan.pretrain, plan.depth_pretrain)):
        seconds.setdefault(run, {})[seed] = s
    return seconds


def teacher_records(plan: Plan, seconds: Seconds) -> dict[str, dict[str, Any]]:
    """Per teacher: test mIoU and per-class IoU, validation curve, best, steps, plateau, time."""
    records = {}
    for t in plan.teachers:
        out = plan.run_folder(t, TEACHER_SEED)
        curve = val_curve(out).get('model', [])
        test = test_scores(out / 'model.safetensors', plan)
        records[t] = {
            'test_miou': test['miou'], 'per_class': test['per_class'],
            'best_val': max((v for _, v in curve), default=None),
            'steps': curve[-1][0] if curve else None, 'val_curve': curve,
            'plateau': plateaued(curve), 'wall_s': seconds[t][TEACHER_SEED],
        }
    return records


def pretrain_records(plan: Plan, seconds: Seconds) -> dict[str, dict[str, Any]]:
    """Per pretraining run: its stream, steps, data seed, validation curve, time, backbone."""
    records = {}
    for run in plan.pretrains:
        curve = val_curve(plan.run_folder(run, TEACHER_SEED)).get('model', [])
        stream = PRETRAIN_STREAM[run]
        records[run] = {
            'stream': stream, 'steps': plan.budget.pretrain_steps(run),
            'data_seed': PRETRAIN_DATA_SEED,
            'val_curve': curve, 'best_val': max((v for _, v in curve), default=None),
            'wall_s': seconds[run][TEACHER_SEED], 'backbone': str(plan.backbone(stream))}
    return records


def calibration(teachers: dict[str, dict[str, Any]]) -> dict[str, float] | None:
    """The world's modality ratios from the three teachers' test mIoU (None without them)."""
    if not {'teacher_rgb', 'teacher_depth', 'teacher_rgbd'} <= set(teachers):
        return None
    rgb = teachers['teacher_rgb']['test_miou']
    return {'depth_over_rgb': teachers['teacher_depth']['test_miou'] / max(rgb, 1e-9),
            'rgbd_over_rgb': teachers['teacher_rgbd']['test_miou'] / max(rgb, 1e-9)}


def protocol_record(plan: Plan) -> dict[str, Any]:
    """The report's ``protocol`` block: the budget and every setting of the plan."""
    synthetic = plan.synthetic
    return {'name': plan.protocol, **plan.budget.to_json(), 'data': plan.data,
            'world': plan.world if synthetic else None,
            'depth': plan.depth if synthetic else None,
            'finite_train_set': not plan.stream, 'pretrained': plan.pretrain,
            'depth_pretrained': plan.depth_pretrain, 'init': plan.init,
            **({'backbone': plan.backbone_name} if plan.init == 'imagenet' else {}),
            'depth_valid_fractions': list(plan.depth_valid),
            'seeds': list(plan.seeds), 'variant': plan.variant,
            'teacher_seed': TEACHER_SEED, 'jobs': plan.jobs, 'threads': plan.threads,
            'extra_sets': list(plan.sets) + list(plan.budget.sets)}


def run_benchmark(plan: Plan, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """
    Train, score and report ``plan``; ``progress`` receives one line per run started (default:
    printed). Returns the report: protocol, rows, pretraining, teachers, calibration, host.
    """
    progress = progress or functools.partial(print, flush=True)
    t_start = time.perf_counter()
    seconds = train_all(plan, progress)
    scores: dict[str, dict[int, Any]] = {}
    for seed in plan.seeds:
        for m in plan.methods:
            for export in RUNS[m][2]:
                path = plan.run_folder(m, seed) / f'{export}.safetensors'
                scores.setdefault(f'{m}/{export}', {})[seed] = test_scores(path, plan)
    teachers = teacher_records(plan, seconds)
    return {
        'protocol': protocol_record(plan),
        'rows': build_rows(list(plan.methods), list(plan.seeds), scores, seconds),
        'pretrain': pretrain_records(plan, seconds) or None, 'teachers': teachers,
        'calibration': calibration(teachers),
        'wall_s_total': time.perf_counter() - t_start,
        'platform': platform.platform(), 'software': software_versions(),
        'load_average_end': os.getloadavg(),
    }
