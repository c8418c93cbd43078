# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The shipped demo bundles scored: their files, the fixed test frames and the doubling test.

``tools/demo_models.py`` trains and writes the bundles (``make demo-models``); this module is
what reads them: :func:`score_bundle` runs each bundle through ``ModelSet`` (the node's path)
on :func:`fixed_test_frames`, :func:`doubling_test` compares two folders of the same recipe at
one and twice the steps, and :func:`run_seconds` reads a finished training run's time.
"""

from __future__ import annotations

from collections.abc import Sequence
import json
from pathlib import Path
from typing import Any

import numpy as np

from training.run_log import DOUBLING_TOL, doubling_row

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / 'models' / 'demo'
RUNS = ('rgb', 'depth', 'rgbd')  # independent runs, each from ImageNet weights
BUNDLE_PARAM = {'rgbd': 'fusion_model', 'rgb': 'rgb_model', 'depth': 'depth_model'}
# The fixed test frames: the NYU-like world's 'test' stream of a seed that no training run,
# benchmark or demo uses (held out), at the models' input size. The bundles are trained on the
# same world (``training/configs/demo_*.yaml``, seed 0) and the demo camera renders it.
TEST_WORLD = 'nyu_like'
TEST_SEED = 999
TEST_FRAMES = 64
TEST_SIZE = (96, 128)


def bundle_paths(models_dir: str | Path) -> dict[str, Path]:
    """The node parameter -> bundle file of a models folder (``fusion_model`` -> rgbd...)."""
    return {BUNDLE_PARAM[r]: Path(models_dir) / f'{r}.safetensors' for r in RUNS}


def world_fingerprint(world: str = TEST_WORLD) -> str:
    """Hash of a synthetic world's knobs (``sim.world_style``): a bundle records the one it saw."""
    import hashlib

    from rgbd_seg_ros.sim import world_style

    return hashlib.sha256(repr(world_style(world)).encode()).hexdigest()[:16]


def fixed_test_frames(count: int = TEST_FRAMES, size: tuple[int, int] = TEST_SIZE,
                world: str = TEST_WORLD) -> list[Any]:
    """``count`` fixed, seeded test frames (``sim.Frame``) of ``world`` at ``size`` (H, W)."""
    from rgbd_seg_ros.sim import sample_frame
    from training.data.synthetic import split_seed

    seed = split_seed(TEST_SEED, 'test')
    return [sample_frame(seed, i, size[1], size[0], world=world) for i in range(count)]


def score_bundle(models_dir: str | Path, frames: Sequence[Any] | None = None
                 ) -> dict[str, dict[str, Any]]:
    """
    mIoU (%) and per-class IoU of each bundle on ``frames`` through the node's path.

    The models are loaded by ``ModelSet.from_paths`` and run by ``ModelSet.predict``, as in
    ``segmentation_node``. Rows: ``rgbd`` (fusion with depth), ``rgb``, ``depth`` and
    ``rgbd_no_depth`` (the fusion model fed an all-invalid depth map: what a robot gets without
    the fallback during an outage).
    """
    from rgbd_seg_ros.core.depth import missing_depth
    from rgbd_seg_ros.core.metrics import confusion_matrix, scores_from_confusion
    from rgbd_seg_ros.core.model_set import ModelSet

    frames = fixed_test_frames() if frames is None else frames
    paths = bundle_paths(models_dir)
    models = ModelSet.from_paths(**{k: str(v) for k, v in paths.items()})
    k = models.labels.num_classes
    rows = {'rgbd': 'rgbd', 'rgb': 'rgb', 'depth': 'depth', 'rgbd_no_depth': 'rgbd'}
    conf = {row: np.zeros((k, k), np.int64) for row in rows}
    for f in frames:
        for row, mode in rows.items():
            depth = missing_depth(*f.depth_m.shape) if row == 'rgbd_no_depth' else f.depth_m
            pred = models.predict(mode, f.rgb, depth, f.intrinsics)
            conf[row] += confusion_matrix(pred, f.label, k)
    out = {}
    for row, c in conf.items():
        scores = scores_from_confusion(c)
        out[row] = {'miou': round(100.0 * scores['miou'], 2),
                    'per_class': {name: (None if v is None or np.isnan(v) else
                                         round(100.0 * float(v), 1))
                                  for name, v in zip(models.labels.names,
                                                     scores['iou'])}}
    return out


def bundle_steps(models_dir: str | Path) -> dict[str, int]:
    """Training steps of each bundle of a folder (``train.max_iters`` in its provenance)."""
    from rgbd_seg_ros.core.checkpoint import load_meta

    steps = {}
    for run in RUNS:
        demo = load_meta(Path(models_dir) / f'{run}.safetensors').provenance.get('demo_bundle')
        if not demo:
            raise ValueError(f'{models_dir}/{run}.safetensors is not a demo bundle '
                             '(no demo_bundle provenance)')
        steps[run] = int(demo['config']['train']['max_iters'])
    return steps


def doubling_test(base_dir: str | Path, doubled_dir: str | Path, tol: float = DOUBLING_TOL,
                  doubled_test: dict[str, Any] | None = None) -> dict[str, Any]:
    """
    The doubling test of each bundle: the same recipe at twice the steps (``--iters-factor 2``).

    Both folders hold bundles and ``summary.json`` (test mIoU on :func:`fixed_test_frames`, in
    %). A run is converged when twice its steps gain at most ``tol`` points of test mIoU (the
    criterion of ``bench/teacher_doubling.py``; the plateau rule cannot tell under-training from
    the poly schedule's annealing). Raises ``ValueError`` unless every doubled run trained
    exactly twice the steps of its base. ``doubled_test`` is the doubled run's ``test`` block
    when its summary.json is not written yet.
    """
    tests = {}
    for name, folder in (('base', base_dir), ('doubled', doubled_dir)):
        if name == 'doubled' and doubled_test is not None:
            test = doubled_test
        else:
            test = json.loads((Path(folder) / 'summary.json').read_text(encoding='utf-8'))['test']
        tests[name] = {run: float(test[run]['miou']) for run in RUNS}
    base_steps, doubled_steps = bundle_steps(base_dir), bundle_steps(doubled_dir)
    rows = {run: doubling_row(run, base_steps[run], tests['base'][run], doubled_steps[run],
                              tests['doubled'][run], tol,
                              hint='train the second folder with --iters-factor 2')
            for run in RUNS}
    return {'tol': tol, 'base': str(base_dir), 'doubled': str(doubled_dir), 'runs': rows}


def print_doubling(rows: dict[str, dict[str, Any]]) -> None:
    """One line per run of a doubling test's ``runs`` block (:func:`doubling_row` rows)."""
    for run, row in rows.items():
        print(f'doubling test {run:6s} {row["steps"]} -> {row["steps_doubled"]} steps: test '
              f'{row["test_miou"]:.1f} -> {row["test_miou_doubled"]:.1f} % '
              f'({row["gain"]:+.1f}, converged {row["converged"]})')


def run_seconds(run_dir: str | Path) -> float:
    """Training seconds of a finished run (its ``done.json``, written when the run ended)."""
    return float(json.loads((Path(run_dir) / 'done.json').read_text(encoding='utf-8'))
                 ['seconds'])
