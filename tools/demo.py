# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The end-to-end demo: train, record a bag with a depth outage, replay it through the node's path.

``python -m tools.demo [--out out/demo] [--quick]``

1. Trains the small RGB-D fusion model and the RGB-only fallback on the synthetic world
   (``training/configs/synthetic_rgbd.yaml`` and ``synthetic_rgb.yaml`` via ``training.train``),
   or reuses ``OUT/runs/*/model.safetensors`` from an earlier run (an interrupted run resumes).
2. Records ``OUT/bag``: a synthetic camera at 15 Hz whose depth stream stops for 3 s and later
   returns all-invalid for 1 s (``rgbd_seg_ros.replay.make_bag``).
3. Replays it offline through the segmentation node's synchronizer, depth-health state machine
   and models, configured by ``config/segment.yaml`` (``rgbd_seg_ros.replay``), and writes the
   report with plots to ``OUT/report``.

``--quick`` trains for a few steps only and records a shorter bag (a smoke test of the whole
chain in about a minute; its models are kept apart from the full ones).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import logging
from pathlib import Path
import shutil
import sys
import time

LOG = logging.getLogger('tools.demo')
CONFIGS = Path(__file__).resolve().parent / 'configs'
# The bag's topics (RealSense names, as make_bag writes them), given to the node's parameters.
BAG_TOPICS = {
    'rgb_topic': '/camera/color/image_raw',
    'depth_topic': '/camera/aligned_depth_to_color/image_raw',
    'camera_info_topic': '/camera/color/camera_info',
}


def train_model(config: str, run_dir: Path, max_iters: int | None) -> Path:
    """``run_dir/model.safetensors``: reused if present, else trained (a partial run resumes)."""
    from training.train import main as train_main

    model = run_dir / 'model.safetensors'
    if model.is_file():
        LOG.info('reusing %s', model)
        return model
    argv = ['--config', str(CONFIGS / config), '--out', str(run_dir)]
    if max_iters is not None:
        argv += ['--max-iters', str(max_iters)]
    if (run_dir / 'last.safetensors').is_file():
        argv.append('--resume')
    LOG.info('training %s -> %s', config, run_dir)
    status = train_main(argv)
    if status != 0 or not model.is_file():
        raise RuntimeError(f'training {config} failed (exit status {status}); see {run_dir}')
    return model


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(prog='python -m tools.demo', description=__doc__.split(
        '\n\n')[0])
    parser.add_argument('--out', default='out/demo', help='output folder (default %(default)s)')
    parser.add_argument('--quick', action='store_true',
                        help='a few training steps and a short bag (smoke test)')
    parser.add_argument('--max-iters', type=int, help='training steps per model (default: the '
                                                     "configs' max_iters; --quick: 20)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(name)s: '
                                                   '%(message)s')
    from rgbd_seg_ros.replay.evaluate import ReplayConfig, replay_bag
    from rgbd_seg_ros.replay.make_bag import Window, make_bag
    from rgbd_seg_ros.replay.params import (
        default_params_file,
        load_node_parameters,
        segmentation_params,
    )
    from rgbd_seg_ros.replay.report import format_summary, write_report

    out = Path(args.out)
    started = time.monotonic()
    max_iters = args.max_iters if args.max_iters is not None else (20 if args.quick else None)
    suffix = '_quick' if args.quick else ''
    try:
        fusion = train_model('synthetic_rgbd.yaml', out / 'runs' / f'rgbd{suffix}', max_iters)
        rgb = train_model('synthetic_rgb.yaml', out / 'runs' / f'rgb{suffix}', max_iters)
    except RuntimeError as exc:
        LOG.error('%s', exc)
        return 1

    bag = out / f'bag{suffix}'
    if bag.exists():
        shutil.rmtree(bag)
    if args.quick:
        frames, gaps, invalid = 60, [Window(1.5, 2.5)], [Window(3.0, 3.4)]
    else:
        frames, gaps, invalid = 180, [Window(4.0, 7.0)], [Window(9.0, 10.0)]
    LOG.info('recording %s: %d frames at 15 Hz, depth gaps %s, all-invalid depth %s', bag,
             frames, [(w.start_s, w.end_s) for w in gaps],
             [(w.start_s, w.end_s) for w in invalid])
    make_bag(bag, frames=frames, rate_hz=15.0, seed=1234, size=(120, 160), depth_gaps=gaps,
             depth_invalid=invalid)

    values = load_node_parameters([default_params_file()])
    values.update(BAG_TOPICS, fusion_model=str(fusion), rgb_model=str(rgb))
    config = ReplayConfig(params=segmentation_params(values))
    result = replay_bag(bag, config)
    report = out / f'report{suffix}'
    paths = write_report(result, report)
    print()
    print(format_summary(result.summary(), paths))
    print(f'\ndemo finished in {time.monotonic() - started:.0f} s. Models: {fusion}, {rgb}; '
          f'bag: {bag}; open {paths["markdown"]} for the full report.')
    print('The same bag over DDS against the running node: python -m rgbd_seg_ros.replay.live '
          f'--bag {bag} --fusion-model {fusion} --rgb-model {rgb} --rgb-topic '
          f'{BAG_TOPICS["rgb_topic"]} --depth-topic {BAG_TOPICS["depth_topic"]} '
          f'--camera-info-topic {BAG_TOPICS["camera_info_topic"]} --report {out}/report_live')
    return 0


if __name__ == '__main__':
    sys.exit(main())
