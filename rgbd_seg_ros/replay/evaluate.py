# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Deterministic offline replay: a bag through the node's processing path, with bag time as clock.

Every message of the RGB, depth, camera_info (and ground-truth) topics is read in bag time order
and handed to the same ``core.sync.RgbdSynchronizer`` (pairing + depth-health state machine) the
node uses, with ``now`` = the message's bag (receive) time; every frame it releases is segmented
by the ``core.inference.Segmenter`` of its mode, exactly as the node's worker does, but without
dropping frames (the node's latest-only slot drops frames only when inference is slower than the
camera; the live replay measures that).

Each output is scored against the ground-truth image with the same header stamp. On every frame
the node served in a fallback mode the fusion model is also run alone, on the depth it would
have had (the nearest depth within ``sync_slop``, however invalid, or no depth at all during a
gap), so the report says what the fallback is worth.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
import logging
from pathlib import Path
import time
from typing import Any

import numpy as np
from tqdm import tqdm

from rgbd_seg_ros.core.sync import RgbdSynchronizer, RgbHealthCheck, SyncConfig, SyncedFrame
from rgbd_seg_ros.replay.bag_io import BagSource, BagTopics, stamp_ns
from rgbd_seg_ros.replay.make_bag import Window
from rgbd_seg_ros.replay.scoring import FrameRecord, ModeSwitch, ReplayResult

LOG = logging.getLogger(__name__)

MAX_EXAMPLES = 4  # frames shown in examples.png
_MAX_PENDING_GT = 256  # ground-truth images kept while waiting for their prediction


@dataclass(frozen=True)
class ReplayConfig:
    """What the replay needs: topics, the node's sync parameters and its models."""

    topics: BagTopics = field(default_factory=BagTopics)  # bag topic of each role
    sync: SyncConfig = field(default_factory=SyncConfig)  # the node's pairing/health parameters
    fusion_model: str = ''  # checkpoint of the RGB-D fusion model (mode 'rgbd')
    rgb_model: str = ''  # checkpoint of the RGB-only model (mode 'rgb')
    depth_model: str = ''  # checkpoint of the depth-only model (mode 'depth'), optional
    device: str = 'cpu'  # torch device of inference
    precision: str = 'fp32'  # 'fp32' | 'fp16' | 'bf16' (as the node)
    depth_scale: float = 0.0  # metres per raw depth unit; 0 = the encoding's unit
    dropouts: tuple[Window, ...] = ()  # injected depth outages, seconds since bag start
    fusion_only: bool = True  # also score the fusion model alone on fallback frames
    examples: int = MAX_EXAMPLES  # example frames kept for the overlay plot

    def settings(self) -> dict[str, Any]:
        """JSON-friendly summary for the report."""
        return {
            'topics': self.topics.as_dict(),
            'sync': {k: getattr(self.sync, k) for k in self.sync.__dataclass_fields__},
            'min_valid_ratio': self.sync.min_valid_depth_ratio,
            'models': {'rgbd': self.fusion_model, 'rgb': self.rgb_model,
                       'depth': self.depth_model},
            'device': self.device,
            'precision': self.precision,
            'injected_depth_dropouts': [[w.start_s, w.end_s] for w in self.dropouts],
        }


@dataclass
class _RgbInput:
    stamp_ns: int
    t_ns: int
    rgb: np.ndarray  # uint8 [H, W, 3]
    decode_ms: float


@dataclass
class _DepthInput:
    stamp_ns: int
    depth_m: np.ndarray  # float32 [H, W], 0 invalid
    valid_ratio: float


def load_segmenters(config: ReplayConfig) -> dict[str, Any]:
    """
    Load the checkpoints of ``config`` as mode -> ``Segmenter`` and check that they fit.

    :raises ValueError: no model for 'rgb' mode, wrong input modalities, or label sets that differ.
    """
    from rgbd_seg_ros.core.inference import Segmenter

    paths = {'rgbd': config.fusion_model, 'rgb': config.rgb_model, 'depth': config.depth_model}
    expected = {'rgbd': 'depth and RGB', 'rgb': 'RGB only', 'depth': 'depth only'}
    segmenters: dict[str, Any] = {}
    for mode, path in paths.items():
        if not path:
            continue
        if not Path(path).is_file():
            raise ValueError(f'{mode} model checkpoint not found: {path}')
        seg = Segmenter.from_checkpoint(path, device=config.device, precision=config.precision)
        mods = tuple(seg.modalities)
        ok = {
            'rgbd': 'rgb' in mods and len(mods) == 2,
            'rgb': mods == ('rgb',),
            'depth': 'rgb' not in mods and len(mods) == 1,
        }[mode]
        if not ok:
            raise ValueError(
                f'{mode} model {path} takes inputs {mods}; the {mode} mode needs {expected[mode]}'
            )
        segmenters[mode] = seg
    if 'rgb' not in segmenters:
        raise ValueError('an RGB-only model is required (--rgb-model or the rgb_model parameter)')
    names = {mode: tuple(seg.labels.names) for mode, seg in segmenters.items()}
    if len(set(names.values())) != 1:
        detail = ', '.join(f'{m}: {len(n)} classes' for m, n in names.items())
        raise ValueError(f'the models predict different label sets ({detail})')
    return segmenters


class OfflineReplay:
    """Replays one bag through sync, state machine and segmenters; see the module docstring."""

    def __init__(self, config: ReplayConfig, segmenters: Mapping[str, Any]) -> None:
        if 'rgb' not in segmenters:
            raise ValueError('OfflineReplay needs at least the rgb segmenter')
        self.config = config
        self.segmenters = dict(segmenters)
        self.labels = self.segmenters['rgb'].labels

    # -- decoding (the node's conversions, applied to rosbags messages) -----------------------

    def _decode_rgb(self, msg: Any) -> np.ndarray:
        from rgbd_seg_ros.ros.conversions import image_to_rgb

        return image_to_rgb(msg)

    def _decode_depth(self, msg: Any) -> tuple[np.ndarray, np.ndarray]:
        from rgbd_seg_ros.ros.conversions import image_to_depth_m

        return image_to_depth_m(msg, self.config.depth_scale or None)

    def _decode_labels(self, msg: Any) -> np.ndarray:
        from rgbd_seg_ros.ros.conversions import image_to_labels

        return image_to_labels(msg)

    def _decode_info(self, msg: Any) -> Any:
        from rgbd_seg_ros.ros.conversions import camera_info_to_intrinsics

        return camera_info_to_intrinsics(msg)

    # -- the run ------------------------------------------------------------------------------

    def run(
        self, bag_path: str | Path, progress: bool = True,
        on_frame: Callable[[FrameRecord, np.ndarray], None] | None = None,
    ) -> ReplayResult:
        """
        Replay ``bag_path``; returns the filled ``ReplayResult``.

        :param on_frame: called with each frame's record and its uint8 ``[H, W]`` labels.
        :raises BagError: bag unreadable, or the RGB topic missing.
        """
        cfg = self.config
        with BagSource(bag_path) as bag:
            found = bag.check_topics(cfg.topics.as_dict(), required=('rgb',))
            for role in ('depth', 'camera_info'):
                if role not in found:
                    LOG.warning('%s: no %s topic (%s); the fusion model cannot run',
                                bag_path, role, getattr(cfg.topics, role))
            self._start_ns = bag.start_ns
            result = ReplayResult(
                bag=str(bag_path), start_ns=bag.start_ns, end_ns=bag.end_ns,
                label_names=tuple(self.labels.names), ignore_index=self.labels.ignore_index,
                settings={**cfg.settings(), 'label_colors': [list(c) for c in self.labels.colors],
                          'topics_found': found},
            )
            self._result = result
            self._has_gt = 'ground_truth' in found
            self._sync = RgbdSynchronizer(cfg.sync)
            self._rgb_check = RgbHealthCheck()
            self._records: dict[int, FrameRecord] = {}
            self._recent_depth: deque[_DepthInput] = deque(maxlen=max(8, cfg.sync.queue_size))
            self._gt: dict[int, np.ndarray] = {}
            self._waiting: dict[int, tuple[FrameRecord, np.ndarray, np.ndarray | None]] = {}
            self._candidates: list[dict[str, Any]] = []
            self._run_pos = 0
            self._on_frame = on_frame
            total = sum(bag.topics()[name].count for name in found.values())
            with tqdm(total=total, desc=f'replay {Path(bag_path).name}', unit='msg',
                      disable=not progress) as bar:
                for rec in bag.records(found):
                    self._handle(rec.role, rec.msg, rec.t_ns)
                    bar.update()
            result.skipped.update(bag.skipped)
            end = bag.end_ns / 1e9
            self._process(self._sync.flush(end))
            self._collect_events()
        result.frames = sorted(self._records.values(), key=lambda r: (r.t_ns, r.stamp_ns))
        result.settings['sync_stats'] = self._sync.stats.as_dict()
        result.examples = self._pick_examples()
        return result

    def _handle(self, role: str, msg: Any, t_ns: int) -> None:
        now = t_ns / 1e9
        result = self._result
        if role == 'camera_info':
            try:
                self._sync.add_camera_info(msg.header.frame_id, self._decode_info(msg))
            except ValueError as exc:
                result.skipped[f'camera_info: {exc}'] += 1
            return
        stamp = stamp_ns(msg)
        if role == 'depth':
            t_rel = (t_ns - self._start_ns) / 1e9
            if any(w.contains(t_rel) for w in self.config.dropouts):
                result.skipped['depth: removed by --inject-depth-dropout'] += 1
                return
            try:
                depth_m, valid = self._decode_depth(msg)
            except ValueError as exc:
                result.skipped[f'depth: {exc}'] += 1
                return
            ratio = float(np.count_nonzero(valid)) / valid.size
            payload = _DepthInput(stamp, depth_m, ratio)
            if self._sync.add_depth(stamp / 1e9, msg.header.frame_id, payload, ratio, now=now):
                self._recent_depth.append(payload)
        elif role == 'ground_truth':
            try:
                labels = self._decode_labels(msg)
            except ValueError as exc:
                result.skipped[f'ground_truth: {exc}'] += 1
                return
            waiting = self._waiting.pop(stamp, None)
            if waiting is not None:
                self._score(*waiting, gt=labels)
            else:
                self._gt[stamp] = labels
                while len(self._gt) > _MAX_PENDING_GT:
                    self._gt.pop(next(iter(self._gt)))
        else:  # rgb
            record = FrameRecord(stamp_ns=stamp, t_ns=t_ns)
            if stamp in self._records:
                result.skipped['rgb: duplicate stamp'] += 1
                return
            self._records[stamp] = record
            t0 = time.perf_counter()
            try:
                rgb = self._decode_rgb(msg)
            except ValueError as exc:
                record.note = f'undecodable: {exc}'
                result.skipped[f'rgb: {exc}'] += 1
                return
            payload = _RgbInput(stamp, t_ns, rgb, 1e3 * (time.perf_counter() - t0))
            rgb_ok = self._rgb_check(rgb) if self.config.sync.depth_mode else True
            if not self._sync.add_rgb(stamp / 1e9, msg.header.frame_id, payload, now=now,
                                      rgb_ok=rgb_ok):
                record.note = 'dropped by the synchronizer (duplicate or late stamp)'
        self._process(self._sync.pop_ready(now))
        self._collect_events()

    def _collect_events(self) -> None:
        for ev in self._sync.pop_events():
            self._result.mode_switches.append(
                ModeSwitch(int(round(ev.t * 1e9)), ev.from_mode, ev.to_mode, ev.reason))

    def _nearest_depth(self, stamp: int) -> _DepthInput | None:
        slop_ns = self.config.sync.sync_slop * 1e9
        best = None
        for d in self._recent_depth:
            dt = abs(d.stamp_ns - stamp)
            if dt <= slop_ns and (best is None or dt < abs(best.stamp_ns - stamp)):
                best = d
        return best

    def _predict(self, mode: str, rgb: np.ndarray, depth: _DepthInput | None,
                 intrinsics: Any) -> np.ndarray:
        seg = self.segmenters[mode]
        if mode == 'rgb':
            return seg.predict(rgb)
        depth_m = depth.depth_m if depth is not None else np.zeros(rgb.shape[:2], np.float32)
        if mode == 'depth':
            return seg.predict(None, depth_m, intrinsics)
        return seg.predict(rgb, depth_m, intrinsics)

    def _process(self, frames: list[SyncedFrame]) -> None:
        for frame in frames:
            inp: _RgbInput = frame.rgb
            record = self._records[inp.stamp_ns]
            mode = frame.mode if frame.mode in self.segmenters else 'rgb'
            if mode != frame.mode:
                self._result.skipped[f'frames in {frame.mode} mode without a model (ran rgb)'] += 1
            t0 = time.perf_counter()
            pred = self._predict(mode, inp.rgb, frame.depth, frame.intrinsics)
            record.latency_ms = inp.decode_ms + 1e3 * (time.perf_counter() - t0)
            record.mode = mode
            nearest = frame.depth if frame.depth is not None else self._nearest_depth(inp.stamp_ns)
            record.depth_ratio = None if nearest is None else nearest.valid_ratio
            only = None
            if (mode != 'rgbd' and self._has_gt and self.config.fusion_only
                    and 'rgbd' in self.segmenters and frame.intrinsics is not None):
                only = self._predict('rgbd', inp.rgb, nearest, frame.intrinsics)
            if self._on_frame is not None:
                self._on_frame(record, pred)
            self._keep_example(record, inp, nearest, pred, only)
            gt = self._gt.pop(inp.stamp_ns, None)
            if gt is not None:
                self._score(record, pred, only, gt=gt)
            elif self._has_gt:
                self._waiting[inp.stamp_ns] = (record, pred, only)
                while len(self._waiting) > _MAX_PENDING_GT:
                    self._waiting.pop(next(iter(self._waiting)))

    def _score(self, record: FrameRecord, pred: np.ndarray, only: np.ndarray | None,
               gt: np.ndarray) -> None:
        if gt.shape != pred.shape:
            self._result.skipped[
                f'ground_truth: size {gt.shape} differs from the output {pred.shape}'] += 1
            return
        self._result.score_frame(record, gt, pred, only)
        for cand in self._candidates:
            if cand['stamp_ns'] == record.stamp_ns:
                cand['gt'] = gt
                cand['title'] += f'\nframe mIoU {100 * record.miou:.1f} %' if record.miou else ''

    def _keep_example(self, record: FrameRecord, inp: _RgbInput, depth: _DepthInput | None,
                      pred: np.ndarray, only: np.ndarray | None) -> None:
        """One candidate per run of a mode, its 4th frame (or the run's last when shorter)."""
        if self.config.examples <= 0:
            return
        last = self._candidates[-1] if self._candidates else None
        new_run = last is None or last['mode'] != record.mode
        self._run_pos = 0 if new_run else self._run_pos + 1
        if new_run and len(self._candidates) >= 3 * self.config.examples:
            return
        if not new_run and (self._run_pos > 3 or last is None):
            return
        t_rel = (record.t_ns - self._start_ns) / 1e9
        cand = {
            'stamp_ns': record.stamp_ns, 'mode': record.mode, 'rgb': inp.rgb,
            'depth_m': None if depth is None else depth.depth_m, 'pred': pred, 'gt': None,
            'fusion_only': only,
            'title': f't = {t_rel:.2f} s, {record.mode} mode',
        }
        if new_run:
            self._candidates.append(cand)
        else:
            self._candidates[-1] = cand

    def _pick_examples(self) -> list[dict[str, Any]]:
        """Up to ``examples`` candidates: the first of each mode first, then in time order."""
        cands = self._candidates
        if not cands:
            return []
        chosen: list[int] = []
        seen: set[str] = set()
        for i, c in enumerate(cands):
            if c['mode'] not in seen:
                seen.add(c['mode'])
                chosen.append(i)
        for i in range(len(cands)):
            if len(chosen) >= self.config.examples:
                break
            if i not in chosen:
                chosen.append(i)
        return [cands[i] for i in sorted(chosen[: self.config.examples])]


def replay_bag(
    bag_path: str | Path, config: ReplayConfig, segmenters: Mapping[str, Any] | None = None,
    progress: bool = True,
) -> ReplayResult:
    """Load the models of ``config`` (unless given) and replay ``bag_path`` offline."""
    segmenters = segmenters if segmenters is not None else load_segmenters(config)
    return OfflineReplay(config, segmenters).run(bag_path, progress=progress)
