# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The evaluator node of a live replay: scores the segmentation node's outputs by header stamp.

Each output's mode is read from the node's ``segmentation/frame_status`` (the frame's header,
its mode and why), matched by stamp; the latched ``segmentation/mode`` at the output's reception
stands in only for outputs whose status never arrives (a node without frame status).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
import json
import threading
import time
from typing import Any, NamedTuple

from diagnostic_msgs.msg import DiagnosticArray
import numpy as np
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.subscription import Subscription
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String

from rgbd_seg_ros.core.labels import LabelSet
from rgbd_seg_ros.core.sync import nearest_within
from rgbd_seg_ros.replay.live.clock import ClockMap, ModeTimeline, arrival_ns, header_stamp_ns
from rgbd_seg_ros.replay.live.transport import (
    add_unreceived,
    node_outputs_published,
    note_frames_without_output,
    transport_summary,
)
from rgbd_seg_ros.replay.scoring import (
    BagModeSwitch,
    ExamplePicker,
    FrameRecord,
    ReplayResult,
    put_bounded,
)
from rgbd_seg_ros.ros import conversions as conv
from rgbd_seg_ros.ros.diagnostics import frame_mode
from rgbd_seg_ros.ros.qos import latched_qos, qos_profile

LABELS_TOPIC = '/segmentation/labels'
MODE_TOPIC = '/segmentation/mode'
CLASSES_TOPIC = '/segmentation/classes'
_RECENT = 256  # inputs kept while waiting for their output
_HISTORY = 50  # messages the evaluator's subscriptions keep (1.7 s at 30 Hz)
FRAME_STATUS_TOPIC = '/segmentation/frame_status'
# rclpy >= Iron passes the middleware's MessageInfo (reception time) to two-argument
# callbacks; on Humble the callbacks get None and fall back to the time they run.
_WITH_INFO = hasattr(Subscription, 'CallbackType')


class _Depth(NamedTuple):
    stamp: int  # header stamp, ns
    ratio: float  # valid-pixel fraction (the node's callback-time estimate)
    depth_m: np.ndarray  # metres, for the example images


class ReplayEvaluator(Node):
    """
    Node that scores the segmentation node's outputs by stamp (see the module docstring).

    Build it with ``ReplayEvaluator.create(...)``.
    """

    @classmethod
    def create(cls, params: Any, topics: Mapping[str, str], context: Any = None,
               labels_topic: str = LABELS_TOPIC, mode_topic: str = MODE_TOPIC,
               classes_topic: str = CLASSES_TOPIC, examples: int = 4,
               use_sim_time: bool = True, clock_samples: str = 'subscribe',
               frame_status_topic: str = FRAME_STATUS_TOPIC) -> ReplayEvaluator:
        """
        A ready evaluator; ``topics`` maps role -> absolute topic name.

        ``clock_samples``: ``'subscribe'`` records the ``/clock`` messages it receives; with
        ``'player'`` the player in this process calls ``clock_map.add`` as it publishes (one
        subscription fewer in a busy process).
        """
        if clock_samples not in ('subscribe', 'player'):
            raise ValueError(f"clock_samples must be 'subscribe' or 'player', got "
                             f'{clock_samples!r}')
        return cls(params, topics, context, labels_topic, mode_topic, classes_topic, examples,
                   use_sim_time, clock_samples == 'subscribe', frame_status_topic)

    def __init__(self, params: Any, topics: Mapping[str, str], context: Any,
                 labels_topic: str, mode_topic: str, classes_topic: str, examples: int,
                 use_sim_time: bool, subscribe_clock: bool,
                 frame_status_topic: str = FRAME_STATUS_TOPIC) -> None:
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
        self._depth: deque[_Depth] = deque(maxlen=64)
        self._depth_ratios: list[tuple[int, float]] = []  # every depth frame seen
        self._gt: dict[int, np.ndarray] = {}
        self._waiting: dict[int, np.ndarray] = {}
        self._early: dict[int, tuple[np.ndarray, int]] = {}  # outputs before their RGB
        self._frame_modes: dict[int, str] = {}  # frame_status before its output: stamp -> mode
        self._provisional: set[int] = set()  # outputs whose frame_status has not come yet
        self.status_after_output = 0  # frame statuses that came after their output was scored
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
        # each output's mode, published (and so, when both are ready, taken) before the labels
        self.create_subscription(DiagnosticArray, frame_status_topic, self._on_frame_status,
                                 q_out)
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
        if _WITH_INFO:
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
            self.clock_map.add(arrival_ns(info), header_stamp_ns(msg.clock))

    def _on_rgb(self, msg: Any, info: Mapping[str, Any] | None) -> None:
        received_ns = arrival_ns(info)
        stamp = header_stamp_ns(msg.header.stamp)
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
            stamp = header_stamp_ns(msg.header.stamp)
            self._depth.append(_Depth(stamp, ratio, depth_m))
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
        stamp = header_stamp_ns(msg.header.stamp)
        with self.lock:
            pending = self._waiting.pop(stamp, None)
            if pending is not None:
                self._score(self.records[stamp], pending, gt)
            else:
                put_bounded(self._gt, stamp, gt, _RECENT)

    def _on_mode(self, msg: Any, info: Mapping[str, Any] | None) -> None:
        with self.lock:
            self.modes.add(arrival_ns(info), msg.data)

    def _on_frame_status(self, msg: Any) -> None:
        status = frame_mode(msg)
        if status is None:
            return
        stamp = header_stamp_ns(msg.header.stamp)
        with self.lock:
            if stamp in self._provisional:  # the output came first and took a stand-in mode
                self._provisional.discard(stamp)
                self.records[stamp].mode = status[0]
                self.status_after_output += 1
            else:
                put_bounded(self._frame_modes, stamp, status[0], _RECENT)

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

    def _depth_partner(self, stamp: int) -> _Depth | None:
        """The depth frame seen nearest to ``stamp`` within ``sync_slop`` (for the report)."""
        return nearest_within(self._depth, stamp, self.params.sync_slop * 1e9)

    def _on_labels(self, msg: Any, info: Mapping[str, Any] | None) -> None:
        received_ns = arrival_ns(info)
        stamp = header_stamp_ns(msg.header.stamp)
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
        received, _, rgb = self._rgb.pop(stamp, (None, False, None))
        partner = self._depth_partner(stamp)
        record.depth_ratio = None if partner is None else partner.ratio
        mode = self._frame_modes.pop(stamp, None)
        if mode is None:  # stand-in until its frame_status comes: the node's mode then
            self._provisional.add(stamp)
            mode = self.modes.at(received_ns) or self.modes.latest() or 'rgb'
        record.mode = mode
        if received is not None:
            record.latency_ms = 1e-6 * (received_ns - received)
        if self.examples is not None and rgb is not None:
            self.examples.offer(record, rgb, None if partner is None else partner.depth_m,
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
        ``start_ns`` None: the time of the first RGB frame, also when that frame came before
        this call (a camera that starts as soon as the evaluator's subscriber matches).
        """
        with self.lock:
            labels = self.labels
            self._auto_start = start_ns is None
            if start_ns is None:
                start_ns = self.first_input_ns or 0
            self.result_skeleton = ReplayResult(
                bag=bag, start_ns=start_ns, end_ns=start_ns,
                label_names=tuple(labels.names), ignore_index=labels.ignore_index,
                source='live')
            self.result_skeleton.settings['label_colors'] = [list(c) for c in labels.colors]
            self.examples = ExamplePicker(self._examples_limit, start_ns)

    def node_outputs_published(self) -> int | None:
        """Outputs the node reports in /diagnostics (sum of its 'frames MODE' counters)."""
        with self.lock:
            return node_outputs_published(dict(self.node_values))

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
            add_unreceived(self.records, sent or {})
            result.end_ns = max(end_ns, result.start_ns)
            result.frames = sorted(self.records.values(),
                                   key=lambda r: (r.t_ns, r.stamp_ns))
            note_frames_without_output(result.frames, self._depth_ratios,
                                       self.params.sync_slop)
            switches = [BagModeSwitch(self.bag_time_ns(wall), a, b, 'segmentation/mode')
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
        counts = {
            'rgb_received_by_evaluator': len(self.order),
            'outputs_received': self.outputs_received,
            'outputs_matched_to_inputs': with_output,
            'outputs_duplicated': self.duplicate_outputs,
            'outputs_without_known_input': unmatched,
            'mode_switches_after_bag_end': late or None,
            'outputs_scored_before_their_frame_status': self.status_after_output or None,
            'outputs_without_frame_status': len(self._provisional) or None,
        }
        transport = transport_summary(counts, values, sent)
        result.transport = {k: v for k, v in transport.items() if v is not None}
        return result
