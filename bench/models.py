# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Model cost: parameters, FLOPs, latency and peak memory per model type and backbone.

For each (backbone, model type) a fresh worker process builds the model (random weights) and
measures, at each input size:

- ``gflops``: ``torch.utils.flop_counter.FlopCounterMode`` (multiply-add = 2 FLOPs; convs,
  matmuls and attention only) of one forward pass, batch 1;
- ``cpu_ms``: median wall time (``cpu_min_ms``: the minimum, in the JSON) of the network
  forward (normalised inputs ready) under ``torch.inference_mode()`` with ``--threads``
  threads, and ``e2e_ms`` (``e2e_min_ms``): the same for
  ``Segmenter.predict`` (resize, HHA for fusion models, normalisation, network, upsampling,
  argmax) on a uint8/float32 frame of that size;
- ``peak_rss_mib``: the worker's peak resident memory (model, torch runtime and activations),
  and ``act_mib``: its growth over the resident size after building the model (sizes run in
  ascending order, so each figure is the peak up to that size);
- on CUDA (when present): ``cuda_ms`` fp32 and ``cuda_fp16_ms`` of the forward (batch 1), and
  ``cuda_peak_mib`` = ``torch.cuda.max_memory_allocated`` during the fp32 forward.

Wall-clock figures depend on what else runs on the machine (the load average is recorded).

    python bench/models.py [--backbones resnet18,convnext_atto] [--types single_rgb,fusion_cmx]
        [--sizes 240x320,480x640] [--threads 2] [--repeats 5] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import platform
import resource
import statistics
import subprocess
import sys
import time

REPO = Path(__file__).resolve().parents[1]

# name -> ModelConfig overrides (arch, modality, decoder, fusion, embed_dim).
MODEL_TYPES = {
    'single_rgb': dict(arch='single', modality='rgb', decoder='segformer', embed_dim=256),
    'single_rgb_light': dict(arch='single', modality='rgb', decoder='light', embed_dim=64),
    'fusion_cmx': dict(arch='fusion', fusion='cmx', decoder='segformer', embed_dim=256),
    'fusion_se_add_light': dict(arch='fusion', fusion='se_add', decoder='light', embed_dim=64),
}
DEFAULT_BACKBONES = ('resnet18', 'convnext_atto', 'mobilenetv3_large_100', 'pvt_v2_b0')
NUM_CLASSES = 40


def _parse_size(text: str) -> tuple[int, int]:
    h, w = (int(v) for v in text.lower().split('x'))
    return h, w


def _rss_mib() -> float:
    with open('/proc/self/statm') as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf('SC_PAGE_SIZE') / 2**20


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _timed_ms(fn, repeats: int, sync=None) -> tuple[float, float]:
    """(median, minimum) wall time of ``fn`` in ms after two warm-up calls."""
    for _ in range(2):
        fn()
    if sync:
        sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), min(times)


def _worker(spec: dict) -> dict:
    """Measure one model in this (fresh) process; returns the JSON record."""
    import numpy as np
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from rgbd_seg_ros.core.camera import CameraIntrinsics
    from rgbd_seg_ros.core.checkpoint import CheckpointMeta
    from rgbd_seg_ros.core.inference import Segmenter
    from rgbd_seg_ros.core.labels import NYU40
    from rgbd_seg_ros.core.models import MODALITY_CHANNELS, ModelConfig, create_model

    torch.set_num_threads(spec['threads'])
    torch.manual_seed(0)
    cfg = ModelConfig(backbone=spec['backbone'], num_classes=NUM_CLASSES,
                      **MODEL_TYPES[spec['type']])
    model = create_model(cfg).eval()
    params = sum(p.numel() for p in model.parameters())
    record = {'backbone': spec['backbone'], 'type': spec['type'], 'params_m': params / 1e6,
              'sizes': {}}
    rss_model = _rss_mib()
    for h, w in spec['sizes']:
        x = {m: torch.randn(1, MODALITY_CHANNELS[m], h, w) for m in cfg.modalities}
        row: dict = {}
        with torch.inference_mode():
            counter = FlopCounterMode(display=False)
            with counter:
                model(x)
            row['gflops'] = counter.get_total_flops() / 1e9
            row['cpu_ms'], row['cpu_min_ms'] = _timed_ms(lambda x=x: model(x), spec['repeats'])
        seg = Segmenter(model, CheckpointMeta(model=cfg, labels=NYU40, input_size=(h, w)))
        rng = np.random.default_rng(0)
        rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        depth = rng.uniform(0.5, 5.0, (h, w)).astype(np.float32)
        intr = CameraIntrinsics(0.8 * w, 0.8 * w, (w - 1) / 2, (h - 1) / 2, w, h)
        row['e2e_ms'], row['e2e_min_ms'] = _timed_ms(
            lambda s=seg, a=rgb, d=depth, k=intr: s.predict(a, d, k), spec['repeats'])
        row['peak_rss_mib'] = _peak_rss_mib()
        row['act_mib'] = max(0.0, row['peak_rss_mib'] - rss_model)
        if torch.cuda.is_available():
            dev = torch.device('cuda')
            model.to(dev)
            xc = {k: v.to(dev) for k, v in x.items()}
            sync = torch.cuda.synchronize
            with torch.inference_mode():
                torch.cuda.reset_peak_memory_stats(dev)
                base = torch.cuda.memory_allocated(dev)
                row['cuda_ms'], _ = _timed_ms(lambda xc=xc: model(xc), spec['repeats'] * 4, sync)
                row['cuda_peak_mib'] = (torch.cuda.max_memory_allocated(dev) - base) / 2**20
                with torch.autocast('cuda', dtype=torch.float16):
                    row['cuda_fp16_ms'], _ = _timed_ms(lambda xc=xc: model(xc),
                                                       spec['repeats'] * 4, sync)
            model.to('cpu')
        record['sizes'][f'{h}x{w}'] = row
    return record


def _run_worker(spec: dict) -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE='1', OMP_NUM_THREADS=str(spec['threads']))
    env['PYTHONPATH'] = str(REPO) + (os.pathsep + env['PYTHONPATH'] if env.get('PYTHONPATH')
                                     else '')
    out = subprocess.run([sys.executable, __file__, '--worker', json.dumps(spec)], env=env,
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f'worker for {spec} failed:\n{out.stderr[-3000:]}')
    return json.loads(out.stdout.strip().splitlines()[-1])


def _table(records: list[dict], sizes: list[str]) -> str:
    cols = ['backbone', 'type', 'params_m']
    per_size = ['gflops', 'cpu_ms', 'e2e_ms', 'act_mib', 'peak_rss_mib']
    cuda = any('cuda_ms' in r['sizes'][s] for r in records for s in sizes)
    if cuda:
        per_size += ['cuda_ms', 'cuda_fp16_ms', 'cuda_peak_mib']
    head = cols + [f'{k}@{s}' for s in sizes for k in per_size]
    rows = []
    for r in records:
        row = [r['backbone'], r['type'], f"{r['params_m']:.2f}"]
        for s in sizes:
            for k in per_size:
                v = r['sizes'][s].get(k)
                row.append('-' if v is None else f'{v:.1f}' if v >= 10 else f'{v:.2f}')
        rows.append(row)
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    lines = [' | '.join(h.ljust(w) for h, w in zip(head, widths)),
             '-|-'.join('-' * w for w in widths)]
    lines += [' | '.join(c.ljust(w) for c, w in zip(row, widths)) for row in rows]
    return '\n'.join(lines)


def _ratios(records: list[dict], sizes: list[str]) -> list[dict]:
    """Fusion cost relative to the single-stream RGB model of the same backbone and decoder."""
    by_key = {(r['backbone'], r['type']): r for r in records}
    pairs = [('fusion_cmx', 'single_rgb'), ('fusion_se_add_light', 'single_rgb_light')]
    out = []
    for r in records:
        for fusion, single in pairs:
            if r['type'] != fusion or (r['backbone'], single) not in by_key:
                continue
            s = by_key[(r['backbone'], single)]
            entry = {'backbone': r['backbone'], 'fusion': fusion, 'single': single,
                     'params': r['params_m'] / s['params_m']}
            for size in sizes:
                for k in ('gflops', 'cpu_ms', 'e2e_ms'):
                    entry[f'{k}@{size}'] = r['sizes'][size][k] / s['sizes'][size][k]
            out.append(entry)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the tables, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--backbones', default=','.join(DEFAULT_BACKBONES),
                        help='comma-separated timm backbones')
    parser.add_argument('--types', default=','.join(MODEL_TYPES),
                        help=f'comma-separated model types out of {tuple(MODEL_TYPES)}')
    parser.add_argument('--sizes', default='240x320,480x640', help='comma-separated HxW')
    parser.add_argument('--threads', type=int, default=2, help='torch CPU threads')
    parser.add_argument('--repeats', type=int, default=5, help='timed runs per figure')
    parser.add_argument('--json', default=str(REPO / 'bench' / 'results' / 'models.json'),
                        help='output JSON path')
    parser.add_argument('--worker', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(json.loads(args.worker))))
        return 0
    from tqdm import tqdm

    types = [t for t in args.types.split(',') if t]
    unknown = [t for t in types if t not in MODEL_TYPES]
    if unknown:
        parser.error(f'unknown types {unknown}; expected some of {tuple(MODEL_TYPES)}')
    sizes = sorted((_parse_size(s) for s in args.sizes.split(',')), key=lambda s: s[0] * s[1])
    specs = [{'backbone': b, 'type': t, 'sizes': sizes, 'threads': args.threads,
              'repeats': args.repeats} for b in args.backbones.split(',') if b for t in types]
    records = [_run_worker(spec) for spec in tqdm(specs, desc='models', unit='model')]
    size_keys = [f'{h}x{w}' for h, w in sizes]
    ratios = _ratios(records, size_keys)
    print(_table(records, size_keys))
    if ratios:
        print('\nfusion / single cost ratio')
        for r in ratios:
            parts = ', '.join(f'{k} {v:.2f}x' for k, v in r.items()
                              if k not in ('backbone', 'fusion', 'single'))
            print(f"  {r['backbone']:<22} {r['fusion']} / {r['single']}: {parts}")
    import torch

    result = {
        'machine': {'platform': platform.platform(), 'cpu_count': os.cpu_count(),
                    'load_avg': os.getloadavg(), 'torch': torch.__version__,
                    'cuda': torch.cuda.get_device_name(0) if torch.cuda.is_available() else None},
        'settings': {'threads': args.threads, 'repeats': args.repeats, 'batch': 1,
                     'num_classes': NUM_CLASSES, 'model_types': MODEL_TYPES},
        'models': records,
        'fusion_ratios': ratios,
    }
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2))
    print(f'\nwrote {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
