# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Synthetic world throughput: frames per second of ``sample_frame`` (a new room every frame) and
``SyntheticSequence.frame`` (one room, moving camera), in one process and in N worker
processes (one per core, as DataLoader workers would run), plus a per-stage profile.
Wall-clock rates depend on what else runs; the CPU-time rates (frames per CPU second of the
rendering processes) show what the code does on cores it has to itself.

    python bench/sim.py [--size 240x320] [--frames 60] [--workers 2] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
from pathlib import Path
import platform
import sys
import time

from common import REPO  # noqa: E402 - bench/common.py: the repository on sys.path
import numpy as np  # noqa: E402

from rgbd_seg_ros.sim import SyntheticSequence, sample_frame  # noqa: E402
from rgbd_seg_ros.sim.render import render  # noqa: E402
from rgbd_seg_ros.sim.sensor import SensorConfig, apply_depth, apply_rgb  # noqa: E402
from rgbd_seg_ros.sim.world import sample_view  # noqa: E402


def _parse_size(text: str) -> tuple[int, int]:
    h, w = (int(v) for v in text.lower().split('x'))
    return h, w


def _run_random(args: tuple[int, int, int, int]) -> tuple[float, float]:
    """Render frames [start, start + n) of seed 0; returns (wall, CPU) seconds."""
    start, n, h, w = args
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(start, start + n):
        sample_frame(0, i, w, h)
    return time.perf_counter() - t0, time.process_time() - c0


def _fps_single(h: int, w: int, frames: int) -> tuple[float, float]:
    _run_random((10_000, 3, h, w))  # warm-up
    wall, cpu = _run_random((0, frames, h, w))
    return frames / wall, frames / cpu


def _fps_sequence(h: int, w: int, frames: int) -> tuple[float, float]:
    seq = SyntheticSequence(0, w, h)
    seq.frame(0, 0.0)
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(frames):
        seq.frame(i, i / 30.0)
    return frames / (time.perf_counter() - t0), frames / (time.process_time() - c0)


def _fps_workers(h: int, w: int, frames: int, workers: int) -> tuple[float, float]:
    per = max(1, frames // workers)
    ctx = mp.get_context('spawn')
    with ctx.Pool(workers) as pool:
        pool.map(_run_random, [(20_000 + k * 3, 3, h, w) for k in range(workers)])  # warm-up
        t0 = time.perf_counter()
        times = pool.map(_run_random, [(k * per, per, h, w) for k in range(workers)])
        wall = time.perf_counter() - t0
    # CPU-time throughput: what the workers would give with their cores to themselves
    return per * workers / wall, sum(per / cpu for _, cpu in times)


def _stage_profile(h: int, w: int, frames: int) -> dict[str, float]:
    """Mean milliseconds per stage: scene generation, ray casting + shading, RGB, depth."""
    acc = {'scene_ms': 0.0, 'render_ms': 0.0, 'rgb_sensor_ms': 0.0, 'depth_sensor_ms': 0.0}
    sensor = SensorConfig()
    for i in range(frames):
        t0 = time.perf_counter()
        scene, intr, pose = sample_view(0, i, w, h)
        t1 = time.perf_counter()
        buffers = render(scene, intr, pose)
        t2 = time.perf_counter()
        rng = np.random.default_rng(i)
        apply_rgb(buffers, sensor, rng)
        t3 = time.perf_counter()
        apply_depth(buffers, sensor, rng)
        t4 = time.perf_counter()
        acc['scene_ms'] += (t1 - t0) * 1e3
        acc['render_ms'] += (t2 - t1) * 1e3
        acc['rgb_sensor_ms'] += (t3 - t2) * 1e3
        acc['depth_sensor_ms'] += (t4 - t3) * 1e3
    return {k: round(v / frames, 2) for k, v in acc.items()}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print a table and write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--size', default='240x320', help='HxW of the main measurement')
    parser.add_argument('--frames', type=int, default=60, help='frames per measurement')
    parser.add_argument('--workers', type=int, default=2, help='processes for the parallel run')
    parser.add_argument('--vga-frames', type=int, default=10, help='frames at 480x640 (0: skip)')
    parser.add_argument('--json', default=str(REPO / 'bench' / 'results' / 'sim.json'))
    args = parser.parse_args(argv)
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    h, w = _parse_size(args.size)

    rows = []
    single = _fps_single(h, w, args.frames)
    rows.append(('sample_frame, 1 process', f'{h}x{w}', single))
    rows.append(('SyntheticSequence.frame, 1 process', f'{h}x{w}', _fps_sequence(h, w,
                                                                                 args.frames)))
    if args.workers > 1:
        rows.append((f'sample_frame, {args.workers} processes', f'{h}x{w}',
                     _fps_workers(h, w, args.frames, args.workers)))
    if args.vga_frames > 0:
        rows.append(('sample_frame, 1 process', '480x640', _fps_single(480, 640,
                                                                        args.vga_frames)))
    stages = _stage_profile(h, w, min(args.frames, 30))

    print(f'{"measurement":40s} {"size":>8s} {"frames/s":>9s} {"per CPU-s":>10s}')
    for name, size, (fps, fps_cpu) in rows:
        print(f'{name:40s} {size:>8s} {fps:9.1f} {fps_cpu:10.1f}')
    print('per-stage mean at', f'{h}x{w}:', ', '.join(f'{k} {v}' for k, v in stages.items()))

    result = {
        'benchmark': 'sim',
        'machine': {'cpus': os.cpu_count(), 'python': platform.python_version(),
                    'numpy': np.__version__, 'platform': platform.platform()},
        'load_average': list(os.getloadavg()),
        'results': [{'measurement': n, 'size': s, 'fps_wall': round(f[0], 2),
                     'fps_cpu_time': round(f[1], 2)} for n, s, f in rows],
        'stages_ms': stages,
    }
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + '\n')
    print(f'wrote {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
