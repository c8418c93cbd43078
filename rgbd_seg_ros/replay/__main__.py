# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Offline replay evaluation of a bag through the node's processing path (no DDS, deterministic).

``python -m rgbd_seg_ros.replay --bag BAG --params config/segment.yaml --report out/report``

The node's parameter files (``--params``, then ``--preset``, then ``-p name:=value``) give the
models, topics and synchronisation settings, exactly as for ``segmentation_node``. See
docs/replay.md.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import logging
import sys

from rgbd_seg_ros.replay.bag_io import BagError

LOG = logging.getLogger('rgbd_seg_ros.replay')


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments that select the node configuration (shared with the live replay)."""
    g = parser.add_argument_group('node configuration (as for segmentation_node)')
    g.add_argument('--params', action='append', default=[], metavar='FILE',
                   help='ROS 2 parameter file(s) of segmentation_node, applied in order '
                        '(default: config/segment.yaml)')
    g.add_argument('--preset', help='camera preset applied after --params: realsense, orbbec, '
                                    'zed (config/presets/) or a YAML path')
    g.add_argument('-p', '--param', action='append', default=[], metavar='NAME:=VALUE',
                   help='override one node parameter, e.g. -p depth_timeout:=0.3')
    g.add_argument('--fusion-model', help='RGB-D fusion checkpoint (parameter fusion_model)')
    g.add_argument('--rgb-model', help='RGB-only checkpoint (parameter rgb_model)')
    g.add_argument('--depth-model', help='depth-only checkpoint (parameter depth_model)')
    g.add_argument('--device', help="torch device (parameter device), e.g. 'cuda'")
    g.add_argument('--rgb-topic', help='RGB topic in the bag (parameter rgb_topic)')
    g.add_argument('--depth-topic', help='depth topic in the bag (parameter depth_topic)')
    g.add_argument('--camera-info-topic',
                   help='CameraInfo topic in the bag (parameter camera_info_topic)')


def node_parameters(args: argparse.Namespace) -> dict:
    """Merged node parameter values from the config arguments (files, preset, overrides)."""
    from rgbd_seg_ros.replay.params import (
        default_params_file,
        load_node_parameters,
        parse_overrides,
        preset_file,
    )

    files = list(args.params) or [default_params_file()]
    if args.preset:
        files.append(preset_file(args.preset))
    values = load_node_parameters(files)
    values.update(parse_overrides(args.param))
    shortcuts = {
        'fusion_model': args.fusion_model, 'rgb_model': args.rgb_model,
        'depth_model': args.depth_model, 'device': args.device, 'rgb_topic': args.rgb_topic,
        'depth_topic': args.depth_topic, 'camera_info_topic': args.camera_info_topic,
    }
    values.update({k: v for k, v in shortcuts.items() if v is not None})
    return values


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m rgbd_seg_ros.replay``."""
    from rgbd_seg_ros.replay.evaluate import DEFAULT_GT_TOPIC

    parser = argparse.ArgumentParser(
        prog='python -m rgbd_seg_ros.replay',
        description='Replay a rosbag (rosbag2 mcap/sqlite3, or ROS 1) through the segmentation '
                    "node's sync, depth-health state machine and models with bag time as the "
                    'clock, score against ground truth, and write a report with plots.',
    )
    parser.add_argument('--bag', required=True, help='rosbag2 directory, .mcap/.db3 file or '
                                                     'ROS 1 .bag')
    parser.add_argument('--report', required=True, metavar='DIR',
                        help='output folder for report.json, report.md and the PNG plots')
    add_config_arguments(parser)
    parser.add_argument('--gt-topic', default=DEFAULT_GT_TOPIC,
                        help='ground-truth label topic (mono8/mono16, same stamps as RGB); '
                             "'' for none (default %(default)s)")
    parser.add_argument('--inject-depth-dropout', action='append', default=[], metavar='T1:T2',
                        help='drop the depth messages with T1 <= t < T2 (seconds since the bag '
                             'start); repeat for several outages')
    parser.add_argument('--no-fusion-only', action='store_true',
                        help='do not run the fusion model alone on fallback frames')
    parser.add_argument('--no-plots', action='store_true', help='write JSON and markdown only')
    parser.add_argument('--quiet', action='store_true', help='no progress bar')
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns 0, or 2 on bad arguments/configuration, 1 on an unreadable bag."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s')
    from rgbd_seg_ros.replay.evaluate import ReplayConfig, replay_bag
    from rgbd_seg_ros.replay.make_bag import Window
    from rgbd_seg_ros.replay.params import segmentation_params
    from rgbd_seg_ros.replay.report import format_summary, write_report

    try:
        params = segmentation_params(node_parameters(args))
        config = ReplayConfig(
            params=params, ground_truth_topic=args.gt_topic,
            dropouts=tuple(Window.parse(w) for w in args.inject_depth_dropout),
            fusion_only=not args.no_fusion_only,
        )
    except ValueError as exc:
        parser.error(str(exc))
    try:
        result = replay_bag(args.bag, config, progress=not args.quiet)
    except BagError as exc:
        LOG.error('%s', exc)
        return 1
    except ValueError as exc:  # model configuration (ModelSetError) and friends
        LOG.error('bad configuration: %s', exc)
        return 2
    paths = write_report(result, args.report, plots=not args.no_plots)
    print(format_summary(result.summary(), paths))
    return 0


if __name__ == '__main__':
    sys.exit(main())
