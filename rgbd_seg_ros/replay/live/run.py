# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Orchestration of a live replay and the ``replay_evaluator`` command line: the node in a
subprocess, the player and the evaluator in this process, the report.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
import logging
import os
from pathlib import Path
import random
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor

from rgbd_seg_ros.replay.bag_io import BagError, BagSource
from rgbd_seg_ros.replay.live.evaluator import ReplayEvaluator
from rgbd_seg_ros.replay.live.player import BagPlayer
from rgbd_seg_ros.replay.make_bag import Window
from rgbd_seg_ros.replay.scoring import ReplayResult

LOG = logging.getLogger('rgbd_seg_ros.replay.live')
REPO = Path(__file__).resolve().parents[3]


def configure_dds_environment(private_domain: bool) -> None:
    """Loopback-only DDS defaults (never overrides what the user set)."""
    profile = REPO / 'config' / 'fastdds' / 'local_shm.xml'
    if 'FASTDDS_DEFAULT_PROFILES_FILE' not in os.environ and profile.is_file():
        os.environ['FASTDDS_DEFAULT_PROFILES_FILE'] = str(profile)
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    os.environ.setdefault('RMW_IMPLEMENTATION', 'rmw_fastrtps_cpp')
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    if private_domain and 'ROS_DOMAIN_ID' not in os.environ:
        os.environ['ROS_DOMAIN_ID'] = str(random.SystemRandom().randint(120, 220))


def _node_params_file(values: Mapping[str, Any], topics: Mapping[str, str], path: Path) -> Path:
    """The node's merged parameters with the bag's topics and ``use_sim_time``."""
    import yaml

    params = dict(values)
    params.update({'rgb_topic': topics['rgb'], 'depth_topic': topics.get('depth') or '',
                   'camera_info_topic': topics.get('camera_info') or '',
                   'use_sim_time': True})
    for key in ('depth_topic', 'camera_info_topic'):
        if not params[key]:
            params[key] = f'/replay_unused/{key}'
    path.write_text(yaml.safe_dump({'/**': {'ros__parameters': params}}, sort_keys=True))
    return path


def start_node(params_file: Path, log: Path,
               module: str = 'rgbd_seg_ros.nodes.segmentation_node') -> subprocess.Popen:
    """Run ``python -m module --ros-args --params-file params_file``, output to ``log``."""
    cmd = [sys.executable, '-m', module, '--ros-args', '--params-file', str(params_file)]
    env = dict(os.environ)
    repo = str(REPO)
    env['PYTHONPATH'] = repo + (os.pathsep + env['PYTHONPATH'] if env.get('PYTHONPATH') else '')
    env['PYTHONUNBUFFERED'] = '1'
    out = log.open('w')
    try:
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    finally:
        out.close()


def stop_node(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGINT, then SIGKILL after ``timeout`` seconds."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


def log_tail(path: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of a log file ('' when unreadable)."""
    try:
        return '\n'.join(path.read_text(errors='replace').splitlines()[-lines:])
    except OSError:
        return ''


def run_live(
    bag: str | Path, values: Mapping[str, Any], report_dir: str | Path, rate: float = 1.0,
    gt_topic: str = '', dropouts: Sequence[Window] = (), node: str = 'auto',
    startup_timeout_s: float = 120.0, drain_s: float = 2.0, clock_hz: float = 40.0,
) -> ReplayResult:
    """
    Play ``bag`` over DDS against the segmentation node and evaluate its outputs.

    :param values: merged node parameter values (as ``load_node_parameters`` returns them).
    :param node: ``'auto'`` starts the node here (log in ``report_dir/node.log``),
        ``'external'`` uses a running one (it must have ``use_sim_time:=true``).
    :param clock_hz: ``/clock`` messages per wall second between the bag's messages.
    :raises BagError: unreadable bag or missing topics; ``RuntimeError``: the node did not come
        up in ``startup_timeout_s``.
    """
    from rgbd_seg_ros.replay.params import bag_topic, resolve_topics, segmentation_params

    if node not in ('auto', 'external'):
        raise ValueError(f"--node must be 'auto' or 'external', got {node!r}")
    if not np.isfinite(clock_hz) or clock_hz <= 0:
        raise ValueError(f'--clock-hz must be positive, got {clock_hz}')
    configure_dds_environment(private_domain=node == 'auto')
    report = Path(report_dir)
    report.mkdir(parents=True, exist_ok=True)
    check_values = dict(values)
    if node == 'external' and not check_values.get('rgb_model'):
        check_values['rgb_model'] = 'external'  # the running node has its own models
    params = segmentation_params(check_values)


    with BagSource(bag) as source:
        wanted = {'rgb': bag_topic(params.rgb_topic), 'depth': bag_topic(params.depth_topic),
                  'camera_info': bag_topic(params.camera_info_topic),
                  'ground_truth': bag_topic(gt_topic)}
        table = source.topics()
        topics, notes = resolve_topics(wanted, {n: t.msgtype for n, t in table.items()})
        found = source.check_topics(topics, required=('rgb',))
        proc = None
        if node == 'auto':
            params_file = _node_params_file(values, found, report / 'node_params.yaml')
            proc = start_node(params_file, report / 'node.log')
        context = rclpy.Context()
        rclpy.init(context=context)
        # one thread: callbacks run in subscription order (an RGB frame before its labels);
        # under the GIL a second thread adds no speed, only races
        executor = SingleThreadedExecutor(context=context)
        stop = threading.Event()
        try:
            evaluator = ReplayEvaluator.create(params, found, context=context,
                                               clock_samples='player')
            player_node = rclpy.create_node('bag_player', context=context)
            player = BagPlayer(player_node, source, found, rate, dropouts,
                               clock_period_s=1.0 / clock_hz)
            player.clock_map = evaluator.clock_map
            executor.add_node(evaluator)
            executor.add_node(player_node)
            spinner = threading.Thread(target=executor.spin, daemon=True)
            spinner.start()
            deadline = time.monotonic() + startup_timeout_s
            while not (evaluator.node_ready() and player.subscribers_matched()):
                if proc is not None and proc.poll() is not None:
                    raise RuntimeError(
                        f'segmentation_node exited with {proc.returncode} during start-up:\n'
                        + log_tail(report / 'node.log'))
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f'segmentation_node did not come up within {startup_timeout_s:.0f} s '
                        '(no segmentation/classes or no subscription to the bag topics)'
                        + (':\n' + log_tail(report / 'node.log') if proc else ''))
                player.publish_clock(source.start_ns)
                time.sleep(0.05)
            time.sleep(0.3)  # let the node's clock subscription see the bag start
            evaluator.start_scoring(str(bag), source.start_ns)
            LOG.info('node ready; playing %s at rate %.2f', bag, rate)
            player.play(stop, tail_s=drain_s)
            # wait for the last outputs and a fresh /diagnostics
            diag_seen = evaluator.diagnostics_received
            quiet_deadline = time.monotonic() + max(5.0, 3 * drain_s)
            while time.monotonic() < quiet_deadline:
                idle = time.monotonic() - evaluator.last_activity
                if idle > 1.0 and evaluator.diagnostics_received > diag_seen:
                    break
                player.publish_clock(player.bag_now_ns + int(0.05 * rate * 1e9))
                time.sleep(0.05)
            skipped = dict(source.skipped)
            if player.injected:
                skipped['depth: removed by --inject-depth-dropout'] = player.injected
            settings = {
                'parameters': {k: v for k, v in sorted(values.items())},
                'topics_used': found, 'topic_notes': notes, 'rate': rate, 'node': node,
                'min_valid_ratio': params.min_valid_depth_ratio,
                'injected_depth_dropouts': [[w.start_s, w.end_s] for w in dropouts],
                'messages_published': dict(player.counts),
                'ros_domain_id': os.environ.get('ROS_DOMAIN_ID'),
            }
            result = evaluator.result(source.end_ns, player.sent_rgb, settings)
            result.skipped.update(skipped)
        finally:
            stop.set()
            executor.shutdown(timeout_sec=2.0)
            context.try_shutdown()
            if proc is not None:
                stop_node(proc)
    return result


def run_evaluator_only(args: argparse.Namespace, values: Mapping[str, Any],
                       ros_args: Sequence[str]) -> ReplayResult | None:
    """``replay_evaluator``: evaluate a node fed by ``ros2 bag play --clock`` (or a robot)."""
    from rgbd_seg_ros.replay.params import bag_topic, segmentation_params

    values = dict(values)
    if not values.get('rgb_model'):
        values['rgb_model'] = 'external'  # the running node has its own models
    params = segmentation_params(values)
    topics = {'rgb': bag_topic(params.rgb_topic), 'depth': bag_topic(params.depth_topic),
              'camera_info': bag_topic(params.camera_info_topic),
              'ground_truth': bag_topic(args.gt_topic)}
    context = rclpy.Context()
    rclpy.init(args=list(ros_args), context=context)
    executor = SingleThreadedExecutor(context=context)
    try:
        evaluator = ReplayEvaluator.create(params, topics, context=context,
                                           use_sim_time=not args.wall_clock)
        executor.add_node(evaluator)
        LOG.info('waiting for segmentation_node (segmentation/classes) ...')
        while context.ok() and not evaluator.node_ready():
            executor.spin_once(timeout_sec=0.1)
        evaluator.start_scoring('live topics', None)
        LOG.info('scoring; stops %.1f s after the inputs stop (or Ctrl-C)', args.idle_timeout)
        try:
            while context.ok():
                executor.spin_once(timeout_sec=0.1)
                started = evaluator.first_input_ns is not None
                if started and time.monotonic() - evaluator.last_activity > args.idle_timeout:
                    break
        except KeyboardInterrupt:
            pass
        if evaluator.first_input_ns is None:
            LOG.error('no input frames were received on %s', topics['rgb'])
            return None
        result = evaluator.result(evaluator.now_ns())
        result.settings.update({'topics_used': topics,
                                'min_valid_ratio': params.min_valid_depth_ratio})
        return result
    finally:
        executor.shutdown(timeout_sec=2.0)
        context.try_shutdown()


def build_parser() -> argparse.ArgumentParser:
    """Command line of the live replay and of ``replay_evaluator``."""
    from rgbd_seg_ros.replay.__main__ import add_config_arguments
    from rgbd_seg_ros.replay.evaluate import DEFAULT_GT_TOPIC

    parser = argparse.ArgumentParser(
        prog='python -m rgbd_seg_ros.replay.live',
        description='With --bag: play the bag over DDS (recorded QoS, /clock) against '
                    'segmentation_node and evaluate its outputs. Without --bag '
                    '(replay_evaluator): only evaluate, e.g. beside ros2 bag play --clock.',
    )
    parser.add_argument('--bag', help='rosbag2 directory, .mcap/.db3 file or ROS 1 .bag')
    parser.add_argument('--report', required=True, metavar='DIR', help='output folder')
    parser.add_argument('--rate', type=float, default=1.0, help='playback speed factor')
    parser.add_argument('--clock-hz', type=float, default=40.0,
                        help='/clock messages per second between messages (default '
                             '%(default)s, as ros2 bag play --clock)')
    parser.add_argument('--node', choices=('auto', 'external'), default='auto',
                        help="'auto': start segmentation_node here with use_sim_time; "
                             "'external': use a running one")
    add_config_arguments(parser)
    parser.add_argument('--gt-topic', default=DEFAULT_GT_TOPIC,
                        help="ground-truth label topic; '' for none (default %(default)s)")
    parser.add_argument('--inject-depth-dropout', action='append', default=[], metavar='T1:T2',
                        help='do not publish depth for T1 <= t < T2 (s since the bag start)')
    parser.add_argument('--startup-timeout', type=float, default=120.0,
                        help='seconds to wait for the node (model loading)')
    parser.add_argument('--drain', type=float, default=2.0,
                        help='bag seconds of /clock after the last message')
    parser.add_argument('--idle-timeout', type=float, default=5.0,
                        help='evaluator only: stop this many seconds after the last input')
    parser.add_argument('--wall-clock', action='store_true',
                        help='evaluator only: use wall time instead of /clock')
    parser.add_argument('--no-plots', action='store_true', help='JSON and markdown only')
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Console scripts ``replay_evaluator`` and ``python -m rgbd_seg_ros.replay.live``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    ros_args: list[str] = []
    if '--ros-args' in argv:
        i = argv.index('--ros-args')
        argv, ros_args = argv[:i], argv[i:]
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s')
    from rgbd_seg_ros.replay.__main__ import node_parameters
    from rgbd_seg_ros.replay.report import format_summary, write_report

    try:
        values = node_parameters(args)
        dropouts = [Window.parse(w) for w in args.inject_depth_dropout]
    except ValueError as exc:
        parser.error(str(exc))
    if args.bag is None:
        configure_dds_environment(private_domain=False)
        try:
            result = run_evaluator_only(args, values, ros_args)
        except ValueError as exc:
            parser.error(str(exc))
        if result is None:
            return 1
    else:
        try:
            result = run_live(args.bag, values, args.report, rate=args.rate,
                              gt_topic=args.gt_topic, dropouts=dropouts, node=args.node,
                              startup_timeout_s=args.startup_timeout, drain_s=args.drain,
                              clock_hz=args.clock_hz)
        except BagError as exc:
            LOG.error('%s', exc)
            return 1
        except (RuntimeError, ValueError) as exc:
            LOG.error('%s', exc)
            return 2
    paths = write_report(result, args.report, plots=not args.no_plots)
    print(format_summary(result.summary(), paths))
    return 0


if __name__ == '__main__':
    sys.exit(main())
