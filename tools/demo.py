# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The demo: the shipped models live over DDS, or a recorded bag, or the whole chain with training.

``python -m tools.demo [--out out/demo] [--models models/demo]`` (``make demo``): the live demo
of ``tools/demo_live.py``: ``camera_sim_node`` with a scripted depth outage and a stretch of
invalid depth, ``segmentation_node`` with the shipped models (``models/demo``, made by
``make demo-models``), an evaluator; prints what happened and writes ``OUT/live/report``.

``--offline`` (``make demo-offline``): records ``OUT/bag`` (a synthetic camera at 15 Hz whose
depth stops for 3 s and later returns all-invalid for 1 s, ``rgbd_seg_ros.replay.make_bag``)
and replays it deterministically through the node's synchroniser, depth-health state machine
and models (``rgbd_seg_ros.replay``, ``config/segment.yaml``) into ``OUT/report``.

``--train`` (``make demo-train``): first trains the small RGB-D fusion model and the RGB-only
fallback from scratch (``training/configs/synthetic_rgbd.yaml`` and ``synthetic_rgb.yaml`` via
``training.train``; ``OUT/runs/*/model.safetensors`` are reused, an interrupted run resumes),
then the offline replay. ``--quick`` trains for a few steps and records a shorter bag (a smoke
test of that chain in about a minute; its models are kept apart from the full ones).

Every mode renders the synthetic world ``--world`` (default ``nyu_like``, the world the shipped
models were trained on: ``tools/demo_scoring.py: TEST_WORLD``); ``--train`` trains on it too
(its runs go to ``OUT/runs/<model>_<world>`` for a world other than the default). The shipped
models score well only on their own world.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import logging
from pathlib import Path
import shutil
import sys
import time

from tools.demo_scoring import TEST_WORLD

LOG = logging.getLogger('tools.demo')
CONFIGS = Path(__file__).resolve().parents[1] / 'training' / 'configs'
SHIPPED = Path(__file__).resolve().parents[1] / 'models' / 'demo'
# The bag's topics (RealSense names, as make_bag writes them), given to the node's parameters.
BAG_TOPICS = {
    'rgb_topic': '/camera/color/image_raw',
    'depth_topic': '/camera/aligned_depth_to_color/image_raw',
    'camera_info_topic': '/camera/color/camera_info',
}


def train_model(config: str, run_dir: Path, max_iters: int | None,
                world: str = TEST_WORLD) -> Path:
    """
    ``run_dir/model.safetensors``: reused if present, else trained on ``world`` (a partial run
    resumes).
    """
    from training.train import main as train_main

    model = run_dir / 'model.safetensors'
    if model.is_file():
        LOG.info('reusing %s', model)
        return model
    argv = ['--config', str(CONFIGS / config), '--out', str(run_dir),
            '--set', f'data.synthetic_world={world}']
    if max_iters is not None:
        argv += ['--max-iters', str(max_iters)]
    if (run_dir / 'last.safetensors').is_file():
        argv.append('--resume')
    LOG.info('training %s -> %s', config, run_dir)
    status = train_main(argv)
    if status != 0 or not model.is_file():
        raise RuntimeError(f'training {config} failed (exit status {status}); see {run_dir}')
    return model


def _shipped(models_dir: Path) -> dict[str, Path] | None:
    """The shipped bundles by node parameter, or None (logged) when one is missing."""
    from tools.demo_scoring import bundle_paths

    paths = bundle_paths(models_dir)
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        LOG.error('missing demo models %s: run `make demo-models` (or `make demo-train` to '
                  'train small ones from scratch)', missing)
        return None
    return paths


def live(out: Path, models_dir: Path, world: str = TEST_WORLD) -> int:
    """The live demo (``tools/demo_live.py``) in ``world``; returns the exit status."""
    from rgbd_seg_ros.replay.report import format_summary
    from tools.demo_live import Script, check_demo, run_live_demo

    models = _shipped(models_dir)
    if models is None:
        return 1
    started = time.monotonic()
    script = Script(world=world)
    print(f'live demo: camera_sim_node {script.width}x{script.height} in {script.world} at '
          f'{script.rate:.0f} Hz '
          f'for {script.seconds:.0f} s, depth stops {script.depth_stop[0]:.0f}-'
          f'{script.depth_stop[1]:.0f} s and is all-invalid {script.depth_invalid[0]:.0f}-'
          f'{script.depth_invalid[1]:.0f} s; segmentation_node with {models_dir}', flush=True)
    try:
        result, paths = run_live_demo(models, out / 'live', script)
    except RuntimeError as exc:
        LOG.error('%s', exc)
        return 1
    summary = result.summary()
    print()
    print(format_summary(summary, paths))
    print(f'\nlive demo finished in {time.monotonic() - started:.0f} s; open '
          f'{paths["markdown"]} for the full report.')
    problems = check_demo(summary)
    for problem in problems:
        LOG.error('demo check failed: %s', problem)
    return 1 if problems else 0


def offline(out: Path, fusion: Path, rgb: Path, quick: bool, suffix: str,
            depth: Path | None = None, world: str = TEST_WORLD) -> int:
    """
    Record the demo bag in ``world`` and replay it through the node's path; returns the exit
    status.
    """
    from rgbd_seg_ros.replay.evaluate import ReplayConfig, replay_bag
    from rgbd_seg_ros.replay.make_bag import Window, make_bag
    from rgbd_seg_ros.replay.params import (
        default_params_file,
        load_node_parameters,
        segmentation_params,
    )
    from rgbd_seg_ros.replay.report import format_summary, write_report

    started = time.monotonic()
    bag = out / f'bag{suffix}'
    if bag.exists():
        shutil.rmtree(bag)
    if quick:
        frames, gaps, invalid = 60, [Window(1.5, 2.5)], [Window(3.0, 3.4)]
    else:
        frames, gaps, invalid = 180, [Window(4.0, 7.0)], [Window(9.0, 10.0)]
    LOG.info('recording %s: %d frames of %s at 15 Hz, depth gaps %s, all-invalid depth %s',
             bag, frames, world, [(w.start_s, w.end_s) for w in gaps],
             [(w.start_s, w.end_s) for w in invalid])
    make_bag(bag, frames=frames, rate_hz=15.0, seed=1234, size=(120, 160), depth_gaps=gaps,
             depth_invalid=invalid, world=world)

    values = load_node_parameters([default_params_file()])
    values.update(BAG_TOPICS, fusion_model=str(fusion), rgb_model=str(rgb),
                  depth_model=str(depth or ''))
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


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line (``--help``); refuses ``--quick`` with ``--offline``."""
    from rgbd_seg_ros.sim import WORLDS

    parser = argparse.ArgumentParser(prog='python -m tools.demo', description=__doc__.split(
        '\n\n')[0])
    parser.add_argument('--out', default='out/demo', help='output folder (default %(default)s)')
    parser.add_argument('--models', default=str(SHIPPED),
                        help='folder of the shipped bundles (default %(default)s)')
    how = parser.add_mutually_exclusive_group()
    how.add_argument('--offline', action='store_true',
                     help='record a bag and replay it through the node path (shipped models)')
    how.add_argument('--train', action='store_true',
                     help='train small models from scratch, then the offline replay')
    parser.add_argument('--quick', action='store_true',
                        help='implies --train: a few training steps and a short bag (smoke)')
    parser.add_argument('--max-iters', type=int, help='--train: steps per model (default: the '
                                                     "configs' max_iters; --quick: 20)")
    parser.add_argument('--world', choices=tuple(WORLDS), default=TEST_WORLD,
                        help='synthetic world the camera (and --train) renders (default '
                             "%(default)s, the shipped models' world)")
    args = parser.parse_args(argv)
    if args.quick and args.offline:
        parser.error('--quick trains models: use it with --train, not --offline')
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(name)s: '
                                                   '%(message)s')
    out = Path(args.out)
    if not (args.train or args.quick or args.offline):
        return live(out, Path(args.models), args.world)
    if args.offline:
        models = _shipped(Path(args.models))
        if models is None:
            return 1
        return offline(out, models['fusion_model'], models['rgb_model'], False, '',
                       models['depth_model'], args.world)
    max_iters = args.max_iters if args.max_iters is not None else (20 if args.quick else None)
    suffix = '_quick' if args.quick else ''
    runs = out / 'runs'
    tag = '' if args.world == TEST_WORLD else f'_{args.world}'  # other worlds train apart
    try:
        fusion = train_model('synthetic_rgbd.yaml', runs / f'rgbd{tag}{suffix}', max_iters,
                             args.world)
        rgb = train_model('synthetic_rgb.yaml', runs / f'rgb{tag}{suffix}', max_iters,
                          args.world)
    except RuntimeError as exc:
        LOG.error('%s', exc)
        return 1
    return offline(out, fusion, rgb, args.quick, suffix, world=args.world)


if __name__ == '__main__':
    sys.exit(main())
