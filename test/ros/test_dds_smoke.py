# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""Smoke test of the DDS set-up: two processes exchange 640x480 rgb8 images over Fast DDS."""

from pathlib import Path
import subprocess
import sys

from dds_peer import HEIGHT, WIDTH, pattern
import numpy as np
import pytest
from rclpy.qos import QoSProfile, ReliabilityPolicy
from ros_test_helpers import RosTestContext, ros_env
from sensor_msgs.msg import Image

from rgbd_seg_ros.ros.conversions import image_to_rgb

pytestmark = pytest.mark.ros
PEER = Path(__file__).with_name('dds_peer.py')
COUNT = 5


@pytest.mark.parametrize('reliability', ['reliable', 'best_effort'])
def test_two_processes_exchange_vga_images(ros_domain_id, reliability):
    received = []
    with RosTestContext(ros_domain_id) as ros:
        policy = (ReliabilityPolicy.RELIABLE if reliability == 'reliable'
                  else ReliabilityPolicy.BEST_EFFORT)
        ros.node.create_subscription(Image, 'smoke/image', received.append,
                                     QoSProfile(depth=COUNT, reliability=policy))
        peer = subprocess.Popen([sys.executable, str(PEER), str(COUNT), reliability],
                                env=ros_env(ros_domain_id), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        try:
            ros.spin_until(lambda: len(received) >= COUNT, timeout=30.0)
            peer.wait(timeout=30.0)
        finally:
            if peer.poll() is None:
                peer.kill()
                peer.wait(timeout=10.0)
        log = peer.stdout.read().decode(errors='replace')
        assert peer.returncode == 0, log
    # Shared memory with a large segment: every frame arrives, intact and in order.
    assert [m.header.frame_id for m in received] == [f'frame_{i}' for i in range(COUNT)]
    for i, msg in enumerate(received):
        assert (msg.height, msg.width, msg.encoding) == (HEIGHT, WIDTH, 'rgb8')
        np.testing.assert_array_equal(image_to_rgb(msg), pattern(i))
