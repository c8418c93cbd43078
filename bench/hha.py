# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
HHA encoding speed: milliseconds per 480x640 frame on the CPU and, when present, on CUDA.

Input: the NYU demo frame of the HHA fixtures (``test/fixtures/hha/0.png``, K from
``K_nyu_color.txt``) in two variants: ``filled`` (in-painted depth, every pixel valid) and
``holes`` (the raw Kinect depth of the same frame, 24 % missing, as a robot sees it). A batch
repeats the frame B times; figures are per frame (batch time / B).

- CPU: wall time of ``compute_hha`` with ``--threads`` torch threads, after two warm-up calls;
  ``median_ms`` and ``min_ms`` over ``--repeats`` calls, per frame, and ``cpu_time_ms``, the
  median processor time the process used per frame (all its threads; less sensitive to other
  processes on the machine than wall time). Other processes share the cores, so the load
  average is recorded; repeat the run when it is high.
- CUDA: CUDA-event time of ``compute_hha`` on a device tensor (no host transfer) after warm-up,
  and ``peak_mib`` = growth of ``torch.cuda.max_memory_allocated`` during the calls.

``speedup`` compares with the reference implementation (Depth2HHA-python, 2.64 s per frame on
2 cores of this machine type, docs/hha.md). On a shared, oversubscribed machine OpenMP's busy
waiting makes 2 torch threads far slower than 1; ``OMP_WAIT_POLICY=PASSIVE`` avoids that.

    python bench/hha.py [--threads 1,2] [--batch-sizes 1,4] [--cuda-batch-sizes 1,4,16]
        [--repeats 15] [--json bench/results/hha.json]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import platform
import statistics
import sys
import time

from common import REPO  # noqa: E402 - bench/common.py: the repository on sys.path
import cv2
import numpy as np
import torch

from rgbd_seg_ros.core.camera import CameraIntrinsics  # noqa: E402
from rgbd_seg_ros.core.hha import compute_hha  # noqa: E402

FIXTURES = REPO / 'test' / 'fixtures' / 'hha'
REFERENCE_MS = 2640.0  # Depth2HHA-python getHHA, 480x640, 2 cores (docs/hha.md)


def _int_list(text: str) -> list[int]:
    return [int(v) for v in text.split(',') if v.strip()]


def load_frames() -> tuple[dict[str, np.ndarray], CameraIntrinsics]:
    """Depth variants of the NYU demo frame (metres) and its 0-based intrinsics."""
    frames = {}
    for name, file in (('filled', '0.png'), ('holes', '0_raw.png')):
        raw = cv2.imread(str(FIXTURES / file), cv2.IMREAD_UNCHANGED)
        if raw is None:
            raise FileNotFoundError(FIXTURES / file)
        frames[name] = (raw.astype(np.float32) / 10000.0)  # 0.1 mm units
    K = np.loadtxt(FIXTURES / 'K_nyu_color.txt')  # noqa: N806
    cam = CameraIntrinsics.from_matrix(K, 640, 480).cropped(1, 1, 640, 480)  # 1- to 0-based
    return frames, cam


def bench_cpu(depth: torch.Tensor, cam, threads: int, repeats: int) -> dict:
    torch.set_num_threads(threads)
    batch = depth.shape[0]
    with torch.inference_mode():
        for _ in range(2):
            compute_hha(depth, cam)
        times, cpu_times = [], []
        for _ in range(repeats):
            c0, t0 = time.process_time(), time.perf_counter()
            compute_hha(depth, cam)
            times.append((time.perf_counter() - t0) * 1e3 / batch)
            cpu_times.append((time.process_time() - c0) * 1e3 / batch)
    return {'median_ms': statistics.median(times), 'min_ms': min(times),
            'cpu_time_ms': statistics.median(cpu_times)}


def bench_cuda(depth: torch.Tensor, cam, repeats: int) -> dict:
    dev = torch.device('cuda')
    depth = depth.to(dev)
    batch = depth.shape[0]
    with torch.inference_mode():
        for _ in range(3):
            compute_hha(depth, cam)
        torch.cuda.synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)
        base = torch.cuda.memory_allocated(dev)
        times = []
        for _ in range(repeats):
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            compute_hha(depth, cam)
            end.record()
            torch.cuda.synchronize(dev)
            times.append(start.elapsed_time(end) / batch)
        peak = (torch.cuda.max_memory_allocated(dev) - base) / 2**20
    return {'median_ms': statistics.median(times), 'min_ms': min(times), 'peak_mib': peak}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--threads', type=_int_list, default=[1, 2],
                        help='CPU torch thread counts to measure (comma separated)')
    parser.add_argument('--batch-sizes', type=_int_list, default=[1, 4],
                        help='CPU batch sizes (comma separated)')
    parser.add_argument('--cuda-batch-sizes', type=_int_list, default=[1, 4, 16],
                        help='CUDA batch sizes (comma separated)')
    parser.add_argument('--repeats', type=int, default=15, help='timed calls per setting')
    parser.add_argument('--no-cpu', action='store_true', help='skip the CPU measurements')
    parser.add_argument('--json', type=Path, default=REPO / 'bench' / 'results' / 'hha.json',
                        help='where to write the results (JSON)')
    args = parser.parse_args(argv)

    frames, cam = load_frames()
    threads_before = torch.get_num_threads()
    rows = []
    load_before = os.getloadavg()
    for case, depth_np in frames.items():
        if not args.no_cpu:
            for threads in args.threads:
                for batch in args.batch_sizes:
                    depth = torch.from_numpy(depth_np).expand(batch, -1, -1).contiguous()
                    res = bench_cpu(depth, cam, threads, args.repeats)
                    rows.append({'device': 'cpu', 'case': case, 'batch': batch,
                                 'threads': threads, **res})
        if torch.cuda.is_available():
            for batch in args.cuda_batch_sizes:
                depth = torch.from_numpy(depth_np).expand(batch, -1, -1).contiguous()
                res = bench_cuda(depth, cam, args.repeats * 4)
                rows.append({'device': 'cuda', 'case': case, 'batch': batch, 'threads': None,
                             **res})
    torch.set_num_threads(threads_before)
    for row in rows:
        row['speedup'] = REFERENCE_MS / row['median_ms']

    header = (f'{"device":6} {"case":7} {"batch":>5} {"threads":>7} {"median ms":>10} '
              f'{"min ms":>8} {"cpu ms":>8} {"speedup":>8} {"peak MiB":>9}')
    print('HHA per 480x640 frame (reference: 2640 ms)')
    print(header)
    print('-' * len(header))
    for r in rows:
        peak = f'{r["peak_mib"]:9.1f}' if 'peak_mib' in r else f'{"-":>9}'
        cpu = f'{r["cpu_time_ms"]:8.2f}' if 'cpu_time_ms' in r else f'{"-":>8}'
        threads = '-' if r['threads'] is None else str(r['threads'])
        print(f'{r["device"]:6} {r["case"]:7} {r["batch"]:5d} {threads:>7} '
              f'{r["median_ms"]:10.2f} {r["min_ms"]:8.2f} {cpu} {r["speedup"]:7.0f}x {peak}')
    result = {
        'benchmark': 'hha',
        'frame': '480x640 NYU demo frame (test/fixtures/hha/0.png, 0_raw.png)',
        'reference_ms': REFERENCE_MS,
        'rows': rows,
        'environment': {
            'torch': torch.__version__,
            'opencv': cv2.__version__,
            'numpy': np.__version__,
            'python': platform.python_version(),
            'cpu_count': os.cpu_count(),
            'processor': platform.processor() or platform.machine(),
            'cuda_device': torch.cuda.get_device_name() if torch.cuda.is_available() else None,
            'opencv_threads': cv2.getNumThreads(),
            'omp_wait_policy': os.environ.get('OMP_WAIT_POLICY'),
            'loadavg_before': load_before,
            'loadavg_after': os.getloadavg(),
        },
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + '\n')
    print(f'wrote {args.json} (load average {load_before[0]:.2f} -> {os.getloadavg()[0]:.2f})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
