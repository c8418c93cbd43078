# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Live replay over real Fast DDS (shared memory): the bag player with /clock, segmentation_node
in a subprocess with use_sim_time, the evaluator node; compared with the offline replay.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import json
from typing import Any

import pytest
from ros_test_helpers import ros_env, start_module, stop_process, write_params

from rgbd_seg_ros.replay.evaluate import ReplayConfig, replay_bag
from rgbd_seg_ros.replay.make_bag import Window, make_bag
from rgbd_seg_ros.replay.params import segmentation_params

pytestmark = pytest.mark.ros
HEIGHT, WIDTH = 64, 80  # the tiny checkpoints' input size
RATE = 10.0
TOPICS = {
    'rgb_topic': '/camera/color/image_raw',
    'depth_topic': '/camera/aligned_depth_to_color/image_raw',
    'camera_info_topic': '/camera/color/camera_info',
}
# A switch seen over DDS is timed by when the evaluator's middleware received the mode message
# (the bag time then, from /clock samples received the same way): later than offline by the
# node's reaction (its executor shares 2 cores with the player, the evaluator and inference).
SWITCH_LATE_S = 0.3
TICK_S = 0.05  # the node's timer period (min(0.05, depth_timeout / 4))
CLOCK_STEP_S = 0.025  # /clock at 40 Hz between messages


@pytest.fixture(scope='module')
def outage_bag(tmp_path_factory):
    """3 s at 10 Hz; no depth for 1.0 <= t < 1.8 s."""
    path = tmp_path_factory.mktemp('live_bags') / 'outage'
    make_bag(path, frames=30, rate_hz=RATE, seed=2, size=(HEIGHT, WIDTH),
             depth_gaps=[Window(1.0, 1.8)], progress=False)
    return path


def _values(tiny_checkpoints) -> dict:
    # depth_timeout 0.42 s: the timeout does not fall on a frame or timer tick of the bag
    return {'fusion_model': str(tiny_checkpoints['fusion']),
            'rgb_model': str(tiny_checkpoints['rgb']), 'depth_timeout': 0.42, **TOPICS}


def _switches(report: dict) -> list[tuple[float, str]]:
    return [(round(s['t_rel'], 3), s['to']) for s in report['mode_switches']]


def _compare_with_offline(live: dict, offline: dict) -> None:
    assert live['frames'] == offline['frames'] == 30
    transport = live['transport']
    outputs = [f['t_rel'] for f in live['per_frame'] if f['mode']]
    why = (f'transport {transport}; switches live {_switches(live)}, offline '
           f'{_switches(offline)}; outputs at {outputs}')
    assert transport['rgb_sent'] == 30
    # every frame is accounted for: an output, a frame the node's busy worker skipped, or an
    # input or output lost on the way (history overwritten while an executor was busy)
    lost = transport['outputs_lost_in_transport'] + transport['inputs_lost_in_transport']
    dropped = int(transport['node_dropped_worker_busy'])
    assert transport['node_rgb_received'] + transport['inputs_lost_in_transport'] == 30, why
    assert live['frames_with_output'] + lost + dropped == 30, why
    assert lost <= 2, why  # shared memory on one machine: losses are rare
    # the same mode switches at the same bag times, within the transport's delay
    switches = [(s['from'], s['to']) for s in offline['mode_switches']]
    assert [(s['from'], s['to']) for s in live['mode_switches']] == switches, why
    assert switches[:2] == [('rgbd', 'rgb'), ('rgb', 'rgbd')]  # the outage and its end
    for ls, os_ in zip(live['mode_switches'], offline['mode_switches']):
        # the node's timer phase on the bag clock is its own: one tick (and /clock step) early
        assert os_['t'] - TICK_S - CLOCK_STEP_S - 1e-6 <= ls['t'] <= os_['t'] + SWITCH_LATE_S, why
    # frames that got an output in the same mode got the same labels (same per-frame scores)
    offline_frames = {round(f['stamp'], 6): f for f in offline['per_frame']}
    same = 0
    for f in live['per_frame']:
        ref = offline_frames[round(f['stamp'], 6)]
        if f['mode'] is not None and f['mode'] == ref['mode']:
            assert f['miou'] == pytest.approx(ref['miou'], abs=1e-6)
            assert f['pixel_acc'] == pytest.approx(ref['pixel_acc'], abs=1e-6)
            same += 1
    assert same >= 0.5 * live['frames_with_output'] and same >= 8


def test_live_replay_matches_offline_within_transport_losses(
        outage_bag, tiny_checkpoints, ros_domain_id, monkeypatch, tmp_path):
    from rgbd_seg_ros.replay.live import run_live
    from rgbd_seg_ros.replay.report import write_report

    monkeypatch.setenv('ROS_DOMAIN_ID', str(ros_domain_id))
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    values = _values(tiny_checkpoints)
    result = run_live(outage_bag, values, tmp_path / 'live', rate=1.0,
                      gt_topic='/camera/segmentation/ground_truth', startup_timeout_s=90.0)
    paths = write_report(result, tmp_path / 'live', plots=False)
    live = json.loads(paths['json'].read_text())
    offline = replay_bag(outage_bag, ReplayConfig(params=segmentation_params(values)),
                         progress=False).summary()
    assert live['source'] == 'live' and offline['source'] == 'offline'
    assert (tmp_path / 'live' / 'node.log').is_file()
    _compare_with_offline(live, offline)
    assert live['latency_ms']['p50'] > 0 and live['miou'] is not None


@pytest.mark.slow
def test_evaluator_beside_an_external_node(outage_bag, tiny_checkpoints, ros_domain_id,
                                           monkeypatch, tmp_path):
    """``--node external``: the node was started separately, with use_sim_time."""
    from rgbd_seg_ros.replay.live import run_live

    monkeypatch.setenv('ROS_DOMAIN_ID', str(ros_domain_id))
    values = _values(tiny_checkpoints)
    params = write_params(tmp_path / 'node.yaml', {**values, 'use_sim_time': True})
    node = start_module('rgbd_seg_ros.nodes.segmentation_node', ros_domain_id, [params],
                        log=tmp_path / 'node.log')
    assert ros_env(ros_domain_id)['ROS_DOMAIN_ID'] == str(ros_domain_id)
    try:
        result = run_live(outage_bag, {k: v for k, v in values.items() if 'model' not in k},
                          tmp_path / 'report', node='external',
                          gt_topic='/camera/segmentation/ground_truth', startup_timeout_s=90.0)
    finally:
        stop_process(node)
    live = result.summary()
    offline = replay_bag(outage_bag, ReplayConfig(params=segmentation_params(values)),
                         progress=False).summary()
    _compare_with_offline(live, offline)


@pytest.mark.slow
def test_replay_evaluator_beside_another_player(outage_bag, tiny_checkpoints, ros_domain_id,
                                                monkeypatch, tmp_path):
    """The ros2-bag-play recipe: node + ``replay_evaluator`` processes, an independent player."""
    import subprocess
    import sys
    import threading
    import time

    import rclpy

    from rgbd_seg_ros.replay.bag_io import BagSource
    from rgbd_seg_ros.replay.live import BagPlayer

    monkeypatch.setenv('ROS_DOMAIN_ID', str(ros_domain_id))
    values = _values(tiny_checkpoints)
    params = write_params(tmp_path / 'node.yaml', {**values, 'use_sim_time': True})
    node = start_module('rgbd_seg_ros.nodes.segmentation_node', ros_domain_id, [params],
                        log=tmp_path / 'node.log')
    evaluator = subprocess.Popen(
        [sys.executable, '-m', 'rgbd_seg_ros.replay.live', '--params', str(params),
         '--gt-topic', '/camera/segmentation/ground_truth', '--idle-timeout', '3',
         '--no-plots', '--report', str(tmp_path / 'report')],
        env=ros_env(ros_domain_id), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=ros_domain_id)
    try:
        player_node = rclpy.create_node('other_player', context=context)
        with BagSource(outage_bag) as source:
            player = BagPlayer(player_node, source, {
                'rgb': TOPICS['rgb_topic'], 'depth': TOPICS['depth_topic'],
                'camera_info': TOPICS['camera_info_topic'],
                'ground_truth': '/camera/segmentation/ground_truth'})
            deadline = time.monotonic() + 90
            while not (player.subscribers_matched(ignore_nodes=('replay_evaluator',))
                       and player_node.count_subscribers(TOPICS['rgb_topic']) >= 2):
                assert time.monotonic() < deadline, (
                    f'node/evaluator not up: rgb subscribers '
                    f'{player_node.count_subscribers(TOPICS["rgb_topic"])}, node log:\n'
                    + (tmp_path / 'node.log').read_text()[-2000:])
                player.publish_clock(source.start_ns)
                time.sleep(0.1)
            time.sleep(1.0)
            player.play(threading.Event(), tail_s=1.0)
        output, _ = evaluator.communicate(timeout=60)
    finally:
        if evaluator.poll() is None:
            evaluator.kill()
        stop_process(node)
        context.try_shutdown()
    assert evaluator.returncode == 0, output
    live = json.loads((tmp_path / 'report' / 'report.json').read_text())
    assert live['source'] == 'live' and live['frames'] == 30
    assert [(s['from'], s['to']) for s in live['mode_switches']][:2] == [('rgbd', 'rgb'),
                                                                          ('rgb', 'rgbd')]
    assert live['frames_scored'] >= 15 and live['transport']['outputs_received'] >= 15


@contextlib.contextmanager
def _bare_evaluator(domain_id: int) -> Iterator[Any]:
    """A ``ReplayEvaluator`` in its own rclpy context, the synthetic labels known; no node."""
    import rclpy
    from std_msgs.msg import String

    from rgbd_seg_ros.replay.live import ReplayEvaluator
    from rgbd_seg_ros.sim import SYNTHETIC_LABELS

    context = rclpy.Context()
    rclpy.init(context=context, domain_id=domain_id)
    try:
        params = segmentation_params({'rgb_model': 'external'})
        evaluator = ReplayEvaluator.create(
            params, {'rgb': '/cam/rgb', 'ground_truth': '/cam/gt'}, context=context,
            use_sim_time=False)
        evaluator._on_classes(String(data=json.dumps(SYNTHETIC_LABELS.to_dict())))
        try:
            yield evaluator
        finally:
            evaluator.destroy_node()
    finally:
        context.try_shutdown()


def test_an_output_handled_before_its_rgb_frame_is_still_matched(ros_domain_id):
    """The evaluator holds an output whose RGB frame it has not handled yet, then scores it."""
    import numpy as np
    from std_msgs.msg import Header

    from rgbd_seg_ros.ros import conversions as conv
    from rgbd_seg_ros.ros.diagnostics import frame_status
    from rgbd_seg_ros.sim import SYNTHETIC_LABELS

    with _bare_evaluator(ros_domain_id) as evaluator:
        evaluator.start_scoring('bag', 0)
        k = SYNTHETIC_LABELS.num_classes

        def header(t_s: float) -> Header:
            h = Header(frame_id='cam')
            h.stamp.sec, h.stamp.nanosec = int(t_s), int(round((t_s % 1) * 1e9))
            return h

        truth = np.zeros((4, 6), np.uint8)
        truth[:, 3:] = 2
        guess = truth.copy()
        guess[0, 0] = 1  # one pixel of 24 wrong
        rgb = np.zeros((4, 6, 3), np.uint8)
        # the labels of frame 1.0 before its RGB (executor order), frame 2.0's never matched
        evaluator._on_frame_status(frame_status(header(1.0), 'rgb', 'no depth'))
        evaluator._on_labels(conv.labels_to_image(guess, k, header(1.0)), None)
        evaluator._on_labels(conv.labels_to_image(guess, k, header(2.0)), None)
        evaluator._on_rgb(conv.rgb_to_image(rgb, header(1.0)), None)
        evaluator._on_gt(conv.labels_to_image(truth, k, header(1.0)))
        result = evaluator.result(3_000_000_000, sent={1_000_000_000: 1_000_000_000})
    summary = result.summary()
    assert summary['frames_with_output'] == 1 and summary['frames_scored'] == 1
    assert summary['per_frame'][0]['mode'] == 'rgb'  # as its frame_status said
    assert summary['pixel_acc'] == pytest.approx(23 / 24)
    assert result.transport['outputs_without_known_input'] == 1


def test_scoring_started_after_the_first_rgb_frame_counts_time_from_that_frame(ros_domain_id):
    """start_scoring(None) after an RGB frame: times are relative to that frame, not epoch 0."""
    import numpy as np
    from std_msgs.msg import Header

    from rgbd_seg_ros.ros import conversions as conv

    with _bare_evaluator(ros_domain_id) as evaluator:
        header = Header(frame_id='cam')
        header.stamp.sec = 1
        # the camera's first frame arrives while the node is still coming up
        evaluator._on_rgb(conv.rgb_to_image(np.zeros((4, 6, 3), np.uint8), header), None)
        first = evaluator.first_input_ns
        evaluator.start_scoring('live', None)
        result = evaluator.result(first + 2_000_000_000)
    assert first is not None and first > 0
    assert result.start_ns == first
    summary = result.summary()
    assert summary['duration_s'] == pytest.approx(2.0)
    assert summary['per_frame'][0]['t_rel'] == pytest.approx(0.0)
