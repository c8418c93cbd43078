# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
What the benchmark scripts share: the repository root on ``sys.path`` (so ``python bench/X.py``
runs from a checkout), the sandboxed environment (no model hub; DDS on shared memory only, on a
private domain), tiny random checkpoints and the JSON result writer.

Scripts import it as ``from common import ...`` (Python puts the script's folder, ``bench/``,
first on ``sys.path``); importing it puts the repository root after it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
import random
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
