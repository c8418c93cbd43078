# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
One run of the benchmark: its config file and ``--set`` overrides, its fingerprint (what decides
whether a finished folder may be reused), and its training in a ``training.train`` subprocess
that resumes after an interruption.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
import subprocess
import sys
import time

from bench.methods.plan import PRETRAIN, PRETRAIN_DATA_SEED, PRETRAINS, RUNS, Plan, run_dir

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / 'training' / 'configs'
RESUME_EVERY = 500  # steps between a run's interim last.safetensors (an interrupted run resumes)


def config_file(run: str, plan: Plan) -> Path:
    """The training config of ``run``: ``synthetic_*.yaml`` or ``nyu_*.yaml``."""
    prefix = 'synthetic' if plan.synthetic else 'nyu'
    return CONFIGS / f'{prefix}_{RUNS[run][0]}.yaml'


def run_sets(run: str, seed: int, plan: Plan, teacher: Path | None) -> list[str]:
    """
    The ``--set`` overrides of one run. An ablation's (``plan.variant``) extra overrides reach
    only the runs in its own folders, so the shared baselines and teachers keep their fingerprint.
    """
    budget = plan.budget
    sets = [f'train.seed={seed}']
    if plan.synthetic:
        h, w = budget.size
        iters = budget.student_iters * (budget.teacher_factor if run.startswith('teacher')
                                        else 1)
        if run in PRETRAINS:
            iters = budget.pretrain_steps(run)
        data_seed = PRETRAIN_DATA_SEED if run in PRETRAINS else 0
        sets += [f'data.size=({h}, {w})', f'data.crop_size=({h}, {w})',
                 f'data.synthetic_world={plan.world}', f'data.synthetic_seed={data_seed}',
                 f'data.synthetic_val_length={budget.val_frames}',
                 f'train.batch_size={budget.batch_size}',
                 f'train.val_batch_size={budget.batch_size}',
                 f'train.max_iters={iters}', f'train.eval_every={budget.eval_every}',
                 f'train.checkpoint_every={iters}',
                 f'optim.warmup_iters={max(1, min(20, iters // 10))}']
        if run != PRETRAIN:  # RGB only: the pretraining does not depend on the depth
            sets.append(f'data.synthetic_depth={plan.depth}')
        if not plan.stream and run not in PRETRAINS:
            sets += [f'data.synthetic_train_length={budget.train_frames}',
                     f'data.synthetic_cache={plan.out / "frames"}']
        sets += list(budget.sets)
    else:
        sets.append(f'data.root={plan.root}')
    if teacher is not None:
        sets.append(f'distill.teacher={teacher}')
    if plan.init == 'imagenet':  # every stream (the HHA one too) from ImageNet weights
        sets += [f'model.backbone={plan.backbone_name}', 'model.pretrained=imagenet']
    if run not in PRETRAINS and plan.pretrain:
        sets.append(f'model.pretrained={plan.backbone("rgb")}')
        if plan.depth_pretrain:
            sets.append(f'model.pretrained_depth={plan.backbone("depth")}')
    if plan.variant and run_dir(run, plan.variant) == run:  # an ablation's --set: its own runs
        return sets
    return sets + list(plan.sets)


def run_fingerprint(config: Path, sets: list[str], plan: Plan, legacy: bool = False) -> str:
    """
    Hash of what decides a run: its config file, its overrides and the synthetic world's knobs.

    A finished run is reused only when its stamp holds the same fingerprint, so a changed config,
    override or world (``rgbd_seg_ros.sim.style``) is never answered by an older run. Paths
    inside the protocol's folder (``plan.out``) are written as ``{out}``, and a run that one of
    them names (a teacher, a pretraining) stands in by its own stamp's fingerprint: the hash
    follows what a run was trained from, not where the folder lies, so a folder of longer
    teachers can share the baselines of another by hard links
    (bench/log/2026-12-06-quick-teacher-strength-nyu_like.md) while a student
    of another teacher is still refused. ``legacy``: the hash of the revision before (paths as
    they are, nothing chained), accepted for stamps written then.
    """
    world = ''
    if plan.synthetic:
        from rgbd_seg_ros.sim import world_style
        world = repr(world_style(plan.world))
    if legacy:
        text = json.dumps([config.read_text(encoding='utf-8'), sets, world])
        return hashlib.sha256(text.encode()).hexdigest()
    root = str(plan.out)
    portable, upstream = [], []
    for item in sets:
        key, _, value = item.partition('=')
        if value == root or value.startswith(root + os.sep):
            named = Path(value)
            stamp = (named if named.is_dir() else named.parent) / 'bench_time.json'
            if stamp.is_file():
                upstream.append([key, json.loads(stamp.read_text()).get('fingerprint', '')])
            value = '{out}' + value[len(root):]
        portable.append(f'{key}={value}')
    text = json.dumps([config.read_text(encoding='utf-8'), portable, world, upstream])
    return hashlib.sha256(text.encode()).hexdigest()


def write_stamp(stamp: Path, seconds: float, fingerprint: str) -> None:
    """Write a run's stamp as a new file (atomic): a hard-linked copy keeps its own."""
    tmp = stamp.with_suffix('.json.tmp')
    tmp.write_text(json.dumps({'seconds': seconds, 'fingerprint': fingerprint}),
                   encoding='utf-8')
    os.replace(tmp, stamp)


def train_run(run: str, seed: int, out: Path, plan: Plan, teacher: Path | None) -> float:
    """
    Train one run into ``out`` in a subprocess, or reuse it when finished with the same
    fingerprint; its wall-clock seconds. A folder trained otherwise raises ``RuntimeError``.
    """
    exports = RUNS[run][2]
    stamp = out / 'bench_time.json'
    config = config_file(run, plan)
    sets = run_sets(run, seed, plan, teacher)
    fingerprint = run_fingerprint(config, sets, plan)
    if stamp.exists() and all((out / f'{e}.safetensors').exists() for e in exports):
        done = json.loads(stamp.read_text())
        held = done.get('fingerprint', fingerprint)  # stamps before fingerprints: trusted
        if held != fingerprint:
            if held != run_fingerprint(config, sets, plan, legacy=True):
                raise RuntimeError(
                    f'{out} was trained with another config, override, synthetic world or '
                    f'teacher than this run asks for; delete the folder to train it again')
            write_stamp(stamp, float(done['seconds']), fingerprint)  # the portable hash
        return float(done['seconds'])
    cmd = ['-m', 'training.train', '--config', str(config), '--out', str(out)]
    for item in sets:
        cmd += ['--set', item]
    # an interrupted run resumes from its last interim state (a rerun of this command); where
    # it is written changes nothing in training, so it stays out of the fingerprint
    cmd += ['--set', f'train.checkpoint_every={RESUME_EVERY}']
    if (out / 'last.safetensors').exists():
        cmd.append('--resume')
    launcher = ([sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={plan.nproc}']
                if plan.nproc > 1 else [sys.executable])
    env = {**os.environ, 'PYTHONPATH': str(REPO), 'OMP_NUM_THREADS': str(plan.threads)}
    env.setdefault('HF_HUB_OFFLINE', '1')
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(out / 'bench_stdout.log', 'w', encoding='utf-8') as log:
        rc = subprocess.run(launcher + cmd, cwd=REPO, env=env, stdout=log,
                            stderr=subprocess.STDOUT).returncode
    seconds = time.perf_counter() - t0
    if rc != 0:
        raise RuntimeError(f'training {run} (seed {seed}) failed with exit status {rc}; see '
                           f'{out / "bench_stdout.log"}')
    write_stamp(stamp, seconds, fingerprint)
    if not plan.keep_last:  # the resume state: 3x the weights, unused now
        (out / 'last.safetensors').unlink(missing_ok=True)
    return seconds
