# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Live replay over real DDS: a bag player with ``/clock``, the segmentation node, an evaluator.

``python -m rgbd_seg_ros.replay.live --bag BAG --rate 1.0 --params config/segment.yaml
--report DIR`` publishes the bag's RGB, depth, camera_info (and ground-truth) topics with the QoS
recorded in the bag and a ``/clock`` (rosgraph_msgs/Clock) in bag time, starts
``segmentation_node`` in a subprocess with ``use_sim_time`` (or, with ``--node external``, uses
one that is already running with ``use_sim_time:=true``) and scores the node's
``segmentation/labels`` by header stamp with ``ReplayEvaluator``. The report is the offline one
plus what only a live run can show: outputs lost in transport, frames the node skipped because
inference was busy (its latest-only slot), and latency from input to output as received.

The evaluator alone is the console script ``replay_evaluator`` (this module's ``main`` without
``--bag``): run it beside ``ros2 bag play --clock BAG`` and a node with ``use_sim_time:=true``;
it writes the report when the inputs stop (``--idle-timeout``) or on Ctrl-C. See docs/replay.md.

Per-frame modes: the labels message does not say which model produced it. The evaluator takes
the node's mode (``segmentation/mode``) at the time the output arrives and, in ``rgbd`` mode,
checks that a good depth frame within ``sync_slop`` and a camera_info had been seen, as the
node's synchronizer does; frames without one are counted as RGB-model frames.

DDS stays on this machine: unless already set, ``FASTDDS_DEFAULT_PROFILES_FILE`` is pointed at
``config/fastdds/local_shm.xml``, ``ROS_AUTOMATIC_DISCOVERY_RANGE`` is ``LOCALHOST`` and, when the
node is started here, a private random ``ROS_DOMAIN_ID`` is used.
"""

from __future__ import annotations

import argparse
import bisect
from collections import deque
from collections.abc import Mapping, Sequence
import json
import logging
import os
from pathlib import Path
import random
import signal
import struct
import subprocess
import sys
import threading
import time
from typing import Any

import numpy as np

from rgbd_seg_ros.replay.bag_io import BagError, BagSource
from rgbd_seg_ros.replay.make_bag import Window
from rgbd_seg_ros.replay.scoring import (
    ExamplePicker,
    FrameRecord,
    ModeSwitch,
    ReplayResult,
    put_bounded,
)

LOG = logging.getLogger(__name__)

LABELS_TOPIC = '/segmentation/labels'
MODE_TOPIC = '/segmentation/mode'
CLASSES_TOPIC = '/segmentation/classes'
_RECENT = 256  # inputs kept while waiting for their output
_HISTORY = 50  # messages the evaluator's subscriptions keep (1.7 s at 30 Hz)


def configure_dds_environment(private_domain: bool) -> None:
    """Loopback-only DDS defaults (never overrides what the user set)."""
    profile = Path(__file__).resolve().parents[2] / 'config' / 'fastdds' / 'local_shm.xml'
    if 'FASTDDS_DEFAULT_PROFILES_FILE' not in os.environ and profile.is_file():
        os.environ['FASTDDS_DEFAULT_PROFILES_FILE'] = str(profile)
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    os.environ.setdefault('RMW_IMPLEMENTATION', 'rmw_fastrtps_cpp')
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    if private_domain and 'ROS_DOMAIN_ID' not in os.environ:
        os.environ['ROS_DOMAIN_ID'] = str(random.SystemRandom().randint(120, 220))


def _int_or_none(value: str | None) -> int | None:
    """A diagnostics value as an int (None when missing or not a number)."""
    try:
        return None if value is None else int(float(value))
    except ValueError:
        return None


def _stamp_ns(stamp: Any) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def _cdr_stamp_ns(raw: bytes) -> int | None:
    """``header.stamp`` of a CDR message whose first field is a std_msgs/Header."""
    if len(raw) < 12 or raw[0] != 0 or raw[1] not in (0, 1):
        return None
    fmt = '<iI' if raw[1] == 1 else '>iI'
    sec, nanosec = struct.unpack(fmt, raw[4:12])
    return sec * 1_000_000_000 + nanosec


class _Steps:
    """A step function of reception time (system clock, ns): values kept sorted by time."""

    def __init__(self) -> None:
        self._wall: list[int] = []
        self._value: list[Any] = []

    def __len__(self) -> int:
        return len(self._wall)

    def _insert(self, wall_ns: int, value: Any) -> int:
        """Insert in time order (arrivals may be slightly out of order); returns the index."""
        i = bisect.bisect_right(self._wall, wall_ns)
        self._wall.insert(i, wall_ns)
        self._value.insert(i, value)
        return i

    def _index_at(self, wall_ns: int) -> int:
        """Index of the last value set at or before ``wall_ns``; -1 before the first."""
        return bisect.bisect_right(self._wall, wall_ns) - 1


class ClockMap(_Steps):
    """
    Bag time at a wall-clock instant, from the ``/clock`` samples as the DDS layer received them.

    Each sample pairs the middleware's reception time (``received_timestamp``, system clock, ns)
    with the bag time it carried. ``at(wall_ns)`` is the bag time that was current then: the
    last sample received at or before ``wall_ns`` (so as coarse as the ``/clock`` steps: 25 ms
    from our player). Times taken this way do not depend on when the executor got round to a
    callback.
    """

    def __init__(self, keep: int = 200_000) -> None:
        super().__init__()
        self._keep = keep

    def add(self, wall_ns: int, sim_ns: int) -> None:
        """Record one sample."""
        self._insert(wall_ns, sim_ns)
        if len(self._wall) > 2 * self._keep:
            del self._wall[:self._keep], self._value[:self._keep]

    def at(self, wall_ns: int) -> int | None:
        """Bag time current at ``wall_ns`` (the first sample's before it); None when empty."""
        return self._value[max(self._index_at(wall_ns), 0)] if self._wall else None


class ModeTimeline(_Steps):
    """
    The node's mode over time, keyed by when each ``segmentation/mode`` message was received
    (system clock, ns), so an output is attributed by its own reception time, not by callback
    order.
    """

    def add(self, wall_ns: int, mode: str) -> tuple[str | None, str] | None:
        """Record a mode message; returns ``(from, to)`` when it changed the mode, else None."""
        i = self._insert(wall_ns, mode)
        before = self._value[i - 1] if i else None
        return None if before == mode else (before, mode)

    def at(self, wall_ns: int) -> str | None:
        """The mode in effect at ``wall_ns``; None before the first message."""
        i = self._index_at(wall_ns)
        return self._value[i] if i >= 0 else None

    def latest(self) -> str | None:
        """The mode of the latest message received; None before the first."""
        return self._value[-1] if self._value else None

    def switches(self) -> list[tuple[int, str, str]]:
        """``(wall_ns, from, to)`` for every change, in time order."""
        return [(w, a, b) for w, a, b in zip(self._wall[1:], self._value, self._value[1:])
                if a != b]


def _received_ns(info: Mapping[str, Any] | None) -> int:
    """The middleware's reception time of a message (system clock, ns), else now."""
    if info:
        received = int(info.get('received_timestamp') or 0)
        if received > 0:
            return received
    return time.time_ns()


def rclpy_qos(recorded: Sequence[Any]) -> Any:
    """
    The playback QoS of a topic from the rosbags ``Qos`` profiles recorded for it.

    Reliable and transient-local only when every recorded publisher offered it (what they all
    can serve); without a record, rosbag2's playback default: reliable, volatile, keep last 10.
    """
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

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


# --------------------------------------------------------------------------------------------
# The evaluator node


class ReplayEvaluator:
    """
    Node that scores the segmentation node's outputs by stamp (see the module docstring).

    Build it with ``ReplayEvaluator.create(...)``; it is an ``rclpy.node.Node`` subclass made
    lazily so this module imports without rclpy.
    """

    @staticmethod
    def create(params: Any, topics: Mapping[str, str], context: Any = None,
               labels_topic: str = LABELS_TOPIC, mode_topic: str = MODE_TOPIC,
               classes_topic: str = CLASSES_TOPIC, examples: int = 4,
               use_sim_time: bool = True, clock_samples: str = 'subscribe') -> Any:
        """
        A ready ``_EvaluatorNode``; ``topics`` maps role -> absolute topic name.

        ``clock_samples``: ``'subscribe'`` records the ``/clock`` messages it receives; with
        ``'player'`` the player in this process calls ``clock_map.add`` as it publishes (one
        subscription fewer in a busy process).
        """
        if clock_samples not in ('subscribe', 'player'):
            raise ValueError(f"clock_samples must be 'subscribe' or 'player', got "
                             f'{clock_samples!r}')
        return _evaluator_class()(params, topics, context, labels_topic, mode_topic,
                                  classes_topic, examples, use_sim_time,
                                  clock_samples == 'subscribe')


def _evaluator_class() -> type:
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from rclpy.subscription import Subscription
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import CameraInfo, Image
    from std_msgs.msg import String

    from rgbd_seg_ros.core.labels import LabelSet
    from rgbd_seg_ros.ros import conversions as conv
    from rgbd_seg_ros.ros.qos import latched_qos, qos_profile

    # rclpy >= Iron passes the middleware's MessageInfo (reception time) to two-argument
    # callbacks; on Humble the callbacks get None and fall back to the time they run.
    with_info = hasattr(Subscription, 'CallbackType')

    class _EvaluatorNode(Node):
        def __init__(self, params: Any, topics: Mapping[str, str], context: Any,
                     labels_topic: str, mode_topic: str, classes_topic: str, examples: int,
                     use_sim_time: bool, subscribe_clock: bool) -> None:
            super().__init__('replay_evaluator', context=context, parameter_overrides=[
                Parameter('use_sim_time', Parameter.Type.BOOL, use_sim_time)])
            self.params = params
            self.topics = dict(topics)
            self.lock = threading.Lock()
            self.labels: LabelSet | None = None
            self.modes = ModeTimeline()  # by reception time: robust to executor delays
            self.clock_map = ClockMap()  # reception time -> bag time
            self.use_sim_time = use_sim_time
            self.records: dict[int, FrameRecord] = {}
            self.order: list[int] = []
            # received (system clock, ns), camera_info seen, rgb
            self._rgb: dict[int, tuple[int, bool, np.ndarray]] = {}
            self._depth: deque[tuple[int, float, np.ndarray]] = deque(maxlen=64)
            self._depth_ratios: list[tuple[int, float]] = []  # every depth frame seen
            self._gt: dict[int, np.ndarray] = {}
            self._waiting: dict[int, np.ndarray] = {}
            self._early: dict[int, tuple[np.ndarray, int]] = {}  # outputs before their RGB
            self._info_seen = False
            self._examples_limit = examples
            self.examples: ExamplePicker | None = None
            self.result_skeleton: ReplayResult | None = None
            self.outputs_received = 0
            self.duplicate_outputs = 0
            self.unmatched_outputs = 0
            self.skipped: dict[str, int] = {}
            self.node_values: dict[str, str] = {}
            self.diagnostics_received = 0
            self.last_activity = time.monotonic()
            self.first_input_ns: int | None = None
            self._auto_start = False
            # deep histories: what the evaluator misses while busy it cannot score
            q_in = qos_profile('sensor_data', _HISTORY)
            q_out = qos_profile(params.output_qos, _HISTORY)
            if use_sim_time and subscribe_clock:  # /clock samples, with their reception times
                self._subscribe(Clock, '/clock', self._on_clock, QoSProfile(
                    depth=100, reliability=ReliabilityPolicy.BEST_EFFORT))
            # the mode before the labels: when both are ready the executor takes it first;
            # keep 16 so that switches close together survive a busy evaluator
            self._subscribe(String, mode_topic, self._on_mode, latched_qos(depth=16))
            self._subscribe(Image, topics['rgb'], self._on_rgb, q_in)
            if topics.get('depth'):
                self.create_subscription(Image, topics['depth'], self._on_depth, q_in)
            if topics.get('camera_info'):
                self.create_subscription(CameraInfo, topics['camera_info'], self._on_info, q_in)
            if topics.get('ground_truth'):
                self.create_subscription(Image, topics['ground_truth'], self._on_gt, q_in)
            self.labels_sub = self._subscribe(Image, labels_topic, self._on_labels, q_out)
            self.labels_topic = labels_topic
            self.create_subscription(String, classes_topic, self._on_classes, latched_qos())
            self.create_subscription(DiagnosticArray, '/diagnostics', self._on_diag, 10)

        # -- helpers ------------------------------------------------------------------------

        def now_ns(self) -> int:
            return int(self.get_clock().now().nanoseconds)

        def _subscribe(self, msg_type: Any, topic: str, callback: Any, qos: Any) -> Any:
            """A subscription whose ``callback(msg, info)`` gets the MessageInfo (or None)."""
            if with_info:
                return self.create_subscription(msg_type, topic, callback, qos)
            return self.create_subscription(msg_type, topic, lambda m: callback(m, None), qos)

        def bag_time_ns(self, wall_ns: int) -> int:
            """Bag (ROS) time at the system-clock instant ``wall_ns``."""
            if not self.use_sim_time:
                return wall_ns
            t = self.clock_map.at(wall_ns)
            return self.now_ns() if t is None else t

        def _skip(self, key: str) -> None:
            self.skipped[key] = self.skipped.get(key, 0) + 1

        def _touch(self) -> None:
            self.last_activity = time.monotonic()

        # -- callbacks ----------------------------------------------------------------------

        def _on_clock(self, msg: Any, info: Mapping[str, Any] | None) -> None:
            with self.lock:
                self.clock_map.add(_received_ns(info), _stamp_ns(msg.clock))

        def _on_rgb(self, msg: Any, info: Mapping[str, Any] | None) -> None:
            received_ns = _received_ns(info)
            stamp = _stamp_ns(msg.header.stamp)
            now = self.now_ns() or stamp
            with self.lock:
                self._touch()
                if self.first_input_ns is None:
                    self.first_input_ns = now
                    if self._auto_start and self.result_skeleton is not None:
                        self.result_skeleton.start_ns = now
                        self.examples.start_ns = now
                if stamp in self.records:
                    self._skip('rgb: duplicate stamp')
                    return
                try:
                    rgb = conv.image_to_rgb(msg)
                except ValueError as exc:
                    rgb = None
                    self._skip(f'rgb: {exc}')
                record = FrameRecord(stamp_ns=stamp, t_ns=now)
                if rgb is None:
                    record.note = 'undecodable RGB'
                self.records[stamp] = record
                self.order.append(stamp)
                if rgb is not None:
                    put_bounded(self._rgb, stamp, (received_ns, self._info_seen, rgb), _RECENT)
                early = self._early.pop(stamp, None)
                if early is not None:
                    self._accept_output(record, *early)

        def _on_depth(self, msg: Any) -> None:
            try:  # the node's callback-time estimate, and the metres for example images
                ratio = conv.depth_valid_ratio(msg)
                depth_m, _ = conv.image_to_depth_m(msg, self.params.depth_scale or None)
            except ValueError as exc:
                with self.lock:
                    self._skip(f'depth: {exc}')
                return
            with self.lock:
                self._touch()
                stamp = _stamp_ns(msg.header.stamp)
                self._depth.append((stamp, ratio, depth_m))
                self._depth_ratios.append((stamp, ratio))

        def _on_info(self, msg: Any) -> None:
            with self.lock:
                self._info_seen = True

        def _on_gt(self, msg: Any) -> None:
            try:
                gt = conv.image_to_labels(msg)
            except ValueError as exc:
                with self.lock:
                    self._skip(f'ground_truth: {exc}')
                return
            stamp = _stamp_ns(msg.header.stamp)
            with self.lock:
                pending = self._waiting.pop(stamp, None)
                if pending is not None:
                    self._score(self.records[stamp], pending, gt)
                else:
                    put_bounded(self._gt, stamp, gt, _RECENT)

        def _on_mode(self, msg: Any, info: Mapping[str, Any] | None) -> None:
            with self.lock:
                self.modes.add(_received_ns(info), msg.data)

        def _on_classes(self, msg: Any) -> None:
            try:
                labels = LabelSet.from_dict(json.loads(msg.data))
            except ValueError as exc:
                self.get_logger().error(f'bad segmentation/classes message: {exc}')
                return
            with self.lock:
                self.labels = labels

        def _on_diag(self, msg: Any) -> None:
            for status in msg.status:
                if status.name.endswith(': segmentation'):
                    with self.lock:
                        self.node_values = {kv.key: kv.value for kv in status.values}
                        self.diagnostics_received += 1

        def _depth_partner(self, stamp: int) -> tuple[float, np.ndarray] | None:
            slop = self.params.sync_slop * 1e9
            best = None
            for d_stamp, ratio, depth_m in self._depth:
                dt = abs(d_stamp - stamp)
                if dt <= slop and (best is None or dt < best[0]):
                    best = (dt, ratio, depth_m)
            return None if best is None else (best[1], best[2])

        def _on_labels(self, msg: Any, info: Mapping[str, Any] | None) -> None:
            received_ns = _received_ns(info)
            stamp = _stamp_ns(msg.header.stamp)
            try:
                pred = conv.image_to_labels(msg)
            except ValueError as exc:
                with self.lock:
                    self._skip(f'labels: {exc}')
                return
            with self.lock:
                self._touch()
                self.outputs_received += 1
                record = self.records.get(stamp)
                if record is None:  # its RGB may still wait in our queue: match it then
                    if stamp in self._early:
                        self.duplicate_outputs += 1
                        return
                    self.unmatched_outputs += put_bounded(self._early, stamp,
                                                          (pred, received_ns), _RECENT)
                    return
                self._accept_output(record, pred, received_ns)

        def _accept_output(self, record: FrameRecord, pred: np.ndarray,
                           received_ns: int) -> None:
            """Attribute, time and score the output of a known RGB frame (lock held)."""
            stamp = record.stamp_ns
            if record.mode is not None:
                self.duplicate_outputs += 1
                return
            received, info_seen, rgb = self._rgb.pop(stamp, (None, False, None))
            partner = self._depth_partner(stamp)
            record.depth_ratio = None if partner is None else partner[0]
            mode = self.modes.at(received_ns) or self.modes.latest() or 'rgbd'
            if mode == 'rgbd' and (partner is None or not info_seen or
                                   partner[0] < self.params.min_valid_depth_ratio):
                mode = 'rgb'
            if mode == 'rgbd' and not self.params.fusion_model:
                mode = 'rgb'
            record.mode = mode
            if received is not None:
                record.latency_ms = 1e-6 * (received_ns - received)
            if self.examples is not None and rgb is not None:
                self.examples.offer(record, rgb, None if partner is None else partner[1],
                                    pred)
            gt = self._gt.pop(stamp, None)
            if gt is not None:
                self._score(record, pred, gt)
            elif self.topics.get('ground_truth'):
                put_bounded(self._waiting, stamp, pred, _RECENT)

        def _score(self, record: FrameRecord, pred: np.ndarray, gt: np.ndarray) -> None:
            result = self.result_skeleton
            if result is None:
                return
            if gt.shape != pred.shape:
                self._skip(f'ground_truth: size {gt.shape} differs from the output {pred.shape}')
                return
            result.score_frame(record, gt, pred)
            if self.examples is not None:
                self.examples.add_ground_truth(record, gt)

        # -- control ------------------------------------------------------------------------

        def node_ready(self) -> bool:
            """The node is up: classes received and a labels publisher matched."""
            with self.lock:
                have_labels = self.labels is not None
            return have_labels and self.count_publishers(self.labels_topic) > 0

        def start_scoring(self, bag: str, start_ns: int | None) -> None:
            """
            Prepare the result once the label set is known (call after ``node_ready``);
            ``start_ns`` None: the time of the first RGB frame.
            """
            with self.lock:
                labels = self.labels
                self._auto_start = start_ns is None
                start_ns = start_ns or 0
                self.result_skeleton = ReplayResult(
                    bag=bag, start_ns=start_ns, end_ns=start_ns,
                    label_names=tuple(labels.names), ignore_index=labels.ignore_index,
                    source='live')
                self.result_skeleton.settings['label_colors'] = [list(c) for c in labels.colors]
                self.examples = ExamplePicker(self._examples_limit, start_ns)

        def node_outputs_published(self) -> int | None:
            """Outputs the node reports in /diagnostics (sum of its 'frames MODE' counters)."""
            with self.lock:
                values = dict(self.node_values)
            frames = [n for k, v in values.items()
                      if k.startswith('frames ') and (n := _int_or_none(v)) is not None]
            return sum(frames) if frames else None

        def result(self, end_ns: int, sent: Mapping[int, int] | None = None,
                   settings: Mapping[str, Any] | None = None) -> ReplayResult:
            """
            The ``ReplayResult``; ``sent`` maps the RGB stamps the player published to their bag
            times (frames never received by the evaluator are added as frames without output).
            """
            with self.lock:
                result = self.result_skeleton
                if result is None:
                    raise RuntimeError('start_scoring was never called (the node never came up)')
                if sent:
                    for stamp, t_ns in sent.items():
                        record = self.records.get(stamp)
                        if record is None:
                            self.records[stamp] = FrameRecord(
                                stamp_ns=stamp, t_ns=t_ns,
                                note='RGB not received by the evaluator')
                        else:
                            record.t_ns = t_ns  # exact bag time of the published message
                result.end_ns = max(end_ns, result.start_ns)
                result.frames = sorted(self.records.values(),
                                       key=lambda r: (r.t_ns, r.stamp_ns))
                depth = np.array(self._depth_ratios, dtype=np.float64).reshape(-1, 2)
                slop_ns = self.params.sync_slop * 1e9
                for rec in result.frames:
                    if rec.mode is None and rec.note is None:
                        rec.note = 'no output received'
                    if rec.mode is None and len(depth):
                        dt = np.abs(depth[:, 0] - rec.stamp_ns)
                        if dt.min() <= slop_ns:
                            rec.depth_ratio = float(depth[int(dt.argmin()), 1])
                switches = [ModeSwitch(self.bag_time_ns(wall), a, b, 'segmentation/mode')
                            for wall, a, b in self.modes.switches()]
                # switches once the bag has ended (no more depth) are not the bag's
                result.mode_switches = [s for s in switches if s.t_ns <= result.end_ns]
                late = len(switches) - len(result.mode_switches)
                result.skipped.update(self.skipped)
                result.examples = self.examples.pick() if self.examples else []
                result.settings.update(settings or {})
                with_output = sum(r.mode is not None for r in result.frames)
                unmatched = self.unmatched_outputs + len(self._early)
                values = dict(self.node_values)
            published = self.node_outputs_published()
            node_rgb = _int_or_none(values.get('rgb received'))
            transport = {
                'rgb_sent': len(sent) if sent else None,
                'rgb_received_by_evaluator': len(self.order),
                'outputs_received': self.outputs_received,
                'outputs_matched_to_inputs': with_output,
                'outputs_duplicated': self.duplicate_outputs,
                'outputs_without_known_input': unmatched,
                'node_rgb_received': node_rgb,
                'inputs_lost_in_transport': (None if not sent or node_rgb is None
                                             else max(0, len(sent) - node_rgb)),
                'node_outputs_published': published,
                'outputs_lost_in_transport': (None if published is None else
                                              max(0, published - self.outputs_received)),
                'node_dropped_worker_busy': values.get('dropped (worker busy)'),
                'node_sync_unpaired': values.get('sync unpaired'),
                'mode_switches_after_bag_end': late or None,
            }
            result.transport = {k: v for k, v in transport.items() if v is not None}
            return result

    return _EvaluatorNode


# --------------------------------------------------------------------------------------------
# The player


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
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from rosgraph_msgs.msg import Clock
        from sensor_msgs.msg import CameraInfo, Image

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
        from tqdm import tqdm

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


# --------------------------------------------------------------------------------------------
# Orchestration


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


def _start_node(params_file: Path, log: Path) -> subprocess.Popen:
    cmd = [sys.executable, '-m', 'rgbd_seg_ros.nodes.segmentation_node', '--ros-args',
           '--params-file', str(params_file)]
    env = dict(os.environ)
    repo = str(Path(__file__).resolve().parents[2])
    env['PYTHONPATH'] = repo + (os.pathsep + env['PYTHONPATH'] if env.get('PYTHONPATH') else '')
    env['PYTHONUNBUFFERED'] = '1'
    out = log.open('w')
    try:
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    finally:
        out.close()


def _stop_node(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


def _log_tail(path: Path, lines: int = 15) -> str:
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

    import rclpy
    from rclpy.executors import SingleThreadedExecutor

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
            proc = _start_node(params_file, report / 'node.log')
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
                        + _log_tail(report / 'node.log'))
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f'segmentation_node did not come up within {startup_timeout_s:.0f} s '
                        '(no segmentation/classes or no subscription to the bag topics)'
                        + (':\n' + _log_tail(report / 'node.log') if proc else ''))
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
                _stop_node(proc)
    return result


def run_evaluator_only(args: argparse.Namespace, values: Mapping[str, Any],
                       ros_args: Sequence[str]) -> ReplayResult | None:
    """``replay_evaluator``: evaluate a node fed by ``ros2 bag play --clock`` (or a robot)."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

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
