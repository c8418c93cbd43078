# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Training-step throughput per method, and the distillation overhead.

For each method the task is built as ``training.train`` builds it (teachers with random weights:
their cost does not depend on what they learnt) and timed on a fixed synthetic batch: forward,
losses, backward and the AdamW step, after warm-up steps. Data loading is not included (the
synthetic renderer is timed by ``bench/sim.py``). The overhead of a distillation method is its
step time divided by the step time of supervised training of the same student (for CroDiNo-KD:
of the two supervised single-modality trainings together, which it replaces).

    python bench/train_step.py [--config training/configs/synthetic_rgb.yaml] [--steps 10]
        [--batch-size 8] [--size 96x128] [--device cpu] [--threads 1] [--json PATH]
"""

from __future__ import annotations

import argparse
from dataclasses import replace
import json
import os
from pathlib import Path
import platform
import statistics
import sys
import time

from common import REPO  # noqa: E402 - bench/common.py: the repository on sys.path
import torch  # noqa: E402

# name -> (method, model overrides, student baseline names for the overhead)
METHODS = {
    'supervised_rgb': ('supervised', dict(arch='single', modality='rgb'), ()),
    'supervised_depth': ('supervised', dict(arch='single', modality='hha'), ()),
    'supervised_rgbd': ('supervised', dict(arch='fusion'), ()),
    'primkd': ('primkd', dict(arch='fusion'), ('supervised_rgbd',)),
    'cmkd_rgb': ('cmkd', dict(arch='single', modality='rgb'), ('supervised_rgb',)),
    'cmkd_depth': ('cmkd', dict(arch='single', modality='hha'), ('supervised_depth',)),
    'crodino': ('crodino', dict(arch='single', modality='rgb'),
                ('supervised_rgb', 'supervised_depth')),
}


def _parse_size(text: str) -> tuple[int, int]:
    h, w = (int(v) for v in text.lower().split('x'))
    return h, w


def _batch(b: int, h: int, w: int, device: str) -> dict[str, torch.Tensor]:
    from training.data import create_dataset
    from training.data.config import DataConfig
    from training.loader import PositionDataset

    data = DataConfig(size=(h, w), crop_size=(h, w), scales=(1.0,), decoupled=True,
                      validate=False)
    ds = PositionDataset(create_dataset(data, 'train'), seed=0)
    samples = [ds[i] for i in range(b)]
    batch = torch.utils.data.default_collate(samples)
    return {key: v.to(device) for key, v in batch.items() if isinstance(v, torch.Tensor)}


def _task(name: str, cfg, device: str):
    from rgbd_seg_ros.core.models import create_model
    from training.methods import CrodinoTask, CrossModalKDTask, PrimKDTask, SupervisedTask

    method, overrides, _ = METHODS[name]
    model_cfg = replace(cfg.model, **overrides)
    if method == 'supervised':
        task = SupervisedTask(create_model(model_cfg))
    elif method == 'primkd':
        teacher = create_model(replace(cfg.model, arch='single', modality='rgb'))
        task = PrimKDTask(create_model(model_cfg), teacher, cfg.distill)
    elif method == 'cmkd':
        teacher = create_model(replace(cfg.model, arch='fusion', modality='rgb'))
        distill = replace(cfg.distill, feat_select='mean', mgd_weight=1.0,
                          kl_exclude_ignore=True)
        task = CrossModalKDTask(create_model(model_cfg), teacher, distill)
    else:
        rgb = create_model(replace(model_cfg, modality='rgb'))
        depth = create_model(replace(model_cfg, modality=cfg.model.depth_modality))
        task = CrodinoTask(rgb, depth, cfg.crodino)
    return task.to(device).train()


def _time_steps(task, batch, steps: int, warmup: int, device: str,
                amp: bool = False) -> list[float]:
    import contextlib

    from training.config import OptimConfig
    from training.optim import create_optimizer

    opt = create_optimizer(task, OptimConfig(lr=1e-4))
    scaler = torch.amp.GradScaler('cuda', enabled=amp)
    times = []
    for i in range(warmup + steps):
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        ctx = (torch.autocast('cuda', dtype=torch.float16) if amp
               else contextlib.nullcontext())
        with ctx:
            out = task(batch)
        scaler.scale(out['loss']).backward()
        scaler.step(opt)
        scaler.update()
        opt.zero_grad(set_to_none=True)
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return times


def main(argv: list[str] | None = None) -> int:
    """Time every method; print a table and write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', default=str(REPO / 'training/configs/synthetic_rgb.yaml'),
                        help='config whose model/distill/crodino sections are used')
    parser.add_argument('--methods', default=','.join(METHODS), help='comma-separated subset')
    parser.add_argument('--steps', type=int, default=10, help='timed steps per method')
    parser.add_argument('--warmup', type=int, default=2, help='untimed steps first')
    parser.add_argument('--batch-size', type=int, default=8, help='images per step')
    parser.add_argument('--size', default='96x128', help='crop HxW')
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda'")
    parser.add_argument('--threads', type=int, default=1, help='torch CPU threads')
    parser.add_argument('--amp', action='store_true',
                        help='fp16 autocast + GradScaler (CUDA only)')
    parser.add_argument('--json', default=str(REPO / 'bench/results/train_step.json'),
                        help='output JSON path')
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.amp and not args.device.startswith('cuda'):
        parser.error('--amp needs --device cuda')
    from training.config_io import load_config

    cfg = load_config(args.config)
    h, w = _parse_size(args.size)
    names = [n for n in args.methods.split(',') if n]
    unknown = [n for n in names if n not in METHODS]
    if unknown:
        parser.error(f'unknown methods {unknown}; known: {list(METHODS)}')
    batch = _batch(args.batch_size, h, w, args.device)
    results = {}
    for name in names:
        torch.manual_seed(0)
        task = _task(name, cfg, args.device)
        times = _time_steps(task, batch, args.steps, args.warmup, args.device, args.amp)
        med = statistics.median(times)
        results[name] = {
            'step_s_median': med,
            'step_s_min': min(times),
            'images_per_s': args.batch_size / med,
            'trainable_params': sum(p.numel() for p in task.parameters() if p.requires_grad),
        }
        print(f'{name:18s} {med * 1000:8.1f} ms/step  {args.batch_size / med:6.1f} img/s',
              flush=True)
        del task
    for name in names:
        base = METHODS[name][2]
        if base and all(b in results for b in base):
            ref = sum(results[b]['step_s_median'] for b in base)
            results[name]['overhead_vs'] = list(base)
            results[name]['overhead'] = results[name]['step_s_median'] / ref
    header = '| method | ms/step | images/s | overhead vs student-only | params |'
    lines = [header, '|---|---:|---:|---:|---:|']
    for name in names:
        r = results[name]
        over = (f'{r["overhead"]:.2f}x ({" + ".join(r["overhead_vs"])})'
                if 'overhead' in r else '-')
        lines.append(f'| {name} | {r["step_s_median"] * 1000:.0f} | {r["images_per_s"]:.1f} '
                     f'| {over} | {r["trainable_params"] / 1e6:.2f} M |')
    print('\n'.join(lines))
    report = {
        'config': args.config, 'batch_size': args.batch_size, 'size': [h, w],
        'device': args.device, 'threads': args.threads, 'steps': args.steps, 'amp': args.amp,
        'backbone': cfg.model.backbone, 'platform': platform.platform(),
        'load_average': os.getloadavg(), 'torch': torch.__version__, 'methods': results,
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2), encoding='utf-8')
    return 0


if __name__ == '__main__':
    sys.exit(main())
