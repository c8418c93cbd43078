# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Deterministic offline replay: a bag through the node's processing path, with bag time as clock.

Every message of the RGB, depth, camera_info (and ground-truth) topics is read in bag time order
and handed to the node's ``core.pipeline.FramePipeline`` (pairing, depth-health state machine,
models, output assembly), with ``now`` = the message's bag (receive) time, and the node's timer
(every ``min(0.05, depth_timeout / 4)`` s) replayed on the bag clock. Times given to the
pipeline are seconds since the bag start (same differences as the node's absolute seconds,
without the float rounding of 1.7e9 s). Every frame the pipeline releases is processed as the
node's worker does, but without dropping frames (the node's latest-only slot drops frames only
when inference is slower than the camera; the live replay measures that).

Latency of a frame = the time it waited in the synchronizer for its depth partner or for the
depth timeout (bag time, as the node would have waited) + the callback check, conversion and
inference (measured on this machine).

Each output is scored against the ground-truth image with the same header stamp. On every frame
the node served in a fallback mode the fusion model is also run alone, on the depth it would
have had (the nearest depth within ``sync_slop``, however invalid, or no depth at all during a
gap), so the report says what the fallback is worth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
import logging
from pathlib import Path
import time
from typing import Any

import numpy as np
from tqdm import tqdm

from rgbd_seg_ros.core import image_codec as codec
from rgbd_seg_ros.core.depth import missing_depth
from rgbd_seg_ros.core.model_set import ModelSet
from rgbd_seg_ros.core.node_config import SegmentationParams
from rgbd_seg_ros.core.pipeline import FramePipeline
from rgbd_seg_ros.core.sync import SyncConfig, SyncedFrame
from rgbd_seg_ros.replay.bag_io import BagSource, stamp_ns
from rgbd_seg_ros.replay.make_bag import Window
from rgbd_seg_ros.replay.params import bag_topic, environment_summary, resolve_topics
from rgbd_seg_ros.replay.scoring import (
    BagModeSwitch,
    ExamplePicker,
    FrameRecord,
    ReplayResult,
    put_bounded,
)

LOG = logging.getLogger(__name__)

MAX_EXAMPLES = 4  # frames shown in examples.png
_MAX_PENDING_GT = 256  # ground-truth images kept while waiting for their prediction


DEFAULT_GT_TOPIC = '/camera/segmentation/ground_truth'
TICK_PERIOD_S = 0.05  # the node's timer: pop_ready every min(0.05, depth_timeout / 4) s


@dataclass(frozen=True)
class ReplayConfig:
    """The node's parameters plus what only replay needs (ground truth, injected faults)."""

    params: SegmentationParams  # the node's parameters (models, topics, sync, depth_scale)
    ground_truth_topic: str = DEFAULT_GT_TOPIC  # mono8/mono16 labels with the RGB stamps
    dropouts: tuple[Window, ...] = ()  # injected depth outages, seconds since bag start
    fusion_only: bool = True  # also score the fusion model alone on fallback frames
    examples: int = MAX_EXAMPLES  # example frames kept for the overlay plot

    @property
    def topics(self) -> dict[str, str]:
        """Role -> absolute bag topic name."""
        p = self.params
        return {
            'rgb': bag_topic(p.rgb_topic), 'depth': bag_topic(p.depth_topic),
            'camera_info': bag_topic(p.camera_info_topic),
            'ground_truth': bag_topic(self.ground_truth_topic),
        }

    @property
    def sync(self) -> SyncConfig:
        """The synchronizer settings the node derives from its parameters."""
        return self.params.sync_config()

    @property
    def tick_period(self) -> float:
        """Period of the node's timer that releases frames and applies the depth timeout."""
        return min(TICK_PERIOD_S, self.params.depth_timeout / 4)

    def settings(self) -> dict[str, Any]:
        """JSON-friendly summary for the report."""
        p = self.params
        return {
            'parameters': {f.name: getattr(p, f.name) for f in fields(p)},
            'topics': self.topics,
            'min_valid_ratio': p.min_valid_depth_ratio,
            'models': {'rgbd': p.fusion_model, 'rgb': p.rgb_model, 'depth': p.depth_model},
            'injected_depth_dropouts': [[w.start_s, w.end_s] for w in self.dropouts],
            'environment': environment_summary(),
        }


@dataclass
class _RgbTag:
    """What the replay attaches to each RGB frame it gives the pipeline."""

    stamp_ns: int
    t_ns: int
    check_ms: float  # time of the callback-side check


def load_models(params: SegmentationParams) -> ModelSet:
    """The node's ``ModelSet`` from its parameters, backend included (``from_params``)."""
    return ModelSet.from_params(params)


class OfflineReplay:
    """Replays one bag through sync, state machine and models; see the module docstring."""

    def __init__(self, config: ReplayConfig, models: ModelSet) -> None:
        self.config = config
        self.models = models
        self.labels = models.labels

    # -- the run ------------------------------------------------------------------------------

    def run(
        self, bag_path: str | Path, progress: bool = True,
        on_frame: Callable[[FrameRecord, np.ndarray], None] | None = None,
    ) -> ReplayResult:
        """
        Replay ``bag_path``; returns the filled ``ReplayResult``.

        :param on_frame: called with each frame's record and its labels ``[H, W]``.
        :raises BagError: bag unreadable, truncated, or without the RGB topic.
        """
        cfg = self.config
        with BagSource(bag_path) as bag:
            table = bag.topics()
            topics, notes = resolve_topics(cfg.topics, {n: t.msgtype for n, t in table.items()})
            found = bag.check_topics(topics, required=('rgb',))
            for role in ('depth', 'camera_info'):
                if role not in found:
                    LOG.warning('%s: no %s topic %s; only the RGB model can run', bag_path,
                                role, topics[role])
            self._start_ns = bag.start_ns
            result = ReplayResult(
                bag=str(bag_path), start_ns=bag.start_ns, end_ns=bag.end_ns,
                label_names=tuple(self.labels.names), ignore_index=self.labels.ignore_index,
                settings={**cfg.settings(), 'topics_used': found, 'topic_notes': notes,
                          'backends': self.models.backends,  # what ran, not what was asked
                          'label_colors': [list(c) for c in self.labels.colors]},
            )
            self._result = result
            self._has_gt = 'ground_truth' in found
            self._pipe = FramePipeline.from_params(
                cfg.params, self.models, recent_depth=max(8, cfg.sync.queue_size))
            self._records: dict[int, FrameRecord] = {}
            self._gt: dict[int, np.ndarray] = {}
            self._waiting: dict[int, tuple[FrameRecord, np.ndarray, np.ndarray | None]] = {}
            self._examples = ExamplePicker(cfg.examples, bag.start_ns)
            self._ticks = 0
            self._on_frame = on_frame
            total = sum(table[name].count for name in found.values())
            with tqdm(total=total, desc=f'replay {Path(bag_path).name}', unit='msg',
                      disable=not progress) as bar:
                for rec in bag.records(found):
                    self._tick_until(self._seconds(rec.t_ns))
                    self._handle(rec.role, rec.msg, rec.t_ns)
                    bar.update()
            result.skipped.update(bag.skipped)
            end = self._seconds(bag.end_ns)
            self._tick_until(end)
            self._process(self._pipe.flush(end), end)
            self._collect_events()
        result.frames = sorted(self._records.values(), key=lambda r: (r.t_ns, r.stamp_ns))
        result.settings['sync_stats'] = self._pipe.stats.as_dict()
        result.examples = self._examples.pick()
        return result

    def _seconds(self, t_ns: int) -> float:
        """Bag time or stamp in seconds since the bag start (float64 keeps ns precision)."""
        return (t_ns - self._start_ns) / 1e9

    def _tick_until(self, now: float) -> None:
        """The node's timer: release frames and apply the depth timeout every tick period."""
        while (tick := self._ticks * self.config.tick_period) <= now:
            self._process(self._pipe.pop_ready(tick), tick)
            self._collect_events()
            self._ticks += 1

    def _handle(self, role: str, msg: Any, t_ns: int) -> None:
        """One bag message at bag time ``t_ns``, as the node's subscription callbacks."""
        now = self._seconds(t_ns)
        result = self._result
        if role == 'camera_info':
            try:
                self._pipe.add_camera_info(msg.header.frame_id,
                                           codec.camera_info_to_intrinsics(msg))
            except ValueError as exc:
                result.skipped[f'camera_info: {exc}'] += 1
            return
        stamp = stamp_ns(msg)
        if role == 'depth':
            if any(w.contains(now) for w in self.config.dropouts):
                result.skipped['depth: removed by --inject-depth-dropout'] += 1
                return
            try:
                view = codec.checked_view(msg, codec.DEPTH_ENCODINGS, 'depth')
            except ValueError as exc:
                result.skipped[f'depth: {exc}'] += 1
                return
            self._pipe.add_depth(self._seconds(stamp), msg.header.frame_id, view, msg.encoding,
                                 now=now)
        elif role == 'ground_truth':
            try:
                labels = codec.image_to_labels(msg)
            except ValueError as exc:
                result.skipped[f'ground_truth: {exc}'] += 1
                return
            waiting = self._waiting.pop(stamp, None)
            if waiting is not None:
                self._score(*waiting, gt=labels)
            else:
                put_bounded(self._gt, stamp, labels, _MAX_PENDING_GT)
            return
        else:  # rgb
            if stamp in self._records:
                result.skipped['rgb: duplicate stamp'] += 1
                return
            record = self._records[stamp] = FrameRecord(stamp_ns=stamp, t_ns=t_ns)
            t0 = time.perf_counter()
            try:
                view = codec.checked_view(msg, codec.COLOR_ENCODINGS, 'rgb')
            except ValueError as exc:
                record.note = f'undecodable: {exc}'
                result.skipped[f'rgb: {exc}'] += 1
                return
            tag = _RgbTag(stamp, t_ns, 0.0)
            accepted = self._pipe.add_rgb(self._seconds(stamp), msg.header.frame_id, view,
                                          msg.encoding, now=now, tag=tag)
            tag.check_ms = 1e3 * (time.perf_counter() - t0)
            if not accepted:
                record.note = 'dropped by the synchronizer (duplicate or late stamp)'
        self._process(self._pipe.pop_ready(now), now)
        self._collect_events()

    def _collect_events(self) -> None:
        for ev in self._pipe.pop_events():
            self._result.mode_switches.append(
                BagModeSwitch(self._start_ns + int(round(ev.t * 1e9)), ev.from_mode, ev.to_mode,
                           ev.reason))

    def _process(self, frames: list[SyncedFrame], now: float) -> None:
        """Run the model of each released frame; ``now`` is the bag time of the release."""
        for frame in frames:
            tag: _RgbTag = frame.rgb.tag
            record = self._records[tag.stamp_ns]
            t0 = time.perf_counter()
            try:  # the node's worker: convert what is used, infer; a failure loses the frame
                out = self._pipe.process(frame, now)
            except Exception as exc:  # noqa: BLE001 - as the node, survive any bad frame
                record.note = f'inference failed: {exc!r}'
                self._result.skipped['worker errors (frame without output)'] += 1
                LOG.warning('frame %d: inference failed: %r', tag.stamp_ns, exc)
                continue
            record.sync_wait_ms = 1e3 * out.waited_s
            record.latency_ms = (record.sync_wait_ms + tag.check_ms
                                 + 1e3 * (time.perf_counter() - t0))
            record.mode = out.mode
            nearest = out.depth if out.depth is not None else self._pipe.nearest_depth(
                frame.stamp)
            record.depth_ratio = None if nearest is None else nearest.valid_ratio
            nearest_m = None
            if nearest is not None:
                nearest_m = out.depth_m if nearest is out.depth else \
                    self._pipe.depth_metres(nearest)
            only = None
            if (out.mode != 'rgbd' and self._has_gt and self.config.fusion_only
                    and 'rgbd' in self.models.modes and frame.intrinsics is not None):
                depth_m = (nearest_m if nearest_m is not None
                           else missing_depth(*out.rgb.shape[:2]))
                only = self.models.predict('rgbd', out.rgb, depth_m, frame.intrinsics)
            if self._on_frame is not None:
                self._on_frame(record, out.labels)
            self._examples.offer(record, out.rgb, nearest_m, out.labels, only)
            gt = self._gt.pop(tag.stamp_ns, None)
            if gt is not None:
                self._score(record, out.labels, only, gt=gt)
            elif self._has_gt:
                put_bounded(self._waiting, tag.stamp_ns, (record, out.labels, only),
                            _MAX_PENDING_GT)

    def _score(self, record: FrameRecord, pred: np.ndarray, only: np.ndarray | None,
               gt: np.ndarray) -> None:
        if gt.shape != pred.shape:
            self._result.skipped[
                f'ground_truth: size {gt.shape} differs from the output {pred.shape}'] += 1
            return
        self._result.score_frame(record, gt, pred, only)
        self._examples.add_ground_truth(record, gt)

def replay_bag(
    bag_path: str | Path, config: ReplayConfig, models: ModelSet | None = None,
    progress: bool = True,
) -> ReplayResult:
    """Load the node's models from ``config.params`` (unless given) and replay ``bag_path``."""
    if models is None:
        models = load_models(config.params)
        models.warmup()  # as the node does at start-up: first-frame latency is not a warm-up
    return OfflineReplay(config, models).run(bag_path, progress=progress)
