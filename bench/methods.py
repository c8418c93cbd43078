# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Every training method on the synthetic world: test mIoU (mean ± std over seeds) and wall-clock.

Per seed, in one process and in order (teachers first):

==============  ===========================================  =================================
run             config                                       teacher
==============  ===========================================  =================================
rgb             synthetic_rgb.yaml                           -
depth           synthetic_depth.yaml                         -
rgbd            synthetic_rgbd.yaml                          -
primkd          synthetic_primkd.yaml                        rgb
primkd_depth    synthetic_primkd.yaml                        depth (PrimKD Table 1 variant)
cmkd_rgb        synthetic_cmkd_rgb.yaml                      rgbd
cmkd_depth      synthetic_cmkd_depth.yaml                    rgbd
crodino         synthetic_crodino.yaml (shared geometry,     -
                MixUp on)
crodino_indep   synthetic_crodino.yaml, independent          -
                geometry, MixUp off
==============  ===========================================  =================================

Seed ``s`` sets ``train.seed`` and ``data.synthetic_seed`` (initialisation, augmentation and the
training/validation frames); every model is tested on the same fixed synthetic test split through
``training.evaluate`` (the deployment path), models that read depth also with depth missing.
Wall-clock includes validation during training and, for the distillation methods, the teacher's
training. Finished runs are reused (delete ``--out`` to start over).

    python bench/methods.py [--quick] [--seeds 0,1,2] [--runs rgb,primkd,...] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path
import platform
import statistics
import sys
import time
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

os.environ.setdefault('HF_HUB_OFFLINE', '1')

CONFIGS = REPO / 'training' / 'configs'

# run -> (config file, teacher run or None, extra overrides, exported checkpoints)
RUNS: dict[str, tuple[str, str | None, tuple[str, ...], tuple[str, ...]]] = {
    'rgb': ('synthetic_rgb.yaml', None, (), ('model',)),
    'depth': ('synthetic_depth.yaml', None, (), ('model',)),
    'rgbd': ('synthetic_rgbd.yaml', None, (), ('model',)),
    'primkd': ('synthetic_primkd.yaml', 'rgb', (), ('model',)),
    'primkd_depth': ('synthetic_primkd.yaml', 'depth', (), ('model',)),
    'cmkd_rgb': ('synthetic_cmkd_rgb.yaml', 'rgbd', (), ('model',)),
    'cmkd_depth': ('synthetic_cmkd_depth.yaml', 'rgbd', (), ('model',)),
    'crodino': ('synthetic_crodino.yaml', None, (), ('rgb', 'depth')),
    'crodino_indep': ('synthetic_crodino.yaml', None,
                      ("data.decoupled_geometry='independent'", 'crodino.mixup=False'),
                      ('rgb', 'depth')),
}

# table row -> (run, checkpoint, baseline row it should beat)
ROWS: dict[str, tuple[str, str, str | None]] = {
    'RGB baseline': ('rgb', 'model', None),
    'depth baseline': ('depth', 'model', None),
    'RGB-D fusion baseline': ('rgbd', 'model', None),
    'PrimKD fusion': ('primkd', 'model', 'RGB-D fusion baseline'),
    'PrimKD fusion, depth teacher': ('primkd_depth', 'model', 'RGB-D fusion baseline'),
    'CMKD RGB student': ('cmkd_rgb', 'model', 'RGB baseline'),
    'CMKD depth student': ('cmkd_depth', 'model', 'depth baseline'),
    'CroDiNo-KD RGB': ('crodino', 'rgb', 'RGB baseline'),
    'CroDiNo-KD depth': ('crodino', 'depth', 'depth baseline'),
    'CroDiNo-KD RGB (indep. geometry)': ('crodino_indep', 'rgb', 'RGB baseline'),
    'CroDiNo-KD depth (indep. geometry)': ('crodino_indep', 'depth', 'depth baseline'),
}

# wall-clock of a method = its run plus the runs it needs first
PIPELINES = {
    'rgb': ('rgb',), 'depth': ('depth',), 'rgbd': ('rgbd',), 'primkd': ('rgb', 'primkd'),
    'primkd_depth': ('depth', 'primkd_depth'),
    'cmkd_rgb': ('rgbd', 'cmkd_rgb'), 'cmkd_depth': ('rgbd', 'cmkd_depth'),
    'cmkd_rgb+depth': ('rgbd', 'cmkd_rgb', 'cmkd_depth'), 'crodino': ('crodino',),
    'crodino_indep': ('crodino_indep',),
}


def _train(name: str, seed: int, out: Path, teacher: Path | None, quick: bool,
           overrides: list[str]) -> float:
    """Train one run (or reuse a finished one); returns its wall-clock seconds."""
    from training.config import load_config
    from training.train import main as train_main

    config, _, extra, exports = RUNS[name]
    stamp = out / 'bench_time.json'
    if stamp.exists() and all((out / f'{e}.safetensors').exists() for e in exports):
        return float(json.loads(stamp.read_text())['seconds'])
    sets = [f'train.seed={seed}', f'data.synthetic_seed={seed}', *extra, *overrides]
    if teacher is not None:
        sets.append(f'distill.teacher={teacher}')
    if quick:
        cfg = load_config(str(CONFIGS / config), sets)
        iters = max(20, cfg.train.max_iters // 2)
        sets += [f'train.max_iters={iters}', f'train.eval_every={max(10, iters // 2)}',
                 f'train.checkpoint_every={iters}',
                 f'optim.warmup_iters={min(cfg.optim.warmup_iters, iters // 5)}']
    argv = ['--config', str(CONFIGS / config), '--out', str(out)]
    for item in sets:
        argv += ['--set', item]
    if (out / 'last.safetensors').exists():
        argv.append('--resume')
    t0 = time.perf_counter()
    rc = train_main(argv)
    seconds = time.perf_counter() - t0
    if rc != 0:
        raise RuntimeError(f'training {name} (seed {seed}) failed with exit status {rc}')
    stamp.write_text(json.dumps({'seconds': seconds}), encoding='utf-8')
    return seconds


def _test(path: Path, images: int, device: str) -> dict[str, Any]:
    """Test-split scores of a checkpoint (and with depth missing, for depth models)."""
    from torch.utils.data import Subset

    from rgbd_seg_ros.core.inference import Segmenter
    from training.data import create_eval_dataset
    from training.engine import val_loader
    from training.evaluate import evaluate

    segmenter = Segmenter.from_checkpoint(path, device=device)
    ds = create_eval_dataset('synthetic', 'test', tuple(segmenter.meta.input_size),
                             labels=segmenter.labels, synthetic_length=images)
    ds = Subset(ds, range(min(images, len(ds))))
    scores = evaluate(segmenter, val_loader(ds, 8, 0), progress=False)
    out = {'miou': scores['miou'], 'pixel_acc': scores['pixel_acc']}
    if segmenter.needs_depth:
        missing = evaluate(segmenter, val_loader(ds, 8, 0), depth_dropout=1.0, progress=False)
        out['miou_depth_missing'] = missing['miou']
    return out


def _mean_std(values: list[float]) -> tuple[float, float]:
    if not values:
        return float('nan'), float('nan')
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def _report(seeds: list[int], scores: dict[str, dict[int, dict[str, Any]]],
            seconds: dict[str, dict[int, float]], args: argparse.Namespace,
            images: int) -> str:
    """Tables over the seeds done so far; writes the JSON and returns the text."""
    rows = {}
    for row, (run, export, baseline) in ROWS.items():
        key = f'{run}/{export}'
        if key not in scores:
            continue
        per_seed = scores[key]
        miou = [per_seed[s]['miou'] for s in seeds if s in per_seed]
        acc = [per_seed[s]['pixel_acc'] for s in seeds if s in per_seed]
        missing = [per_seed[s]['miou_depth_missing'] for s in seeds
                   if s in per_seed and 'miou_depth_missing' in per_seed[s]]
        rows[row] = {
            'run': run, 'export': export, 'baseline': baseline,
            'miou': _mean_std(miou), 'pixel_acc': _mean_std(acc),
            'miou_depth_missing': _mean_std(missing) if missing else None,
            'miou_per_seed': miou,
        }
    pipelines = {}
    for name, parts in PIPELINES.items():
        if all(p in seconds and all(s in seconds[p] for s in seeds) for p in parts):
            totals = [sum(seconds[p][s] for p in parts) for s in seeds]
            pipelines[name] = {'runs': list(parts), 'seconds': _mean_std(totals)}

    lines = ['| model | test mIoU (mean ± std) | vs baseline | pixel acc | mIoU, depth missing |',
             '|---|---:|---:|---:|---:|']
    for row, r in rows.items():
        m, s = r['miou']
        delta = ''
        if r['baseline'] in rows:
            delta = f'{(m - rows[r["baseline"]]["miou"][0]) * 100:+.1f}'
        dm = r['miou_depth_missing']
        dm_text = f'{dm[0] * 100:.1f} ± {dm[1] * 100:.1f}' if dm else '-'
        lines.append(f'| {row} | {m * 100:.1f} ± {s * 100:.1f} | {delta} | '
                     f'{r["pixel_acc"][0] * 100:.1f} | {dm_text} |')
    lines += ['', '| training pipeline | runs | wall-clock min (mean ± std) |', '|---|---|---:|']
    for name, p in pipelines.items():
        m, s = p['seconds']
        lines.append(f'| {name} | {" + ".join(p["runs"])} | {m / 60:.1f} ± {s / 60:.1f} |')
    report = {
        'seeds': seeds, 'quick': args.quick, 'test_images': images,
        'platform': platform.platform(), 'load_average_end': os.getloadavg(),
        'omp_num_threads': os.environ.get('OMP_NUM_THREADS'),
        'rows': rows, 'pipelines': pipelines,
        'seconds': {r: {str(s): v for s, v in d.items()} for r, d in seconds.items()},
        'scores': {k: {str(s): v for s, v in d.items()} for k, d in scores.items()},
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2), encoding='utf-8')
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> int:
    """Train and test every run for every seed; print the tables; write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--seeds', default='0,1,2', help='comma-separated seeds (>= 3 for std)')
    parser.add_argument('--runs', default=','.join(RUNS), help='comma-separated subset')
    parser.add_argument('--quick', action='store_true',
                        help='half the configured iterations, 100 test images')
    parser.add_argument('--test-images', type=int, default=0,
                        help='synthetic test images (default 200, --quick 100)')
    parser.add_argument('--out', default=str(REPO / 'runs' / 'bench_methods'),
                        help='run directories (reused when finished)')
    parser.add_argument('--set', action='append', default=[], metavar='KEY=VALUE',
                        help='extra config override for every run (e.g. a tiny smoke test)')
    parser.add_argument('--device', default='cpu', help="evaluation device ('cpu', 'cuda')")
    parser.add_argument('--json', default=str(REPO / 'bench' / 'results' / 'methods.json'),
                        help='output JSON path')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(name)s: %(message)s')
    seeds = [int(s) for s in args.seeds.split(',') if s]
    runs = [r for r in args.runs.split(',') if r]
    unknown = [r for r in runs if r not in RUNS]
    if unknown:
        parser.error(f'unknown runs {unknown}; known: {list(RUNS)}')
    needed = list(dict.fromkeys(t for r in runs for t in (RUNS[r][1], r) if t is not None))
    images = args.test_images or (100 if args.quick else 200)
    root = Path(args.out) / ('quick' if args.quick else 'full')
    seconds: dict[str, dict[int, float]] = {r: {} for r in needed}
    scores: dict[str, dict[int, dict[str, Any]]] = {}
    for seed in seeds:
        for run in needed:
            teacher_run = RUNS[run][1]
            teacher = (root / f'seed{seed}' / teacher_run / 'model.safetensors'
                       if teacher_run else None)
            out = root / f'seed{seed}' / run
            seconds[run][seed] = _train(run, seed, out, teacher, args.quick, args.set)
            for export in RUNS[run][3]:
                key = f'{run}/{export}'
                scores.setdefault(key, {})[seed] = _test(out / f'{export}.safetensors', images,
                                                         args.device)
                print(f'seed {seed} {key}: {scores[key][seed]} '
                      f'({seconds[run][seed] / 60:.1f} min)', flush=True)

        done = seeds[: seeds.index(seed) + 1]
        print(f'after seed(s) {done}:\n' + _report(done, scores, seconds, args, images),
              flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
