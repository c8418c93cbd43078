# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
``training.prepare_nyu`` throughput and output size on a stand-in for the official file.

No real ``nyu_depth_v2_labeled.mat`` is used: the bench writes N synthetic 640x480 frames
(``rgbd_seg_ros.sim``) in the file's documented HDF5 layout (transposed shapes, one gzip chunk
per frame, uint16 labels drawn from the 894 ids), converts them, adds the HHA cache in a second
run, times augmented training samples read back through ``data.kind: nyu`` and extrapolates
seconds and bytes to the 1449 frames of the real file. Synthetic images compress better than
photographs, so the RGB and HHA bytes are lower bounds.

    python bench/prepare_nyu.py [--frames 40] [--json bench/results/prepare_nyu.json]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import platform
import sys
import tempfile
import time

from common import REPO  # noqa: E402 - bench/common.py: the repository on sys.path
import h5py  # noqa: E402
import numpy as np  # noqa: E402

from rgbd_seg_ros.sim import sample_frame  # noqa: E402
from training import prepare_nyu  # noqa: E402
from training.data import nyu  # noqa: E402

FULL = nyu.NUM_FRAMES


def write_stand_in(path: Path, frames: int) -> None:
    """``frames`` synthetic frames in the HDF5 layout of the official labeled file."""
    names, _ = nyu.class_mapping()
    rng = np.random.default_rng(0)
    ids = rng.integers(1, len(names) + 1, 256).astype(np.uint16)  # class -> some NYU id
    ids[255] = 0
    h, w = nyu.FRAME_SIZE
    with h5py.File(path, 'w', userblock_size=512) as f:
        kw = {'compression': 'gzip', 'compression_opts': 3}
        images = f.create_dataset('images', (frames, 3, w, h), np.uint8,
                                  chunks=(1, 3, w, h), **kw)
        depths = f.create_dataset('depths', (frames, w, h), np.float32, chunks=(1, w, h), **kw)
        raw = f.create_dataset('rawDepths', (frames, w, h), np.float32, chunks=(1, w, h), **kw)
        labels = f.create_dataset('labels', (frames, w, h), np.uint16, chunks=(1, w, h), **kw)
        for i in range(frames):
            fr = sample_frame(0, i, w, h)
            images[i] = fr.rgb.transpose(2, 1, 0)
            depths[i] = fr.depth_clean_m.T
            raw[i] = np.where(fr.valid, fr.depth_m, 0).astype(np.float32).T
            labels[i] = ids[fr.label].T
        refs = f.create_group('#refs#')
        handles = [refs.create_dataset(f'n{i}', data=np.array([[ord(c)] for c in n],
                                                              np.uint16)).ref
                   for i, n in enumerate(names)]
        cell = f.create_dataset('names', (1, len(names)), dtype=h5py.ref_dtype)
        cell[0, :] = handles


def _folder_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob('*') if p.is_file())


def _sample_seconds(root: Path, count: int) -> float:
    """Seconds per augmented 480x640 training sample of the nyu configs (one process)."""
    from training.data import DataConfig, create_dataset

    ds = create_dataset(DataConfig(kind='nyu', root=str(root), val_holdout=0.0,
                                   crop_size=(480, 640)), 'train')
    ds[0]
    t0 = time.perf_counter()
    for i in range(count):
        ds[i % len(ds)]
    return (time.perf_counter() - t0) / count


def main() -> int:
    """Run the bench, print a table, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--frames', type=int, default=40)
    parser.add_argument('--json', default=str(REPO / 'bench' / 'results' / 'prepare_nyu.json'))
    args = parser.parse_args()
    n = args.frames
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        mat = tmp / 'nyu_depth_v2_labeled.mat'
        write_stand_in(mat, n)
        splits = tmp / 'splits.json'
        splits.write_text(json.dumps({'train': list(range(1, n)), 'test': [n]}))
        out = tmp / 'nyu'
        t0 = time.perf_counter()
        prepare_nyu.convert(mat, out, splits, progress=False)
        t_frames = time.perf_counter() - t0
        base_bytes = {sub: _folder_bytes(out / sub)
                      for sub in ('RGB', 'Depth', 'DepthRaw', 'Label', 'intrinsics')}
        t0 = time.perf_counter()
        prepare_nyu.convert(mat, out, splits, hha=True, progress=False)
        t_hha = time.perf_counter() - t0
        base_bytes['HHA'] = _folder_bytes(out / 'HHA')
        mat_bytes = mat.stat().st_size
        t_sample = _sample_seconds(out, min(n - 1, 20))
    per_frame = {k: v / n for k, v in base_bytes.items()}
    result = {
        'frames': n, 'cpu': platform.processor() or platform.machine(),
        'cores': os.cpu_count(), 'load_avg': os.getloadavg()[0],
        'threads': os.environ.get('OMP_NUM_THREADS', ''),
        'convert_s_per_frame': t_frames / n, 'hha_s_per_frame': t_hha / n,
        'train_sample_s': t_sample,
        'convert_s_1449': t_frames / n * FULL, 'hha_s_1449': t_hha / n * FULL,
        'stand_in_mat_bytes_per_frame': mat_bytes / n,
        'output_bytes_per_frame': per_frame,
        'output_bytes_1449': {k: v * FULL for k, v in per_frame.items()},
    }
    print(f'{n} stand-in frames, load average {result["load_avg"]:.2f}')
    print(f'{"step":<22}{"s/frame":>10}{"s for 1449":>12}')
    print(f'{"convert (no HHA)":<22}{t_frames / n:>10.3f}{t_frames / n * FULL:>12.0f}')
    print(f'{"HHA cache":<22}{t_hha / n:>10.3f}{t_hha / n * FULL:>12.0f}')
    print(f'{"train sample (augm.)":<22}{t_sample:>10.3f}{"":>12}')
    print(f'{"folder":<22}{"KB/frame":>10}{"GB for 1449":>12}')
    for k, v in per_frame.items():
        print(f'{k:<22}{v / 1e3:>10.1f}{v * FULL / 1e9:>12.3f}')
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
