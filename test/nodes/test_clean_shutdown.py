# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
SIGINT and SIGTERM end segmentation_node and camera_sim_node with exit status 0 and no
traceback, every time, while frames flow (issue 41: 2 of 19 Ctrl-C shutdowns printed
``RCLError: publisher's context is invalid`` before ``ros/lifecycle.run_node``).
"""

from __future__ import annotations

import signal
import time

import pytest
from ros_test_helpers import RosTestContext, start_module, write_params
from sensor_msgs.msg import Image

from rgbd_seg_ros.ros.qos import qos_profile

pytestmark = pytest.mark.ros
NODE = 'rgbd_seg_ros.nodes.segmentation_node'
CAMERA = 'rgbd_seg_ros.nodes.camera_sim_node'
SHUTDOWNS = 20
BAD_WORDS = ('Traceback', 'RCLError', 'Error:', 'inference failed')


def _stop(proc, sig, log) -> None:
    proc.send_signal(sig)
    try:
        rc = proc.wait(timeout=20.0)
    except Exception:
        proc.kill()
        raise
    text = log.read_text()
    assert rc == 0, (sig, rc, text)
    bad = [w for w in BAD_WORDS if w in text]
    assert not bad, (sig, bad, text)


def _wait(ros, predicate, procs, log) -> None:
    def done():
        return predicate() or any(p.poll() is not None for p in procs)
    assert ros.spin_until(done, timeout=90.0), log.read_text()
    assert all(p.poll() is None for p in procs), log.read_text()


def test_twenty_shutdowns_while_frames_flow(tmp_path, ros_domain_id, tiny_checkpoints):
    camera = write_params(tmp_path / 'camera.yaml', {
        'rate': 30.0, 'width': 80, 'height': 64, 'publish_ground_truth': False,
        'precompute_frames': 8})
    node = write_params(tmp_path / 'node.yaml', {
        'fusion_model': str(tiny_checkpoints['fusion']),
        'rgb_model': str(tiny_checkpoints['rgb']), 'diagnostics_period': 0.2})
    with RosTestContext(ros_domain_id, 'shutdown_probe') as ros:
        labels = []
        ros.node.create_subscription(Image, 'segmentation/labels', labels.append,
                                     qos_profile('reliable', 10))
        for i in range(SHUTDOWNS):
            sig = signal.SIGINT if i % 2 == 0 else signal.SIGTERM
            logs = (tmp_path / f'camera_{i}.log', tmp_path / f'node_{i}.log')
            procs = (start_module(CAMERA, ros_domain_id, [camera], logs[0]),
                     start_module(NODE, ros_domain_id, [node], logs[1]))
            try:
                # the node is up, then frames flow: labels arrive (camera -> node -> here)
                node_log = logs[1]
                _wait(ros, lambda log=node_log: 'models for modes' in log.read_text(), procs,
                      node_log)
                labels.clear()
                _wait(ros, lambda: len(labels) >= 3, procs, logs[1])
                time.sleep(0.05 * (i % 4))  # land the signal at different points of a frame
                # the node first (mid-frame, camera still publishing), then the camera
                _stop(procs[1], sig, logs[1])
                _stop(procs[0], sig, logs[0])
            finally:
                for p in procs:
                    if p.poll() is None:
                        p.kill()
                        p.wait()
