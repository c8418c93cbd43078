# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
What the benchmark scripts share: the repository root on ``sys.path`` (so ``python bench/X.py``
runs from a checkout), the sandboxed environment (no model hub; DDS on shared memory only, on a
private domain), tiny random checkpoints, the node processes a benchmark starts and samples, the
percentiles it reports and the JSON result writer.

Scripts import it as ``from common import ...`` (Python puts the script's folder, ``bench/``,
first on ``sys.path``); importing it puts the repository root after it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
import random
import signal
import subprocess
import sys

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / 'bench' / 'results'
if str(REPO) not in sys.path:
    sys.path.insert(1, str(REPO))
os.environ.setdefault('HF_HUB_OFFLINE', '1')


def set_env(threads: int) -> None:
    """DDS on shared memory only, a private domain, no model hub; before rclpy is imported."""
    os.environ['HF_HUB_OFFLINE'] = '1'
    os.environ['FASTDDS_DEFAULT_PROFILES_FILE'] = str(REPO / 'config/fastdds/local_shm.xml')
    os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    os.environ.setdefault('RMW_IMPLEMENTATION', 'rmw_fastrtps_cpp')
    os.environ['ROS_DOMAIN_ID'] = str(random.randint(201, 230))
    os.environ['OMP_NUM_THREADS'] = str(threads)
    os.environ['PYTHONPATH'] = str(REPO) + os.pathsep + os.environ.get('PYTHONPATH', '')


def make_checkpoints(folder: Path, input_size: tuple[int, int],
                     embed_dim: int = 64, with_depth: bool = False) -> dict[str, str]:
    """
    Random-init ``fusion`` (RGB + HHA) and ``rgb`` checkpoints (resnet18, light decoder), and
    with ``with_depth`` the depth-only (HHA) model of the depth mode (bench/soak.py).
    """
    from rgbd_seg_ros.core.checkpoint import save_checkpoint
    from rgbd_seg_ros.core.models import ModelConfig, create_model
    from rgbd_seg_ros.sim import SYNTHETIC_LABELS

    paths = {}
    kinds: list[tuple[str, dict]] = [('fusion', {'arch': 'fusion', 'fusion': 'se_add'}),
                                     ('rgb', {})]
    if with_depth:
        kinds.append(('depth', {'modality': 'hha'}))
    for name, extra in kinds:
        cfg = ModelConfig(backbone='resnet18', num_classes=SYNTHETIC_LABELS.num_classes,
                          decoder='light', embed_dim=embed_dim, **extra)
        meta = {'labels': SYNTHETIC_LABELS, 'input_size': input_size,
                'provenance': {'method': 'random init (bench/common.py)'}}
        paths[name] = str(save_checkpoint(folder / f'{name}.safetensors', create_model(cfg),
                                          meta))
    return paths


def write_json(result: dict, path: str | Path) -> None:
    """Write a benchmark's result (creating the folder) and say where."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(result, indent=2))
    print(f'wrote {path}')


def write_params(path: Path, params: dict) -> Path:
    """A ROS 2 parameter file at ``path`` giving ``params`` to every node; ``path``."""
    import yaml

    path.write_text(yaml.safe_dump({'/**': {'ros__parameters': params}}))
    return path


def start_node(module: str, params: Path, log: Path) -> subprocess.Popen:
    """``python -m module`` with a parameter file, output to ``log``, in its own session."""
    return subprocess.Popen(
        [sys.executable, '-m', module, '--ros-args', '--params-file', str(params)],
        cwd=REPO, stdout=open(log, 'w'), stderr=subprocess.STDOUT,  # noqa: SIM115
        start_new_session=True)


def stop_process(proc: subprocess.Popen) -> None:
    """SIGINT (a node's Ctrl-C), then kill after 15 s; returns once the process has ended."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def proc_sample(pid: int) -> tuple[float, float]:
    """(CPU seconds used so far, resident memory MiB) of process ``pid`` from /proc."""
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    cpu_s = (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
    with open(f'/proc/{pid}/status') as f:
        rss_kib = next(int(line.split()[1]) for line in f if line.startswith('VmRSS'))
    return cpu_s, rss_kib / 1024.0


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p95, p99 of ``values`` (NaN when empty) and their count ``n``."""
    import numpy as np

    if not values:
        return {'p50': float('nan'), 'p95': float('nan'), 'p99': float('nan'), 'n': 0}
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {'p50': float(p50), 'p95': float(p95), 'p99': float(p99), 'n': len(values)}
