# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Gradient share of each loss term of a training method: why a distilled student trains slower.

For a method config (and its teacher), builds the task as ``training.train`` does, optionally
loads the student's weights from a checkpoint (to measure later in training, e.g. the trained
baseline of the same student), and on ``--batches`` training batches back-propagates every
*weighted* loss term alone. It reports, per term, the L2 norm of its gradient on the student's
parameters, that norm relative to the cross-entropy's, and the cosine between the term's gradient
and the cross-entropy gradient (negative: the term pulls against the labels).

With ``optim.grad_clip`` the whole gradient is rescaled to that norm, so a term with a large
norm also shrinks the cross-entropy's step.

    python bench/grad_share.py --config training/configs/synthetic_cmkd_rgb.yaml \
        --teacher runs/x/rgbd/model.safetensors [--init runs/x/rgb/model.safetensors] \
        [--batches 4] [--set KEY=VALUE ...] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import statistics
import sys

import torch


def _flat_grad(loss: torch.Tensor, params: list[torch.nn.Parameter]) -> torch.Tensor:
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    return torch.cat([
        (g if g is not None else torch.zeros_like(p)).reshape(-1) for g, p in zip(grads, params)
    ])


def main(argv: list[str] | None = None) -> int:
    """Print the per-term gradient table; write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', required=True, help='training config (a distillation one)')
    parser.add_argument('--teacher', default='', help='teacher bundle (distill.teacher)')
    parser.add_argument('--init', default='', help='checkpoint whose weights the student loads')
    parser.add_argument('--batches', type=int, default=4, help='training batches to average')
    parser.add_argument('--set', action='append', default=[], metavar='KEY=VALUE')
    parser.add_argument('--json', default='', help='output JSON path (optional)')
    args = parser.parse_args(argv)
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', '1')))

    from rgbd_seg_ros.core.checkpoint import load_checkpoint
    from training.config_io import load_config
    from training.data import create_dataset
    from training.loader import PositionDataset
    from training.methods import create_task

    sets = list(args.set) + ([f'distill.teacher={args.teacher}'] if args.teacher else [])
    cfg = load_config(args.config, sets)
    torch.manual_seed(cfg.train.seed)
    task = create_task(cfg)
    students = task.students()
    if args.init:
        if len(students) != 1:
            parser.error('--init needs a method with one student')
        model, _ = load_checkpoint(args.init)
        next(iter(students.values())).load_state_dict(model.state_dict())
    task.train()
    params = [p for s in students.values() for p in s.parameters() if p.requires_grad]
    data = PositionDataset(create_dataset(cfg.data, 'train'), seed=cfg.train.seed)
    b = cfg.train.batch_size
    per_term: dict[str, dict[str, list[float]]] = {}
    for i in range(args.batches):
        samples = [data[i * b + j] for j in range(b)]
        batch = {k: v for k, v in torch.utils.data.default_collate(samples).items()
                 if isinstance(v, torch.Tensor)}
        parts = task(batch)
        names = [n for n in parts if n != 'loss']
        grads = {n: _flat_grad(parts[n], params) for n in names}
        ce_name = 'ce' if 'ce' in grads else names[0]
        ce = grads[ce_name]
        for n, g in grads.items():
            row = per_term.setdefault(n, {'value': [], 'grad_norm': [], 'cos_ce': []})
            row['value'].append(float(parts[n].detach()))
            row['grad_norm'].append(float(g.norm()))
            row['cos_ce'].append(float(torch.nn.functional.cosine_similarity(g, ce, dim=0)))
        total = sum(grads.values())
        per_term.setdefault('total', {'value': [], 'grad_norm': [], 'cos_ce': []})
        per_term['total']['value'].append(float(parts['loss'].detach()))
        per_term['total']['grad_norm'].append(float(total.norm()))
        per_term['total']['cos_ce'].append(
            float(torch.nn.functional.cosine_similarity(total, ce, dim=0)))
    ce_norm = statistics.fmean(per_term[ce_name]['grad_norm'])
    summary = {
        n: {'value': statistics.fmean(r['value']), 'grad_norm': statistics.fmean(r['grad_norm']),
            'norm_vs_ce': statistics.fmean(r['grad_norm']) / ce_norm,
            'cos_ce': statistics.fmean(r['cos_ce'])}
        for n, r in per_term.items()
    }
    print(f'{Path(args.config).name} init={args.init or "random"} batches={args.batches}')
    print(f'{"term":8s} {"weighted loss":>13s} {"|grad|":>9s} {"vs CE":>7s} {"cos(CE)":>8s}')
    for n, r in summary.items():
        print(f'{n:8s} {r["value"]:13.4f} {r["grad_norm"]:9.4f} {r["norm_vs_ce"]:7.2f} '
              f'{r["cos_ce"]:8.3f}')
    clip = cfg.optim.grad_clip
    if clip > 0:
        scale = min(1.0, clip / summary['total']['grad_norm'])
        print(f'grad_clip {clip}: the step is scaled by {scale:.2f} (CE alone: '
              f'{min(1.0, clip / ce_norm):.2f})')
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({
            'config': args.config, 'teacher': args.teacher, 'init': args.init,
            'batches': args.batches, 'sets': args.set, 'terms': summary,
        }, indent=2), encoding='utf-8')
    return 0


if __name__ == '__main__':
    sys.exit(main())
