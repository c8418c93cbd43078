# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""The bag player of a live replay: the bag's topics with their recorded QoS, and ``/clock``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import struct
import threading
import time
from typing import Any

import numpy as np
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image
from tqdm import tqdm

from rgbd_seg_ros.replay.bag_io import BagSource
from rgbd_seg_ros.replay.live.clock import ClockMap
from rgbd_seg_ros.replay.make_bag import Window


def _cdr_stamp_ns(raw: bytes) -> int | None:
    """``header.stamp`` of a CDR message whose first field is a std_msgs/Header."""
    if len(raw) < 12 or raw[0] != 0 or raw[1] not in (0, 1):
        return None
    fmt = '<iI' if raw[1] == 1 else '>iI'
    sec, nanosec = struct.unpack(fmt, raw[4:12])
    return sec * 1_000_000_000 + nanosec


def rclpy_qos(recorded: Sequence[Any]) -> Any:
    """
    The playback QoS of a topic from the rosbags ``Qos`` profiles recorded for it.

    Reliable and transient-local only when every recorded publisher offered it (what they all
    can serve); without a record, rosbag2's playback default: reliable, volatile, keep last 10.
    """
    if not recorded:
        return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10,
                          reliability=ReliabilityPolicy.RELIABLE,
                          durability=DurabilityPolicy.VOLATILE)
    reliable = all(q.reliability.name == 'RELIABLE' for q in recorded)
    latched = all(q.durability.name == 'TRANSIENT_LOCAL' for q in recorded)
    depth = max([int(q.depth) for q in recorded] + [1])
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST, depth=max(depth, 5),
        reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE,
    )


class BagPlayer:
    """
    Publishes a bag's replayed topics with their recorded QoS and ``/clock`` in bag time.

    ``rate`` scales the playback speed (1.0 = as recorded). Depth messages inside the
    ``dropouts`` windows (seconds since the bag start) are not published. ``/clock`` goes out
    before every message and every ``clock_period_s`` wall seconds in between (40 Hz, as
    ``ros2 bag play --clock``: every ``/clock`` message is a callback in each sim-time node's
    Python executor, and at 100 Hz a node busy with inference fell behind on its inputs).
    """

    def __init__(self, node: Any, source: BagSource, topics: Mapping[str, str],
                 rate: float = 1.0, dropouts: Sequence[Window] = (),
                 clock_period_s: float = 0.025) -> None:
        if not np.isfinite(rate) or rate <= 0:
            raise ValueError(f'--rate must be a positive factor, got {rate}')
        if not np.isfinite(clock_period_s) or clock_period_s <= 0:
            raise ValueError(f'the /clock period must be positive, got {clock_period_s} s')
        self.node = node
        self.source = source
        self.topics = {role: name for role, name in topics.items() if name}
        self.rate = float(rate)
        self.dropouts = tuple(dropouts)
        self.clock_period_s = clock_period_s
        self.clock_map: ClockMap | None = None  # fed as /clock goes out (an evaluator's)
        self._clock_type = Clock
        self.clock_pub = node.create_publisher(
            Clock, '/clock', QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
        table = source.topics()
        types = {'sensor_msgs/msg/Image': Image, 'sensor_msgs/msg/CameraInfo': CameraInfo}
        self.publishers: dict[str, Any] = {}
        for name in self.topics.values():
            info = table[name]
            self.publishers[name] = node.create_publisher(types[info.msgtype], name,
                                                          rclpy_qos(info.qos))
        self.sent_rgb: dict[int, int] = {}  # header stamp -> bag time
        self.counts: dict[str, int] = {}
        self.injected = 0
        self.bag_now_ns = source.start_ns

    def subscribers_matched(self, ignore_nodes: Sequence[str] = ('replay_evaluator',)) -> bool:
        """
        Every replayed input topic the node reads has a matched subscriber of a node other
        than ``ignore_nodes`` (the evaluator subscribes to the same topics).
        """
        for role in ('rgb', 'depth', 'camera_info'):
            if role not in self.topics:
                continue
            name = self.topics[role]
            infos = self.node.get_subscriptions_info_by_topic(name)
            ours = sum(i.node_name in ignore_nodes for i in infos)
            if len(infos) <= ours:
                return False
            if self.publishers[name].get_subscription_count() < len(infos):
                return False
        return True

    def publish_clock(self, t_ns: int) -> None:
        """Publish ``/clock`` = ``t_ns`` (never backwards); tell ``clock_map`` if set."""
        self.bag_now_ns = max(self.bag_now_ns, int(t_ns))
        msg = self._clock_type()
        msg.clock.sec = self.bag_now_ns // 1_000_000_000
        msg.clock.nanosec = self.bag_now_ns % 1_000_000_000
        if self.clock_map is not None:
            self.clock_map.add(time.time_ns(), self.bag_now_ns)
        self.clock_pub.publish(msg)

    def _wait_until(self, wall0: float, t_ns: int, stop: threading.Event) -> None:
        """Sleep until bag time ``t_ns`` is due, publishing /clock every ``clock_period_s``."""
        start = self.source.start_ns
        while not stop.is_set():
            due = wall0 + (t_ns - start) / 1e9 / self.rate
            left = due - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, self.clock_period_s))
            now_bag = start + int((time.monotonic() - wall0) * self.rate * 1e9)
            self.publish_clock(min(now_bag, t_ns))

    def play(self, stop: threading.Event, tail_s: float = 2.0) -> None:
        """Publish every message at its bag time, then keep ``/clock`` going ``tail_s`` s."""
        start = self.source.start_ns
        wall0 = time.monotonic()
        total = sum(self.source.topics()[n].count for n in self.topics.values())
        with tqdm(total=total, desc='playing', unit='msg', disable=None) as bar:
            for role, topic, t_ns, raw, _ in self.source.raw_records(self.topics):
                if stop.is_set():
                    return
                self._wait_until(wall0, t_ns, stop)
                bar.update()
                if role == 'depth' and any(w.contains((t_ns - start) / 1e9)
                                           for w in self.dropouts):
                    self.injected += 1
                    continue
                self.publish_clock(t_ns)
                self.publishers[topic].publish(raw)
                self.counts[role] = self.counts.get(role, 0) + 1
                if role == 'rgb':
                    stamp = _cdr_stamp_ns(raw)
                    if stamp is not None:
                        self.sent_rgb[stamp] = t_ns
        end = self.bag_now_ns + int(tail_s * self.rate * 1e9)
        self._wait_until(time.monotonic() - (self.bag_now_ns - start) / 1e9 / self.rate,
                         end, stop)
        self.publish_clock(end)
