# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Which sensor artefacts a trained model reads: test mIoU with parts of the sensor model swapped.

The benchmark's teachers (``bench.methods``) are scored on the same seeded test frames
rendered with the world's own sensor and with one artefact changed at a time: the holes along
depth jumps thinned to a resolution-consistent band (``SensorConfig.edge_hole_px``) or removed
(``edge_holes=False``). A model that loses much when a hole pattern goes reads objects from the
holes, a cue that NYU's filled depth does not have (docs/results.md, "Calibrating nyu_like").

    python bench/depth_cues.py --root runs/bench_methods/full_nyu_like --frames 100
        --json bench/results/depth_cues_full_nyu_like.json [--world nyu_like]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from pathlib import Path
import sys

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
os.environ.setdefault('HF_HUB_OFFLINE', '1')

TEACHERS = ('teacher_depth', 'teacher_rgbd', 'teacher_rgb')


def main(argv: list[str] | None = None) -> int:
    """Score each teacher under each sensor variant; print a table; write the JSON."""
    from rgbd_seg_ros.core.inference import Segmenter
    from rgbd_seg_ros.sim import world_style
    from training.data.dataset import RGBDDataset
    from training.data.synthetic import SyntheticReader
    from training.data.transforms import EvalTransform
    from training.engine import val_loader
    from training.evaluate import evaluate

    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--root', required=True, help='a bench.methods protocol folder')
    parser.add_argument('--world', default='nyu_like')
    parser.add_argument('--frames', type=int, default=100, help='test frames (seed 0 test split)')
    parser.add_argument('--json', required=True)
    args = parser.parse_args(argv)
    base = world_style(args.world).sensor
    sensors = {'as trained': base,
               'edge band 3 px at 640': dataclasses.replace(base, edge_hole_px=3.0),
               'no edge holes': dataclasses.replace(base, edge_holes=False)}
    scores: dict[str, dict[str, float]] = {}
    for teacher in TEACHERS:
        path = Path(args.root) / 'teachers' / teacher / 'model.safetensors'
        seg = Segmenter.from_checkpoint(path, device='cpu')
        variants = ('as trained',) if teacher == 'teacher_rgb' else tuple(sensors)
        for name in variants:  # the RGB model does not read depth: its one row is the control
            reader = SyntheticReader(0, 'test', tuple(seg.meta.input_size), args.frames,
                                     sensor=sensors[name], world=args.world)
            loader = val_loader(RGBDDataset(reader, EvalTransform()), 8, 0)
            scores.setdefault(teacher, {})[name] = evaluate(seg, loader, progress=False)['miou']
    print('| teacher | ' + ' | '.join(sensors) + ' |')
    print('|---|' + '---:|' * len(sensors))
    for teacher, row in scores.items():
        cells = [f'{100 * row[n]:.1f}' if n in row else '-' for n in sensors]
        print(f'| {teacher} | ' + ' | '.join(cells) + ' |')
    report = {'root': args.root, 'world': args.world, 'frames': args.frames,
              'sensors': {n: dataclasses.asdict(s) for n, s in sensors.items()},
              'test_miou': scores}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2), encoding='utf-8')
    return 0


if __name__ == '__main__':
    sys.exit(main())
