# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Every training method against its baseline, under a fair protocol (docs/results.md).

Protocol (each point a documented choice, docs/results.md "Protocol"):

- **Pretrained initialisation.** The papers start every model (teachers and students, RGB and
  depth streams) from ImageNet weights; no hub is reachable here, so a ``pretrain`` run stands
  in for ImageNet: an RGB model trained on an endless stream of rooms disjoint from the
  benchmark's frames (data seed ``PRETRAIN_DATA_SEED``), whose backbone
  (``training.export_backbone``) initialises the RGB stream of every model. The depth streams
  start from a ``pretrain_depth`` run (a depth model on the same rooms, the same steps, run
  beside it): an RGB backbone trained on these rooms is specialised to their appearance, and
  the longer it trains, the worse a depth stream it makes (docs/results.md, "Calibrating
  nyu_like"), unlike ImageNet weights for HHA. ``--no-depth-pretrain`` starts the depth
  streams from the RGB backbone too; ``--no-pretrain`` trains from random initialisation.
- **Converged teachers.** One RGB, one depth and one RGB-D teacher per protocol, trained for
  ``teacher_factor`` (>= 3) times the student budget on the same training set, seed 100, shared
  by every seed; the JSON keeps each teacher's validation curve and flags one that had not
  levelled off (best of the last quarter more than ``plateau_tol`` above the best before it).
- **A finite, fixed training set** (``data.synthetic_train_length`` pre-rendered frames, cached
  on disk, read for many epochs, as NYU's 795 images), identical for every seed; ``--stream``
  uses an endless stream of new rooms instead.
- **Equal budgets.** Every student trains exactly as many steps as its baseline.
- **Same initialisation.** Seed ``s`` sets the student's initial weights (built under its own
  seeded RNG, ``training.methods.student_model``) and the augmentation/data order, so a baseline
  and a distilled run of one seed differ only in the method.
- **Statistics.** Mean, sample std and a 95 % t-interval of test mIoU over the seeds; the paired
  difference to the baseline per seed; per-class test IoU for every row; wall-clock including
  the teachers.

Runs (teachers first, then the students of every seed; ``--jobs`` runs that many at once):

=============  =========================  ==============  ===============================
method         config                     teacher         exported model -> baseline
=============  =========================  ==============  ===============================
rgb            *_rgb.yaml                 -               RGB baseline
depth          *_depth.yaml               -               depth baseline
rgbd           *_rgbd.yaml                -               fusion baseline
primkd         *_primkd.yaml              teacher_rgb     fusion -> rgbd
primkd_depth   *_primkd.yaml              teacher_depth   fusion -> rgbd (PrimKD Table 1)
cmkd_rgb       *_cmkd_rgb.yaml            teacher_rgbd    RGB -> rgb
cmkd_depth     *_cmkd_depth.yaml          teacher_rgbd    depth -> depth
crodino        *_crodino.yaml             -               RGB -> rgb, depth -> depth
=============  =========================  ==============  ===============================

    python bench/methods.py --protocol quick|full --seeds 0,1,2 \\
        [--methods rgb,depth,rgbd,primkd,cmkd_rgb,cmkd_depth,crodino] \\
        [--data synthetic|nyu|DIR] [--world nyu_like|depth_favoured] [--root DIR] \\
        [--pretrain-iters N] [--teacher-factor K] \\
        [--jobs 2] [--nproc 1] [--device cpu] --json OUT

``--data nyu --root DIR`` (a folder from ``training.prepare_nyu``) uses the NYU configs and their
paper hyper-parameters (``--protocol`` only sets the seeds' count then), ``--nproc G`` trains
each run with ``torchrun`` on G processes, and the tables are printed in the layout of the
papers' (PrimKD Tables 3/4, CroDiNo-KD's RGB/depth students). Finished runs are reused when
their config file, overrides and synthetic world are unchanged (``run_fingerprint``); a folder
trained with other settings is refused, not silently reused (delete ``--out`` to start over).
A run writes its resume state every ``RESUME_EVERY`` steps, so the same command after an
interruption (a killed job, a machine that went away) continues each unfinished run from there.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
import hashlib
import json
import logging
import math
import os
from pathlib import Path
import platform
import statistics
import subprocess
import sys
import time
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

os.environ.setdefault('HF_HUB_OFFLINE', '1')

from training.run_log import plateaued, val_curve  # noqa: E402

CONFIGS = REPO / 'training' / 'configs'
TEACHER_SEED = 100
RESUME_EVERY = 500  # steps between a run's interim last.safetensors (an interrupted run resumes)
PRETRAIN = 'pretrain'  # the run whose RGB backbone initialises every other run
PRETRAIN_DEPTH = 'pretrain_depth'  # the run whose backbone initialises the depth streams
PRETRAIN_STREAM = {PRETRAIN: 'rgb', PRETRAIN_DEPTH: 'depth'}  # pretraining run -> its stream
PRETRAINS = tuple(PRETRAIN_STREAM)
PRETRAIN_DATA_SEED = 1000  # its rooms: an endless stream disjoint from the benchmark's frames

# budget of each protocol on the synthetic world (see the module docstring and docs/results.md)
PROTOCOLS: dict[str, dict[str, Any]] = {
    # 64x96: the models pad their input to a multiple of 32, so 72x96 cost as much as 96x96
    'quick': dict(size=(64, 96), train_frames=256, val_frames=48, test_frames=100,
                  student_iters=150, teacher_factor=3, eval_every=50, batch_size=8,
                  pretrain_iters=1500),
    # 96x128: a multiple of 32 (72x96 is computed as 96x96), 1.33x the cost of 72x96; RGB
    # pretraining 4000 steps, depth 2500: the budgets at which nyu_like is calibrated
    'full': dict(size=(96, 128), train_frames=795, val_frames=96, test_frames=200,
                 student_iters=500, teacher_factor=3, eval_every=100, batch_size=8,
                 pretrain_iters=2500, pretrain_rgb_iters=4000),
    # CI smoke: a handful of steps on a tiny backbone; checks the plumbing, measures nothing
    'smoke': dict(size=(32, 40), train_frames=4, val_frames=2, test_frames=2,
                  student_iters=2, teacher_factor=3, eval_every=2, batch_size=2,
                  pretrain_iters=2,
                  sets=('model.backbone=test_convnext', 'model.embed_dim=16',
                        'model.ffm_head_dim=8', 'train.num_workers=0',
                        'crodino.proj_dim=16', 'crodino.aux_channels=8')),
}

# run -> (config suffix, teacher run, exports)
RUNS: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    PRETRAIN: ('rgb', None, ('model',)),
    PRETRAIN_DEPTH: ('depth', None, ('model',)),
    'teacher_rgb': ('rgb', None, ('model',)),
    'teacher_depth': ('depth', None, ('model',)),
    'teacher_rgbd': ('rgbd', None, ('model',)),
    'rgb': ('rgb', None, ('model',)),
    'depth': ('depth', None, ('model',)),
    'rgbd': ('rgbd', None, ('model',)),
    'primkd': ('primkd', 'teacher_rgb', ('model',)),
    'primkd_depth': ('primkd', 'teacher_depth', ('model',)),
    'cmkd_rgb': ('cmkd_rgb', 'teacher_rgbd', ('model',)),
    'cmkd_depth': ('cmkd_depth', 'teacher_rgbd', ('model',)),
    'crodino': ('crodino', None, ('rgb', 'depth')),
}
# (method, export) -> (row label, model kind, baseline method)
ROWS: dict[tuple[str, str], tuple[str, str, str | None]] = {
    ('rgb', 'model'): ('RGB baseline', 'rgb', None),
    ('depth', 'model'): ('depth baseline', 'depth', None),
    ('rgbd', 'model'): ('RGB-D fusion baseline', 'rgbd', None),
    ('primkd', 'model'): ('PrimKD fusion (RGB teacher)', 'rgbd', 'rgbd'),
    ('primkd_depth', 'model'): ('PrimKD fusion (depth teacher)', 'rgbd', 'rgbd'),
    ('cmkd_rgb', 'model'): ('CMKD RGB student', 'rgb', 'rgb'),
    ('cmkd_depth', 'model'): ('CMKD depth student', 'depth', 'depth'),
    ('crodino', 'rgb'): ('CroDiNo-KD RGB', 'rgb', 'rgb'),
    ('crodino', 'depth'): ('CroDiNo-KD depth', 'depth', 'depth'),
}
BASELINE_OF_KIND = {'rgb': 'rgb', 'depth': 'depth', 'rgbd': 'rgbd'}
DEFAULT_METHODS = 'rgb,depth,rgbd,primkd,cmkd_rgb,cmkd_depth,crodino'

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


def software_versions() -> dict[str, str]:
    """The checkout's commit and the package versions a report was measured with."""
    from importlib.metadata import PackageNotFoundError, version

    from rgbd_seg_ros.core.checkpoint import git_commit

    out = {'git_commit': git_commit(), 'python': platform.python_version()}
    for package in ('torch', 'timm', 'numpy', 'opencv-python-headless'):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = ''
    # the kernels a CPU run takes depend on the host's instruction set: two hosts can differ in
    # the last bits from the first step on, so the host is part of what a report was made with
    import torch

    out['cpu'] = cpu_model()
    out['torch_cpu_capability'] = str(torch.backends.cpu.get_cpu_capability())
    return out


def cpu_model() -> str:
    """The host's CPU model name (``/proc/cpuinfo``; ``platform.processor()`` elsewhere)."""
    try:
        for line in Path('/proc/cpuinfo').read_text(encoding='utf-8').splitlines():
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def pretrain_iters(proto: dict[str, Any], run: str) -> int:
    """Steps of pretraining run ``run``: ``pretrain_rgb_iters`` (when set) for the RGB one."""
    if run == PRETRAIN:
        return int(proto.get('pretrain_rgb_iters') or proto['pretrain_iters'])
    return int(proto['pretrain_iters'])


def protocol(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """
    The protocol's budget with ``--pretrain-iters`` / ``--teacher-factor`` applied, and the
    run folder's suffix naming them (a changed budget trains its own runs).
    """
    proto = dict(PROTOCOLS[args.protocol])
    suffix = ''
    if args.pretrain_iters:
        proto['pretrain_rgb_iters'] = args.pretrain_iters
        suffix += f'_pre{args.pretrain_iters}'
    if args.teacher_factor:
        if args.teacher_factor < 3:
            raise ValueError('--teacher-factor must be >= 3 (teachers train at least 3x the '
                             'student budget)')
        proto['teacher_factor'] = args.teacher_factor
        suffix += f'_tf{args.teacher_factor}'
    return proto, suffix


def run_sets(run: str, seed: int, args: argparse.Namespace, proto: dict[str, Any],
             teacher: Path | None) -> list[str]:
    """
    The ``--set`` overrides of one run. An ablation's (``--variant``) extra overrides reach only
    the runs in its own folders, so the shared baselines and teachers keep their fingerprint.
    """
    sets = [f'train.seed={seed}']
    if args.data == 'synthetic':
        h, w = proto['size']
        iters = proto['student_iters'] * (proto['teacher_factor'] if run.startswith('teacher')
                                          else 1)
        if run in PRETRAINS:
            iters = pretrain_iters(proto, run)
        data_seed = PRETRAIN_DATA_SEED if run in PRETRAINS else 0
        sets += [f'data.size=({h}, {w})', f'data.crop_size=({h}, {w})',
                 f'data.synthetic_world={args.world}', f'data.synthetic_seed={data_seed}',
                 f'data.synthetic_val_length={proto["val_frames"]}',
                 f'train.batch_size={proto["batch_size"]}',
                 f'train.val_batch_size={proto["batch_size"]}',
                 f'train.max_iters={iters}', f'train.eval_every={proto["eval_every"]}',
                 f'train.checkpoint_every={iters}',
                 f'optim.warmup_iters={max(1, min(20, iters // 10))}']
        if run != PRETRAIN:  # RGB only: the pretraining does not depend on the depth
            sets.append(f'data.synthetic_depth={args.depth}')
        if not args.stream and run not in PRETRAINS:
            sets += [f'data.synthetic_train_length={proto["train_frames"]}',
                     f'data.synthetic_cache={Path(args.out) / "frames"}']
        sets += list(proto.get('sets', ()))
    else:
        sets.append(f'data.root={args.root}')
    if teacher is not None:
        sets.append(f'distill.teacher={teacher}')
    if run not in PRETRAINS and uses_pretraining(args):
        sets.append(f'model.pretrained={pretrained_backbone(args)}')
        if uses_depth_pretraining(args):
            sets.append(f'model.pretrained_depth={pretrained_backbone(args, "depth")}')
    variant = getattr(args, 'variant', '')
    if variant and run_dir(run, variant) == run:  # an ablation's --set: its own runs only
        return sets
    return sets + list(args.set)


VARIANT_KEYS = ('distill.', 'crodino.')  # what an ablation (--variant) may change


def run_dir(run: str, variant: str) -> str:
    """
    Folder of ``run`` under ``seed<s>/``: distilled runs of an ablation ``variant`` get their
    own (``primkd@T1``); baselines, teachers and the pretraining are shared by all variants.
    """
    if not variant or RUNS[run][1] is None and run != 'crodino':
        return run
    return f'{run}@{variant}'


def uses_pretraining(args: argparse.Namespace) -> bool:
    """Whether the runs start from the benchmark's own pretrained backbone (synthetic data)."""
    return args.data == 'synthetic' and not args.no_pretrain


def uses_depth_pretraining(args: argparse.Namespace) -> bool:
    """Whether the depth streams start from their own pretraining run (``pretrain_depth``)."""
    return uses_pretraining(args) and not args.no_depth_pretrain


def pretrained_backbone(args: argparse.Namespace, stream: str = 'rgb') -> Path:
    """The backbone file exported from the pretraining run of ``stream`` ('rgb', 'depth')."""
    run = next(r for r, s in PRETRAIN_STREAM.items() if s == stream)
    return Path(args.out) / run / 'backbone.safetensors'


def run_fingerprint(config: Path, sets: list[str], args: argparse.Namespace,
                    legacy: bool = False) -> str:
    """
    Hash of what decides a run: its config file, its overrides and the synthetic world's knobs.

    A finished run is reused only when its stamp holds the same fingerprint, so a changed config,
    override or world (``rgbd_seg_ros.sim.style``) is never answered by an older run. Paths
    inside the protocol's folder (``--out`` with its suffix) are written as ``{out}``, and a run
    that one of them names (a teacher, a pretraining) stands in by its own stamp's fingerprint:
    the hash follows what a run was trained from, not where the folder lies, so a folder of
    longer teachers can share the baselines of another by hard links (docs/results.md) while a
    student of another teacher is still refused. ``legacy``: the hash of the revision before
    (paths as they are, nothing chained), accepted for stamps written then.
    """
    world = ''
    if args.data == 'synthetic':
        from rgbd_seg_ros.sim import world_style
        world = repr(world_style(args.world))
    if legacy:
        text = json.dumps([config.read_text(encoding='utf-8'), sets, world])
        return hashlib.sha256(text.encode()).hexdigest()
    root = str(Path(args.out))
    portable, upstream = [], []
    for item in sets:
        key, _, value = item.partition('=')
        if value == root or value.startswith(root + os.sep):
            stamp = _run_folder(Path(value)) / 'bench_time.json'
            if stamp.is_file():
                upstream.append([key, json.loads(stamp.read_text()).get('fingerprint', '')])
            value = '{out}' + value[len(root):]
        portable.append(f'{key}={value}')
    text = json.dumps([config.read_text(encoding='utf-8'), portable, world, upstream])
    return hashlib.sha256(text.encode()).hexdigest()


def _run_folder(path: Path) -> Path:
    """The run folder of a path a run is given: the folder itself or a checkpoint's folder."""
    return path if path.is_dir() else path.parent


def _write_stamp(stamp: Path, seconds: float, fingerprint: str) -> None:
    """Write a run's stamp as a new file (atomic): a hard-linked copy keeps its own."""
    tmp = stamp.with_suffix('.json.tmp')
    tmp.write_text(json.dumps({'seconds': seconds, 'fingerprint': fingerprint}),
                   encoding='utf-8')
    os.replace(tmp, stamp)


def train_run(run: str, seed: int, out: Path, args: argparse.Namespace, proto: dict[str, Any],
              teacher: Path | None) -> float:
    """Train one run in a subprocess (or reuse a finished one); its wall-clock seconds."""
    suffix, _, exports = RUNS[run]
    stamp = out / 'bench_time.json'
    prefix = 'synthetic' if args.data == 'synthetic' else 'nyu'
    config = CONFIGS / f'{prefix}_{suffix}.yaml'
    sets = run_sets(run, seed, args, proto, teacher)
    fingerprint = run_fingerprint(config, sets, args)
    if stamp.exists() and all((out / f'{e}.safetensors').exists() for e in exports):
        done = json.loads(stamp.read_text())
        held = done.get('fingerprint', fingerprint)  # stamps before fingerprints: trusted
        if held != fingerprint:
            if held != run_fingerprint(config, sets, args, legacy=True):
                raise RuntimeError(
                    f'{out} was trained with another config, override, synthetic world or '
                    f'teacher than this run asks for; delete the folder to train it again')
            _write_stamp(stamp, float(done['seconds']), fingerprint)  # the portable hash
        return float(done['seconds'])
    cmd = ['-m', 'training.train', '--config', str(config), '--out', str(out)]
    for item in sets:
        cmd += ['--set', item]
    # an interrupted run resumes from its last interim state (a rerun of this command); where
    # it is written changes nothing in training, so it stays out of the fingerprint
    cmd += ['--set', f'train.checkpoint_every={RESUME_EVERY}']
    if (out / 'last.safetensors').exists():
        cmd.append('--resume')
    launcher = ([sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={args.nproc}']
                if args.nproc > 1 else [sys.executable])
    env = {**os.environ, 'PYTHONPATH': str(REPO), 'OMP_NUM_THREADS': str(args.threads)}
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(out / 'bench_stdout.log', 'w', encoding='utf-8') as log:
        rc = subprocess.run(launcher + cmd, cwd=REPO, env=env, stdout=log,
                            stderr=subprocess.STDOUT).returncode
    seconds = time.perf_counter() - t0
    if rc != 0:
        raise RuntimeError(f'training {run} (seed {seed}) failed with exit status {rc}; see '
                           f'{out / "bench_stdout.log"}')
    _write_stamp(stamp, seconds, fingerprint)
    if not getattr(args, 'keep_last', False):  # the resume state: 3x the weights, unused now
        (out / 'last.safetensors').unlink(missing_ok=True)
    return seconds


def test_scores(path: Path, args: argparse.Namespace, proto: dict[str, Any]) -> dict[str, Any]:
    """Test mIoU, pixel accuracy and per-class IoU of one checkpoint."""
    from rgbd_seg_ros.core.inference import Segmenter
    from training.data.dataset import RGBDDataset, create_eval_dataset
    from training.data.synthetic import SyntheticReader
    from training.data.transforms import EvalTransform
    from training.engine import val_loader
    from training.evaluate import evaluate

    segmenter = Segmenter.from_checkpoint(path, device=args.device)
    if args.data == 'synthetic':
        reader = SyntheticReader(0, 'test', tuple(segmenter.meta.input_size),
                                 proto['test_frames'], world=args.world,
                                 cache=str(Path(args.out) / 'frames'), depth=args.depth)
        ds: Any = RGBDDataset(reader, EvalTransform())
    else:
        ds = create_eval_dataset(str(args.root), 'test', tuple(segmenter.meta.input_size),
                                 labels=segmenter.labels)
    scores = evaluate(segmenter, val_loader(ds, 8, 0), progress=False)
    names = segmenter.labels.names
    return {'miou': scores['miou'], 'pixel_acc': scores['pixel_acc'],
            'per_class': {n: (None if math.isnan(v) else float(v))
                          for n, v in zip(names, scores['iou'])}}


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
    """One JSON row per exported model: statistics, paired deltas and per-class IoU."""
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


def _pct(v: float | None, sign: bool = False) -> str:
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
            delta = f'{_pct(r["delta_mean"], True)} ± {_pct(r.get("delta_ci95"))}'
        wall = f'{r["wall_s"] / 60:.1f}' if r['wall_s'] else '-'
        lines.append(f'| {r["label"]} | {_pct(r["miou_mean"])} ± {_pct(r["miou_std"])} | '
                     f'± {_pct(r["miou_ci95"])} | {delta} | {len(r["per_seed"])} | {wall} |')
    gains = [r for r in report['rows'] if r.get('per_class_delta')]
    if gains:
        classes = list(gains[0]['per_class_delta'])
        lines += ['', '| per-class IoU gain vs baseline (points) | ' + ' | '.join(classes)
                  + ' |', '|---|' + '---:|' * len(classes)]
        for r in gains:
            lines.append(f'| {r["label"]} | ' + ' | '.join(
                _pct(r['per_class_delta'][c], True) for c in classes) + ' |')
    if report.get('teachers'):
        lines += ['', '| teacher | val mIoU % (best) | test mIoU % | steps | plateau |',
                  '|---|---:|---:|---:|---|']
        for name, t in report['teachers'].items():
            lines.append(f'| {name} | {_pct(t["best_val"])} | {_pct(t["test_miou"])} | '
                         f'{t["steps"]} | {t["plateau"]} |')
    pre = report.get('pretrain') or {}
    if 'steps' in pre:  # a report written before the depth pretraining: one RGB run
        pre = {PRETRAIN: {**pre, 'stream': 'rgb'}}
    for run, p in pre.items():
        lines += ['', f'{run} ({p["stream"]}, endless stream of rooms, data seed '
                      f'{p["data_seed"]}): {p["steps"]} steps, best val mIoU '
                      f'{_pct(p["best_val"])} %, {p["wall_s"] / 60:.1f} min']
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
            lines.append(f'| {label} | {mod} | {_pct(by[label]["miou_mean"])} |')
    lines += ['', 'CroDiNo-KD (RGB / depth students)', '| Method | RGB mIoU (%) | '
              'Depth mIoU (%) |', '|---|---:|---:|']
    for name, rgb, depth in (('Baseline', 'RGB baseline', 'depth baseline'),
                             ('CMKD (teacher/student)', 'CMKD RGB student',
                              'CMKD depth student'),
                             ('CroDiNo-KD', 'CroDiNo-KD RGB', 'CroDiNo-KD depth')):
        if rgb in by or depth in by:
            lines.append(f'| {name} | {_pct(by.get(rgb, {}).get("miou_mean"))} | '
                         f'{_pct(by.get(depth, {}).get("miou_mean"))} |')
    return '\n'.join(lines)


def run_needs(run: str, pretrain: bool, depth_pretrain: bool = False) -> set[str]:
    """The runs that must have finished before ``run`` starts."""
    needs = {RUNS[run][1]} if RUNS[run][1] else set()
    if pretrain and run not in PRETRAINS:
        needs.add(PRETRAIN)
        if depth_pretrain:
            needs.add(PRETRAIN_DEPTH)
    return needs


def run_order(todo: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """
    The order runs start in: the pretraining, the RGB-D teacher (the longest run, and CMKD
    waits for it), the other teachers, the runs without a teacher, then the distilled runs.
    """
    def key(item: tuple[str, int]) -> tuple[int, int]:
        run, seed = item
        if run in PRETRAINS:
            return (0, PRETRAINS.index(run))
        if run == 'teacher_rgbd':
            return (1, 0)
        if run.startswith('teacher'):
            return (2, 0)
        return (3 if RUNS[run][1] is None else 4, seed)
    return sorted(todo, key=key)


def schedule(todo: list[tuple[str, int]], job: Callable[[str, int], tuple[str, int, float]],
             workers: int, needs: Callable[[str], set[str]]) -> list[tuple[str, int, float]]:
    """
    Run ``job(run, seed)`` for every item on ``workers`` threads, each as soon as the runs in
    ``needs(run)`` have finished (``run_order`` decides among the ready ones). A failed run
    stops the scheduling and is raised once the runs in flight have ended.
    """
    pending = run_order(todo)
    done: set[str] = set()
    results: list[tuple[str, int, float]] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        running: dict[Future, tuple[str, int]] = {}
        while pending or running:
            ready = [it for it in pending if needs(it[0]) <= done]
            while ready and len(running) < workers:
                item = ready.pop(0)
                pending.remove(item)
                running[pool.submit(job, *item)] = item
            if not running:
                missing = sorted(set().union(*(needs(r) for r, _ in pending)) - done)
                raise RuntimeError(f'runs {pending} wait for {missing}, which are not '
                                   'scheduled')
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                running.pop(fut)
                run, seed, secs = fut.result()
                results.append((run, seed, secs))
                if run in PRETRAINS or run.startswith('teacher'):
                    done.add(run)
    return results


def main(argv: list[str] | None = None) -> int:
    """Train teachers, then every method of every seed; print the tables; write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--protocol', default='quick', choices=tuple(PROTOCOLS))
    parser.add_argument('--seeds', default='0,1,2', help='comma-separated seeds (>= 3)')
    parser.add_argument('--methods', default=DEFAULT_METHODS,
                        help='comma-separated subset of '
                        f'{[r for r in RUNS if not r.startswith("teacher")]}')
    parser.add_argument('--data', default='synthetic',
                        help="'synthetic', 'nyu' (needs --root) or a dataset folder")
    parser.add_argument('--root', default='', help='dataset folder for --data nyu')
    parser.add_argument('--world', default='nyu_like', help='synthetic world variant')
    parser.add_argument('--depth', default='raw', choices=('raw', 'filled'),
                        help="synthetic depth to train and test on: 'raw' (the sensor's holes) "
                        "or 'filled' (in-painted guided by the image, as NYU's labelled set; "
                        'it lowered the depth teacher here: docs/results.md)')
    parser.add_argument('--no-pretrain', action='store_true',
                        help='random initialisation instead of the pretrained backbones')
    parser.add_argument('--no-depth-pretrain', action='store_true',
                        help='depth streams start from the RGB pretraining, not their own')
    parser.add_argument('--pretrain-iters', type=int, default=0,
                        help="steps of the RGB pretraining (the depth one keeps the protocol's; "
                        "0: the protocol's)")
    parser.add_argument('--teacher-factor', type=int, default=0,
                        help="teacher budget / student budget, >= 3 (0: the protocol's)")
    parser.add_argument('--teachers', default='',
                        help="comma-separated teachers to train (rgb,depth,rgbd); default: the "
                        'ones the methods need and, on synthetic data, all three (the '
                        "calibration). With --seeds '' a doubling test of some teachers "
                        '(bench/teacher_doubling.py)')
    parser.add_argument('--stream', action='store_true',
                        help='train on an endless stream of new rooms instead of a finite set')
    parser.add_argument('--jobs', type=int, default=1, help='runs trained at once')
    parser.add_argument('--threads', type=int, default=1, help='torch threads per run')
    parser.add_argument('--nproc', type=int, default=1, help='torchrun processes per run')
    parser.add_argument('--out', default=str(REPO / 'runs' / 'bench_methods'),
                        help='run directories (reused when finished)')
    parser.add_argument('--set', action='append', default=[], metavar='KEY=VALUE',
                        help='extra config override for every run')
    parser.add_argument('--variant', default='',
                        help='name of an ablation: the distilled runs get their own folders, '
                        'the baselines and teachers are reused; --set may then only change '
                        f'{VARIANT_KEYS} keys')
    parser.add_argument('--keep-last', action='store_true',
                        help="keep each finished run's last.safetensors (the resume state, with "
                        'the optimiser: 3x the weights; the 10-seed quick folder of '
                        'docs/results.md with its ablations: 43 GB with them, 11 GB without)')
    parser.add_argument('--device', default='cpu', help="evaluation device ('cpu', 'cuda')")
    parser.add_argument('--json', default=str(REPO / 'bench' / 'results' / 'methods.json'))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(name)s: %(message)s')
    if args.data not in ('synthetic', 'nyu'):
        args.root, args.data = args.data, 'nyu'
    if args.data == 'nyu' and not args.root:
        parser.error('--data nyu needs --root DIR (a folder from training.prepare_nyu)')
    if args.variant:
        if not args.variant.replace('_', '').replace('-', '').isalnum():
            parser.error(f'--variant must be a plain name, got {args.variant!r}')
        bad = [s for s in args.set if not s.startswith(VARIANT_KEYS)]
        if bad:
            parser.error(f'--variant shares the baselines, so --set may only change '
                         f'{VARIANT_KEYS} keys; got {bad}')
    seeds = [int(s) for s in args.seeds.split(',') if s]
    methods = [m for m in args.methods.split(',') if m]
    unknown = [m for m in methods if m not in RUNS or m.startswith('teacher')]
    if unknown:
        parser.error(f'unknown methods {unknown}')
    try:
        proto, suffix = protocol(args)
    except ValueError as e:
        parser.error(str(e))
    name = f'{args.protocol}_{args.world}' if args.data == 'synthetic' else f'{args.protocol}_nyu'
    if args.data == 'synthetic' and args.depth != 'raw':
        name += f'_{args.depth}'
    if args.data == 'synthetic' and args.no_depth_pretrain and not args.no_pretrain:
        name += '_rgbinit'
    root = Path(args.out) / (name + suffix)
    args.out = str(root)
    teachers = sorted({RUNS[m][1] for m in methods if RUNS[m][1]})
    if args.teachers:
        asked = {t if t.startswith('teacher_') else f'teacher_{t}'
                 for t in args.teachers.split(',') if t}
        bad = sorted(t for t in asked if t not in RUNS)
        if bad:
            parser.error(f'unknown teachers {bad}; choose from rgb, depth, rgbd')
        teachers = sorted(asked | (set(teachers) if seeds else set()))
    elif args.data == 'synthetic':
        teachers = sorted(set(teachers) | {'teacher_rgb', 'teacher_depth', 'teacher_rgbd'})
    seconds: dict[str, dict[int, float]] = {}

    def job(run: str, seed: int) -> tuple[str, int, float]:
        teacher_run = RUNS[run][1]
        teacher = (root / 'teachers' / teacher_run / 'model.safetensors'
                   if teacher_run else None)
        if run in PRETRAINS:
            out = root / run
        elif run.startswith('teacher'):
            out = root / 'teachers' / run
        else:
            out = root / f'seed{seed}' / run_dir(run, args.variant)
        print(f'training {run} (seed {seed}) ...', flush=True)
        secs = train_run(run, seed, out, args, proto, teacher)
        if run in PRETRAINS:
            stream = PRETRAIN_STREAM[run]
            if not pretrained_backbone(args, stream).exists():
                from training.export_backbone import export_backbone
                export_backbone(out / 'model.safetensors', pretrained_backbone(args, stream),
                                stream)
        return run, seed, secs

    if args.data == 'synthetic':
        # imported here, in the main thread, before the jobs' threads: cv2's loader swaps its
        # own sys.modules entry and sys.path while it imports, and once failed with "No module
        # named 'cv2'" when a job's thread imported it first (run_fingerprint)
        import rgbd_seg_ros.sim  # noqa: F401
    t_start = time.perf_counter()
    pretrain, depth_pretrain = uses_pretraining(args), uses_depth_pretraining(args)
    pretrains = [r for r, on in ((PRETRAIN, pretrain), (PRETRAIN_DEPTH, depth_pretrain)) if on]
    todo = [(r, TEACHER_SEED) for r in pretrains] + [
        (t, TEACHER_SEED) for t in teachers] + [(m, s) for s in seeds for m in methods]
    for run, seed, s in schedule(todo, job, max(1, args.jobs),
                                 lambda r: run_needs(r, pretrain, depth_pretrain)):
        seconds.setdefault(run, {})[seed] = s
    scores: dict[str, dict[int, Any]] = {}
    for seed in seeds:
        for m in methods:
            for export in RUNS[m][2]:
                path = root / f'seed{seed}' / run_dir(m, args.variant) / f'{export}.safetensors'
                scores.setdefault(f'{m}/{export}', {})[seed] = test_scores(path, args, proto)
    teacher_info = {}
    for t in teachers:
        out = root / 'teachers' / t
        curve = val_curve(out).get('model', [])
        test = test_scores(out / 'model.safetensors', args, proto)
        teacher_info[t] = {
            'test_miou': test['miou'], 'per_class': test['per_class'],
            'best_val': max((v for _, v in curve), default=None),
            'steps': curve[-1][0] if curve else None, 'val_curve': curve,
            'plateau': plateaued(curve), 'wall_s': seconds[t][TEACHER_SEED],
        }
    pretrain_info: dict[str, Any] = {}
    for run in pretrains:
        curve = val_curve(root / run).get('model', [])
        stream = PRETRAIN_STREAM[run]
        pretrain_info[run] = {
            'stream': stream, 'steps': pretrain_iters(proto, run),
            'data_seed': PRETRAIN_DATA_SEED,
            'val_curve': curve, 'best_val': max((v for _, v in curve), default=None),
            'wall_s': seconds[run][TEACHER_SEED],
            'backbone': str(pretrained_backbone(args, stream))}
    calibration = None
    if {'teacher_rgb', 'teacher_depth', 'teacher_rgbd'} <= set(teacher_info):
        rgb = teacher_info['teacher_rgb']['test_miou']
        calibration = {
            'depth_over_rgb': teacher_info['teacher_depth']['test_miou'] / max(rgb, 1e-9),
            'rgbd_over_rgb': teacher_info['teacher_rgbd']['test_miou'] / max(rgb, 1e-9),
        }
    report = {
        'protocol': {'name': args.protocol, **{k: v for k, v in proto.items() if k != 'sets'},
                     'data': args.data, 'world': args.world if args.data == 'synthetic' else None,
                     'depth': args.depth if args.data == 'synthetic' else None,
                     'finite_train_set': not args.stream, 'pretrained': pretrain,
                     'depth_pretrained': depth_pretrain,
                     'seeds': seeds, 'variant': args.variant,
                     'teacher_seed': TEACHER_SEED, 'jobs': args.jobs, 'threads': args.threads,
                     'extra_sets': list(args.set) + list(proto.get('sets', ()))},
        'rows': build_rows(methods, seeds, scores, seconds),
        'pretrain': pretrain_info or None, 'teachers': teacher_info, 'calibration': calibration,
        'wall_s_total': time.perf_counter() - t_start,
        'platform': platform.platform(), 'software': software_versions(),
        'load_average_end': os.getloadavg(),
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2), encoding='utf-8')
    print(format_tables(report))
    print()
    print(format_paper_tables(report))
    return 0


if __name__ == '__main__':
    sys.exit(main())
