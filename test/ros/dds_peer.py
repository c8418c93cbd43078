# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Subprocess half of test_dds_smoke: publishes ``count`` 640x480 rgb8 images on ``smoke/image``
once a subscriber matched; image i is ``pattern(i)``. Exits 0 after publishing, 3 when no
subscriber matched within the timeout.

Usage: python test/ros/dds_peer.py COUNT RELIABILITY(reliable|best_effort)
"""

from __future__ import annotations

import sys
import time

import numpy as np
import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

from rgbd_seg_ros.ros.conversions import rgb_to_image

HEIGHT, WIDTH = 480, 640


def pattern(i: int) -> np.ndarray:
    """Image i: a deterministic gradient, different per frame."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    return np.stack([(x + i) % 256, (y + 2 * i) % 256, (x + y + 3 * i) % 256], axis=2).astype(
        np.uint8)


def main() -> int:
    count, reliability = int(sys.argv[1]), sys.argv[2]
    rclpy.init()
    node = rclpy.create_node('dds_smoke_publisher')
    policy = (ReliabilityPolicy.RELIABLE if reliability == 'reliable'
              else ReliabilityPolicy.BEST_EFFORT)
    pub = node.create_publisher(Image, 'smoke/image', QoSProfile(depth=count,
                                                                 reliability=policy))
    deadline = time.monotonic() + 20.0
    while pub.get_subscription_count() < 1 and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
    if pub.get_subscription_count() < 1:
        return 3
    time.sleep(0.2)  # let the subscriber's reader finish matching our writer
    for i in range(count):
        msg = rgb_to_image(pattern(i))
        msg.header.frame_id = f'frame_{i}'
        pub.publish(msg)
        time.sleep(0.05)
    time.sleep(1.0)  # keep the writer alive while the last samples are read
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
