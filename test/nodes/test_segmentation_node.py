# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
segmentation_node end to end over Fast DDS: camera_sim_node -> node -> this test's subscriber,
each in its own process, tiny random models at 64x80 and a 10 Hz camera.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
import re
import time

from diagnostic_msgs.msg import DiagnosticArray
import pytest
from ros_test_helpers import (
    CAMERA_HEIGHT,
    CAMERA_WIDTH,
    REPO,
    RosTestContext,
    stamp_key,
    start_module,
    stop_process,
    write_params,
)
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String

from rgbd_seg_ros.ros.diagnostics import frame_mode
from rgbd_seg_ros.ros.qos import latched_qos, qos_profile

pytestmark = pytest.mark.ros
NODE = 'rgbd_seg_ros.nodes.segmentation_node'
CAMERA = 'rgbd_seg_ros.nodes.camera_sim_node'
RATE = 10.0
PERIOD = 1.0 / RATE
FRAME_ID = 'camera_color_optical_frame'
# Scheduling and delivery slack on a loaded 2-core machine, seconds.
SLACK = 0.25


@dataclass
class Probe:
    """What the test process sees, with monotonic arrival times."""

    rgb: list = field(default_factory=list)
    depth_stamps: list = field(default_factory=list)  # header stamps, seconds
    labels: list = field(default_factory=list)
    modes: list = field(default_factory=list)  # (arrival, mode)
    frame_modes: dict = field(default_factory=dict)  # stamp key -> (mode, reason, frame_id)
    diagnostics: dict = field(default_factory=dict)


def attach_probe(node) -> Probe:
    probe = Probe()
    # deep histories: this process also publishes and checks, and must not miss what it records
    sensor = qos_profile('sensor_data', 100)
    node.create_subscription(Image, 'rgb/image_rect_color', probe.rgb.append, sensor)
    node.create_subscription(Image, 'depth_registered/image_rect',
                             lambda m: probe.depth_stamps.append(seconds(m.header.stamp)),
                             sensor)
    node.create_subscription(Image, 'segmentation/labels', probe.labels.append,
                             qos_profile('reliable', 100))
    node.create_subscription(String, 'segmentation/mode',
                             lambda m: probe.modes.append((time.monotonic(), m.data)),
                             latched_qos())

    def on_status(msg):
        mode = frame_mode(msg)
        if mode is not None:
            probe.frame_modes[stamp_key(msg.header.stamp)] = (*mode, msg.header.frame_id)
    node.create_subscription(DiagnosticArray, 'segmentation/frame_status', on_status,
                             qos_profile('reliable', 100))

    def on_diag(msg):
        for status in msg.status:
            if status.name.endswith(': segmentation'):
                probe.diagnostics = {kv.key: kv.value for kv in status.values}
    node.create_subscription(DiagnosticArray, '/diagnostics', on_diag, 10)
    return probe


def seconds(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def switches_in_log(log: str) -> list[tuple[float, str, str]]:
    """(node time, from, to) of every mode switch the node logged."""
    return [(float(t), a, b) for a, b, t in re.findall(r'mode (\w+) -> (\w+) at ([\d.]+) s', log)]


def node_params(tmp_path, checkpoints, **extra):
    params = {'fusion_model': str(checkpoints['fusion']), 'rgb_model': str(checkpoints['rgb']),
              'depth_timeout': 0.3, 'recover_frames': 3, 'sync_slop': 0.02,
              'diagnostics_period': 0.5, **extra}
    # The shipped YAML first, the test's values on top: the YAML must be loadable as is.
    return [REPO / 'config' / 'segment.yaml', write_params(tmp_path / 'node.yaml', params)]


def camera_params(tmp_path, **extra):
    # Two subscribers (node and test) before the first frame: fault times count from there.
    params = {'rate': RATE, 'width': CAMERA_WIDTH, 'height': CAMERA_HEIGHT,
              'publish_ground_truth': False, 'min_subscribers': 2, **extra}
    return [write_params(tmp_path / 'camera.yaml', params)]


def wait_node_ready(ros, probe, node_proc, log):
    """The node publishes its mode (latched) once models are loaded and topics exist."""
    ok = ros.spin_until(lambda: probe.modes or node_proc.poll() is not None, timeout=90.0)
    assert ok and node_proc.poll() is None, log.read_text()


def check_labels_match_rgb(probe: Probe,
                           injected: frozenset[tuple[int, int]] = frozenset()) -> None:
    """
    Labels carry a camera RGB frame's stamp and frame_id, at the input size, and none carries
    the stamp of a message this test published itself (``injected``: this process receives its
    own malformed frames too, so they are not camera frames). (The node may match the camera
    before this test does: labels older than the first camera frame seen here are not checked.)
    """
    labelled_injected = injected & {stamp_key(m.header.stamp) for m in probe.labels}
    assert not labelled_injected, f'labels for injected frames {sorted(labelled_injected)}'
    rgb_stamps = {stamp_key(m.header.stamp) for m in probe.rgb} - injected
    checked = [m for m in probe.labels if stamp_key(m.header.stamp) >= min(rgb_stamps)]
    assert len(checked) >= 5, f'{len(checked)} label images arrived'
    for msg in checked:
        assert stamp_key(msg.header.stamp) in rgb_stamps
        assert msg.header.frame_id == FRAME_ID
        assert (msg.height, msg.width, msg.encoding) == (CAMERA_HEIGHT, CAMERA_WIDTH, 'mono8')


def missing_outputs(probe: Probe) -> int:
    """RGB frames seen here (from the first labelled one to 1 s before the end) without labels."""
    label_stamps = {stamp_key(m.header.stamp) for m in probe.labels}
    rgb_stamps = sorted(stamp_key(m.header.stamp) for m in probe.rgb)
    first = min(s for s in rgb_stamps if s in label_stamps)
    horizon = (rgb_stamps[-1][0] - 1, rgb_stamps[-1][1])
    return sum(1 for s in rgb_stamps if first <= s <= horizon and s not in label_stamps)


def test_depth_dropout_switches_mode_and_every_frame_gets_labels(tmp_path, ros_domain_id,
                                                                  tiny_checkpoints):
    node_log, cam_log = tmp_path / 'node.log', tmp_path / 'camera.log'
    with RosTestContext(ros_domain_id) as ros:
        probe = attach_probe(ros.node)
        node = start_module(NODE, ros_domain_id, node_params(tmp_path, tiny_checkpoints),
                            node_log)
        camera = None
        try:
            wait_node_ready(ros, probe, node, node_log)
            camera = start_module(CAMERA, ros_domain_id, camera_params(
                tmp_path, qos='sensor_data', depth_stop_start=2.5, depth_stop_end=4.5), cam_log)
            assert ros.spin_until(lambda: len(probe.rgb) > 0, 60.0), cam_log.read_text()
            started = time.monotonic()
            ros.spin_until(lambda: time.monotonic() - started > 6.5, 10.0)
            camera_stopped = time.time()  # the nodes' clock is the system clock
            stop_process(camera)
            ros.spin_for(1.5)  # the node drains; diagnostics of the quiet state arrive
        finally:
            if camera is not None:
                stop_process(camera)
            node_rc = stop_process(node)
    log = node_log.read_text()
    assert node_rc == 0, log
    check_labels_match_rgb(probe)
    diag = {k: int(v) for k, v in probe.diagnostics.items() if v.isdigit()}
    # Every RGB frame the node accepted left the synchroniser; each one the worker took gave
    # labels (the others were replaced in the latest-only slot, counted, or still in flight).
    assert diag['sync rgb_in'] == diag['sync emitted']
    outputs = diag['frames rgbd'] + diag['frames rgb']
    assert diag['sync emitted'] == diag['dropped (worker busy)'] + outputs, probe.diagnostics
    assert diag['worker errors'] == 0
    assert missing_outputs(probe) <= diag['dropped (worker busy)'], probe.diagnostics
    assert diag['frames rgb'] > 0 and diag['frames rgbd'] > 0
    # Every output's mode comes with its stamp: as many per mode as the node counted.
    statuses = [probe.frame_modes.get(stamp_key(m.header.stamp)) for m in probe.labels]
    assert all(s is not None and s[2] == FRAME_ID for s in statuses)
    by_mode = {m: sum(s[0] == m for s in statuses) for m in ('rgbd', 'rgb')}
    assert sum(by_mode.values()) == len(probe.labels) and min(by_mode.values()) > 0
    fallback = [s for s in statuses if s[0] == 'rgb']
    assert any('no valid depth' in s[1] or 'no depth within' in s[1] for s in fallback), fallback

    # The outage in camera time: the longest gap between depth stamps (2 s scripted).
    gap, last_before, first_after = max(
        (b - a, a, b) for a, b in zip(probe.depth_stamps, probe.depth_stamps[1:]))
    assert 1.5 < gap < 2.5, gap
    # Switch times in node time (same system clock as the stamps).
    switches = [s for s in switches_in_log(log) if probe.depth_stamps[0] < s[0] < camera_stopped]
    to_rgb = [t for t, a, b in switches if (a, b) == ('rgbd', 'rgb') and t > last_before]
    back = [t for t, a, b in switches if (a, b) == ('rgb', 'rgbd') and t > first_after]
    assert to_rgb and to_rgb[0] < first_after, switches
    # Within depth_timeout + one frame period (+ delivery and scheduling slack).
    assert to_rgb[0] - last_before <= 0.3 + PERIOD + SLACK, (to_rgb[0] - last_before, switches)
    # Back after recover_frames (3) good frames: the third arrives 2 periods after the first.
    assert back and back[0] - first_after <= 2 * PERIOD + SLACK, switches
    assert switches[-1][2] == 'rgbd'


def _malformed_images():
    def image(encoding, height, width, step, size, sec):
        msg = Image(height=height, width=width, encoding=encoding, step=step)
        msg.header.stamp.sec, msg.header.frame_id = sec, FRAME_ID
        msg.data = bytes(size)
        return msg
    rgb = [image('rgb8', 64, 80, 240, 240 * 64 - 1, 1),  # data one byte short
           image('yuv422', 64, 80, 160, 160 * 64, 2),  # unknown encoding
           image('rgb8', 0, 0, 0, 0, 3)]  # zero size
    depth = [image('16UC1', 64, 80, 100, 100 * 64, 4)]  # step < width * 2
    return rgb, depth


def back_from_depth_mode(probe: Probe) -> bool:
    modes = [m for _, m in probe.modes]
    return 'depth' in modes and 'rgbd' in modes[modes.index('depth'):]


def test_reliable_camera_malformed_input_and_rgb_blackout(tmp_path, ros_domain_id,
                                                          tiny_checkpoints):
    """Malformed messages are dropped and counted; a black RGB stream runs the depth model."""
    node_log, cam_log = tmp_path / 'node.log', tmp_path / 'camera.log'
    with RosTestContext(ros_domain_id) as ros:
        probe = attach_probe(ros.node)
        qos = qos_profile('reliable', 10)
        bad_rgb_pub = ros.node.create_publisher(Image, 'rgb/image_rect_color', qos)
        bad_depth_pub = ros.node.create_publisher(Image, 'depth_registered/image_rect', qos)
        bad_info_pub = ros.node.create_publisher(CameraInfo, 'rgb/camera_info', qos)
        node = start_module(NODE, ros_domain_id, node_params(
            tmp_path, tiny_checkpoints, depth_model=str(tiny_checkpoints['depth'])), node_log)
        camera = None
        try:
            wait_node_ready(ros, probe, node, node_log)
            camera = start_module(CAMERA, ros_domain_id, camera_params(
                tmp_path, qos='reliable', rgb_blackout_start=2.0, rgb_blackout_end=3.0), cam_log)
            assert ros.spin_until(lambda: len(probe.labels) >= 5, 60.0), node_log.read_text()
            assert ros.spin_until(lambda: all(p.get_subscription_count() >= 1 for p in (
                bad_rgb_pub, bad_depth_pub, bad_info_pub)), 10.0)
            rgb, depth = _malformed_images()
            injected = frozenset(stamp_key(m.header.stamp) for m in rgb + depth)
            for _ in range(2):
                for msg in rgb:
                    bad_rgb_pub.publish(msg)
                for msg in depth:
                    bad_depth_pub.publish(msg)
                bad_info_pub.publish(CameraInfo(width=80, height=64))  # uncalibrated: K = 0
                ros.spin_for(0.1)
            after_burst = len(probe.labels)
            assert ros.spin_until(lambda: len(probe.labels) >= after_burst + 10, 30.0)
            assert ros.spin_until(lambda: back_from_depth_mode(probe), 30.0), probe.modes
            ros.spin_for(1.2)  # a diagnostics message after the burst
            assert node.poll() is None
        finally:
            if camera is not None:
                stop_process(camera)
            node_rc = stop_process(node)
    log = node_log.read_text()
    assert node_rc == 0, log
    check_labels_match_rgb(probe, injected)  # no output for any malformed frame
    assert int(probe.diagnostics['rejected rgb']) == 6, probe.diagnostics
    assert int(probe.diagnostics['rejected depth']) == 2
    assert int(probe.diagnostics['rejected camera_info']) == 2
    assert 'dropped malformed rgb message' in log
    assert int(probe.diagnostics['frames rgbd']) > 0  # the valid frames still ran the fusion
    assert int(probe.diagnostics['frames depth']) > 0  # RGB black: the depth-only model
    assert 'mode rgbd -> depth' in log and 'mode depth -> rgbd' in log


@pytest.mark.parametrize('case, match', [
    ('missing', 'no such checkpoint file'),
    ('classes', 'class sets differ'),
    ('misspelled', "'fusion_modle' (did you mean 'fusion_model'?)"),
])
def test_bad_configuration_exits_non_zero(tmp_path, ros_domain_id, tiny_checkpoints, case,
                                          match):
    rgb = (tmp_path / 'nope.safetensors' if case == 'missing'
           else tiny_checkpoints['rgb_other_classes'])
    values = {'fusion_model': str(tiny_checkpoints['fusion']), 'rgb_model': str(rgb)}
    if case == 'misspelled':  # silently ignored before: the node ran RGB-only
        values = {'fusion_modle': values['fusion_model'],
                  'rgb_model': str(tiny_checkpoints['rgb'])}
    params = write_params(tmp_path / 'bad.yaml', values)
    log = tmp_path / 'node.log'
    proc = start_module(NODE, ros_domain_id, [params], log)
    try:
        rc = proc.wait(timeout=120.0)
    finally:
        stop_process(proc)
    assert rc == 2
    assert match in log.read_text()



@contextlib.contextmanager
def node_then_camera(tmp_path, ros_domain_id, checkpoints, node_extra, camera_extra):
    """The node (ready), then the camera; yields (ros, probe, node log); both stopped after."""
    node_log, cam_log = tmp_path / 'node.log', tmp_path / 'camera.log'
    with RosTestContext(ros_domain_id) as ros:
        probe = attach_probe(ros.node)
        node = start_module(NODE, ros_domain_id,
                            node_params(tmp_path, checkpoints, **node_extra), node_log)
        camera = None
        try:
            wait_node_ready(ros, probe, node, node_log)
            camera = start_module(CAMERA, ros_domain_id,
                                  camera_params(tmp_path, **camera_extra), cam_log)
            yield ros, probe, node_log
        finally:
            if camera is not None:
                stop_process(camera)
            assert stop_process(node) == 0


def test_millimetres_in_a_metres_encoding_fall_back_naming_depth_scale(tmp_path, ros_domain_id,
                                                                       tiny_checkpoints):
    # a driver that writes millimetres into 32FC1: "2000 m" used to run the fusion model
    with node_then_camera(tmp_path, ros_domain_id, tiny_checkpoints, {}, {
            'depth_encoding': '32FC1', 'depth_units_per_metre': 1000.0}) as (ros, probe, log):
        assert ros.spin_until(lambda: 'rgb' in [m for _, m in probe.modes] and
                              int(probe.diagnostics.get('implausible depth', '0')) > 0,
                              60.0), log.read_text()
    text = log.read_text()
    assert 'is beyond depth_max_m 20 m' in text and 'set depth_scale:=0.001' in text, text
    rgbd = {k for k, (mode, _, _) in probe.frame_modes.items() if mode == 'rgbd'}
    assert len(rgbd) <= 2  # at most frames of the start-up grace ran the fusion model


def test_a_silent_input_is_named_with_its_near_misses(tmp_path, ros_domain_id, tiny_checkpoints):
    # the camera on other topic names: the node used to say only "no valid depth"
    with node_then_camera(tmp_path, ros_domain_id, tiny_checkpoints,
                          {'rgb_topic': 'camera/color/image_raw'},
                          {'min_subscribers': 1}) as (ros, probe, log):
        assert ros.spin_until(lambda: 'no rgb on /camera/color/image_raw' in log.read_text(),
                              30.0), log.read_text()
        ros.spin_until(lambda: int(probe.diagnostics.get('depth received', '0')) > 0, 10.0)
    line = next(s for s in log.read_text().splitlines() if 'no rgb on' in s)
    assert 'no publisher' in line and '/rgb/image_rect_color' in line and 'rgb_topic' in line
    assert probe.diagnostics['rgb received'] == '0'
    assert int(probe.diagnostics['depth received']) > 0  # the other inputs are counted
    assert float(probe.diagnostics['rgb silent (s)']) >= 3.0
    assert not probe.labels

def test_near_misses_and_the_silent_input_line():
    from rgbd_seg_ros.ros.watchdog import near_misses, silent_input_message

    topics = ['/camera/camera/color/image_raw', '/camera/camera/depth/image_rect_raw',
              '/rosout_images', '/camera/color/image_raw']
    assert near_misses('/camera/color/image_raw', topics)[0] == \
        '/camera/camera/color/image_raw'
    assert '/camera/color/image_raw' not in near_misses('/camera/color/image_raw', topics)
    line = silent_input_message('depth', '/d', 4.0, 2, [], 'depth_topic')
    assert '2 publisher(s) but nothing arrives (QoS mismatch' in line
    assert 'no topic of this type exists' in line and 'set depth_topic' in line


def test_one_model_node_falls_back_to_its_fusion_model_without_depth(tmp_path, ros_domain_id,
                                                                     tiny_checkpoint):
    """
    rgb_fallback: fusion_model over DDS: during the depth outage the node keeps publishing,
    in rgb mode, the labels of its one fusion model fed missing depth (no second model).
    """
    import numpy as np

    from rgbd_seg_ros.core.camera import CameraIntrinsics
    from rgbd_seg_ros.core.depth import missing_depth
    from rgbd_seg_ros.core.inference import Segmenter
    from rgbd_seg_ros.ros import conversions as conv

    fusion = tiny_checkpoint('node_fusion_dropout', input_size=(CAMERA_HEIGHT, CAMERA_WIDTH),
                             arch='fusion', fusion='se_add', depth_modality='hha',
                             provenance={'config': {'data': {'depth_dropout_p': 0.3}}})
    with node_then_camera(tmp_path, ros_domain_id, {'fusion': fusion, 'rgb': ''},
                          {'rgb_fallback': 'fusion_model'},
                          {'depth_stop_start': 2.0, 'depth_stop_end': 4.0}) as (ros, probe, log):
        assert ros.spin_until(lambda: len(probe.rgb) > 0, 60.0), log.read_text()
        started = time.monotonic()
        ros.spin_until(lambda: time.monotonic() - started > 5.5, 8.0)
    check_labels_match_rgb(probe)
    rgb_by_stamp = {stamp_key(m.header.stamp): m for m in probe.rgb}
    reference = Segmenter.from_checkpoint(fusion)
    intr = CameraIntrinsics(60.0, 60.0, (CAMERA_WIDTH - 1) / 2, (CAMERA_HEIGHT - 1) / 2,
                            CAMERA_WIDTH, CAMERA_HEIGHT)
    fallback = [m for m in probe.labels
                if probe.frame_modes.get(stamp_key(m.header.stamp), ('',))[0] == 'rgb'
                and stamp_key(m.header.stamp) in rgb_by_stamp]
    assert len(fallback) >= 3, (len(fallback), probe.frame_modes)
    for msg in fallback:
        rgb = conv.image_to_rgb(rgb_by_stamp[stamp_key(msg.header.stamp)])
        expected = reference.predict(rgb, missing_depth(*rgb.shape[:2]), intr)
        np.testing.assert_array_equal(conv.image_to_labels(msg), expected)
    assert {s[0] for s in probe.frame_modes.values()} == {'rgbd', 'rgb'}
    assert probe.diagnostics['rgb fallback'] == 'fusion_model, depth missing (one model)'
