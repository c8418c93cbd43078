# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
RGB/depth pairing driving the depth-health state machine; time is injected, no clock is read.

``core/pipeline.py`` runs it in the node (ROS clock as ``now``) and in bag replay (bag time as
``now``); the state machine itself is ``core/health.py: DepthHealth``::

    sync = RgbdSynchronizer(SyncConfig(sync_slop=0.02, depth_timeout=0.5))
    sync.add_camera_info('camera_color_optical_frame', intrinsics)
    sync.add_depth(stamp, frame_id, depth_payload, valid_ratio, now=now)
    sync.add_rgb(stamp, frame_id, rgb_payload, now=now)
    for frame in sync.pop_ready(now):         # SyncedFrame: rgb, depth | None, mode, reason
        ...
    for switch in sync.pop_events():          # ModeSwitch(t, from_mode, to_mode, reason)
        ...

Stamps are the message header stamps in seconds; ``now`` is the receive clock in seconds (when
omitted, the stamp stands in for it). Payloads are opaque: the caller decides what it stores.

Modes: ``rgbd`` (fusion model), ``rgb`` (RGB-only model), ``depth`` (depth-only model, only when
``SyncConfig.depth_mode`` is set). ``DepthHealth`` falls back from ``rgbd`` to ``rgb`` when no good
depth arrived for ``depth_timeout`` seconds or a depth frame's valid-pixel ratio is below
``min_valid_depth_ratio``, and returns after ``recover_frames`` consecutive good depth frames.
"""

from __future__ import annotations

from bisect import insort
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from rgbd_seg_ros.core.camera import CameraIntrinsics
from rgbd_seg_ros.core.health import DepthHealth, HealthConfig, ModeSwitch
from rgbd_seg_ros.core.names import KNOWN_MODES  # noqa: F401 - re-exported


@dataclass(frozen=True)
class SyncConfig:
    """Pairing tolerance and depth-health thresholds (seconds, ratios, frame counts)."""

    sync_slop: float = 0.05  # max |t_rgb - t_depth| for an RGB/depth pair, seconds
    depth_timeout: float = 0.5  # no good depth for this long -> rgb mode, seconds
    min_valid_depth_ratio: float = 0.3  # depth frames with fewer valid pixels count as bad, 0..1
    recover_frames: int = 5  # consecutive good frames needed to leave a fallback mode
    registered_depth: bool = False  # accept depth whose frame_id differs from the RGB frame_id
    depth_mode: bool = False  # use the depth-only mode when RGB is black/frozen
    queue_size: int = 30  # RGB and depth frames kept for pairing, each
    time_jump_threshold: float = 1.0  # stamps or clock going back this far reset the state, s

    def __post_init__(self) -> None:
        checks = {
            'sync_slop': 0.0 <= self.sync_slop <= 10.0,
            'depth_timeout': 0.0 < self.depth_timeout <= 3600.0,
            'min_valid_depth_ratio': 0.0 <= self.min_valid_depth_ratio <= 1.0,
            'recover_frames': self.recover_frames >= 1,
            'queue_size': self.queue_size >= 1,
            'time_jump_threshold': self.time_jump_threshold > 0.0,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f'SyncConfig.{name} out of range: {getattr(self, name)!r}')

    @property
    def health(self) -> HealthConfig:
        """The depth-health thresholds (``core.health.DepthHealth`` applies them)."""
        return HealthConfig(self.depth_timeout, self.min_valid_depth_ratio,
                            self.recover_frames, self.depth_mode)


@dataclass(frozen=True)
class SyncedFrame:
    """One RGB frame ready for inference, with its depth partner when the mode uses depth."""

    stamp: float  # RGB header stamp, seconds
    frame_id: str  # RGB header frame_id
    rgb: Any  # the RGB payload given to add_rgb
    depth: Any | None  # the paired depth payload (None in rgb mode or when unpaired)
    depth_stamp: float | None  # stamp of the paired depth, seconds
    intrinsics: CameraIntrinsics | None  # cached camera_info of frame_id
    mode: str  # model to run on this frame: 'rgbd', 'rgb' or 'depth'
    reason: str = ''  # why this frame has this mode (the fallback's cause, a missing partner)


@dataclass
class SyncStats:
    """Counters since construction (resets keep them)."""

    rgb_in: int = 0  # RGB frames accepted
    depth_in: int = 0  # depth frames accepted
    emitted: int = 0  # frames returned by pop_ready/flush
    unpaired: int = 0  # frames that needed depth but found none within sync_slop
    duplicates: int = 0  # messages with a stamp already seen, dropped
    late: int = 0  # RGB older than the newest emitted frame, dropped
    frame_id_mismatch: int = 0  # depth not in the RGB frame (registered_depth false), dropped
    missing_camera_info: int = 0  # frames run in rgb mode for want of camera_info
    bad_depth: int = 0  # depth frames below min_valid_depth_ratio
    bad_rgb: int = 0  # RGB frames flagged black/frozen
    queue_overflow: int = 0  # RGB frames forced out unpaired because the queue was full
    resets: int = 0  # backwards time jumps that reset the synchronizer
    mode_switches: int = 0  # mode changes

    def as_dict(self) -> dict[str, int]:
        """Plain dict (diagnostics, JSON reports)."""
        return asdict(self)


@dataclass(order=True)
class _Entry:
    stamp: float
    frame_id: str = field(compare=False)
    payload: Any = field(compare=False)
    good: bool = field(compare=False)


class RgbdSynchronizer:
    """
    Pairs each RGB frame with the nearest depth frame within ``sync_slop`` and tags its mode.

    An RGB frame waits while a closer depth frame may still come (judged from the depth stream's
    period) and the mode needs depth; the depth timeout bounds the wait. Every accepted RGB frame
    is returned exactly once by ``pop_ready``/``flush``, in stamp order. Not thread-safe: callers
    that feed it from several threads hold one lock around it.
    """

    def __init__(self, config: SyncConfig, modes: Sequence[str] = KNOWN_MODES) -> None:
        self.config = config
        self.modes = tuple(modes)  # modes with a model: a frame of another one runs rgb
        if 'rgb' not in self.modes:
            raise ValueError(f'modes must include rgb (the fallback), got {self.modes}')
        self.health = DepthHealth(config.health)
        self.stats = SyncStats()
        self._rgb: list[_Entry] = []
        self._depth: list[_Entry] = []
        self._ready: list[SyncedFrame] = []
        self._events: list[ModeSwitch] = []
        self._info: dict[str, CameraIntrinsics] = {}
        self._recent_rgb: deque[float] = deque(maxlen=4 * config.queue_size)
        self._recent_depth: deque[float] = deque(maxlen=4 * config.queue_size)
        self._depth_diffs: deque[float] = deque(maxlen=9)
        self._last_emitted: float | None = None
        self._newest_rgb: float | None = None
        self._newest_depth: float | None = None
        self._last_now: float | None = None
        self._rgb_frame_id: str | None = None
        self._state_reason = 'depth healthy'  # reason of the latest mode switch

    @property
    def mode(self) -> str:
        """Current mode of the state machine."""
        return self.health.mode

    @property
    def frame_mode(self) -> str:
        """The mode a frame released now runs in: the state's, or rgb when it has no model."""
        return self.mode if self.mode in self.modes else 'rgb'

    @property
    def pending(self) -> int:
        """RGB frames waiting for a depth partner."""
        return len(self._rgb)

    def add_camera_info(self, frame_id: str, intrinsics: CameraIntrinsics) -> None:
        """Cache the intrinsics of ``frame_id`` (the newest wins)."""
        self._info[frame_id] = intrinsics

    def camera_info(self, frame_id: str) -> CameraIntrinsics | None:
        """Cached intrinsics of ``frame_id``, or None."""
        return self._info.get(frame_id)

    def add_rgb(
        self, stamp: float, frame_id: str, payload: Any, now: float | None = None,
        rgb_ok: bool = True,
    ) -> bool:
        """Queue an RGB frame; False when dropped as duplicate or late (counted)."""
        now = stamp if now is None else now
        self._check_time(now, stamp, self._newest_rgb)
        if stamp in self._recent_rgb:
            self.stats.duplicates += 1
            return False
        if self._last_emitted is not None and stamp <= self._last_emitted:
            self.stats.late += 1
            return False
        self._recent_rgb.append(stamp)
        self._newest_rgb = stamp if self._newest_rgb is None else max(self._newest_rgb, stamp)
        self._rgb_frame_id = frame_id
        self.stats.rgb_in += 1
        self.stats.bad_rgb += int(not rgb_ok)
        self._record(self.health.on_rgb(now, rgb_ok))
        insort(self._rgb, _Entry(stamp, frame_id, payload, rgb_ok))
        while len(self._rgb) > self.config.queue_size:
            self.stats.queue_overflow += 1
            self._emit(self._rgb.pop(0), None)
        return True

    def add_depth(
        self, stamp: float, frame_id: str, payload: Any, valid_ratio: float,
        now: float | None = None,
    ) -> bool:
        """Queue a depth frame; False when dropped (duplicate, frame_id mismatch; counted)."""
        now = stamp if now is None else now
        self._check_time(now, stamp, self._newest_depth)
        if (not self.config.registered_depth and self._rgb_frame_id is not None
                and frame_id != self._rgb_frame_id):
            self.stats.frame_id_mismatch += 1
            return False
        if stamp in self._recent_depth:
            self.stats.duplicates += 1
            return False
        self._recent_depth.append(stamp)
        if self._newest_depth is not None and stamp > self._newest_depth:
            self._depth_diffs.append(stamp - self._newest_depth)
        self._newest_depth = stamp if self._newest_depth is None else max(
            self._newest_depth, stamp)
        good = self.health.config.depth_good(valid_ratio)
        self.stats.depth_in += 1
        self.stats.bad_depth += int(not good)
        self._record(self.health.on_depth(now, valid_ratio))
        insort(self._depth, _Entry(stamp, frame_id, payload, good))
        if len(self._depth) > self.config.queue_size:
            self._depth.pop(0)
        return True

    def pop_ready(self, now: float) -> list[SyncedFrame]:
        """Frames whose pairing is decided at ``now``, oldest first."""
        self._check_time(now, None, None)
        self._record(self.health.update(now))
        while self._rgb:
            entry = self._rgb[0]
            if self.mode == 'rgb':
                depth = None
            else:
                decided, depth = self._pair(entry.stamp, entry.frame_id)
                if not decided:
                    break
            self._emit(self._rgb.pop(0), depth)
        self._prune_depth()
        ready, self._ready = self._ready, []
        return ready

    def flush(self, now: float) -> list[SyncedFrame]:
        """Every pending frame, paired with what has arrived (end of a recording)."""
        self._record(self.health.update(now))
        self._drain()
        ready, self._ready = self._ready, []
        return ready

    def pop_events(self) -> list[ModeSwitch]:
        """Mode switches since the last call, oldest first."""
        events, self._events = self._events, []
        return events

    def reset(self, now: float) -> None:
        """Forget queued depth and stamps after time went back; pending RGB is still emitted."""
        self._drain()
        self._depth.clear()
        self._recent_rgb.clear()
        self._recent_depth.clear()
        self._depth_diffs.clear()
        self._last_emitted = self._newest_rgb = self._newest_depth = None
        self._last_now = now
        self.health.reset(now)
        self.stats.resets += 1

    # -- internals ---------------------------------------------------------------------------

    def _record(self, events: list[ModeSwitch]) -> None:
        self._events.extend(events)
        self.stats.mode_switches += len(events)
        if events:
            self._state_reason = events[-1].reason

    def _check_time(self, now: float, stamp: float | None, newest: float | None) -> None:
        jump = self.config.time_jump_threshold
        if (self._last_now is not None and now < self._last_now - jump) or (
                stamp is not None and newest is not None and stamp < newest - jump):
            self.reset(now)
        self._last_now = now if self._last_now is None else max(self._last_now, now)

    def _drain(self) -> None:
        while self._rgb:
            entry = self._rgb.pop(0)
            depth = None if self.mode == 'rgb' else self._nearest(entry.stamp, entry.frame_id)
            self._emit(entry, depth)

    def _nearest(self, stamp: float, frame_id: str) -> _Entry | None:
        candidates = self._depth if self.config.registered_depth else [
            d for d in self._depth if d.frame_id == frame_id]  # queued before a frame_id change
        return nearest_within(candidates, stamp, self.config.sync_slop)

    def _depth_period(self) -> float | None:
        return float(np.median(self._depth_diffs)) if self._depth_diffs else None

    def _pair(self, stamp: float, frame_id: str) -> tuple[bool, _Entry | None]:
        """(decided, depth): decided once no closer depth frame can still arrive."""
        if self._newest_depth is None:
            return False, None
        nearest = self._nearest(stamp, frame_id)
        if self._newest_depth >= stamp:
            return True, nearest
        if nearest is None:
            return False, None  # the partner may still come; the depth timeout bounds the wait
        period = self._depth_period()
        if period is None or stamp - nearest.stamp <= nearest.stamp + period - stamp:
            return True, nearest
        return False, None

    def _emit(self, entry: _Entry, depth: _Entry | None) -> None:
        state = self.mode
        intrinsics = self._info.get(entry.frame_id)
        mode = 'rgb'
        reason = f'fallback: {self._state_reason}'
        if state != 'rgb':
            if depth is None:
                self.stats.unpaired += 1
                reason = f'no depth within sync_slop {self.config.sync_slop:g} s'
            elif not depth.good:
                depth = None
                reason = 'paired depth below min_valid_depth_ratio'
            elif intrinsics is None:
                self.stats.missing_camera_info += 1
                depth = None
                reason = f'no camera_info for frame {entry.frame_id!r}'
            else:
                mode = state
                reason = 'depth paired' if state == 'rgbd' else reason
        if mode not in self.modes:  # the one place a mode without a model is replaced
            reason = f'{reason}; no {mode} model, rgb model'
            mode = 'rgb'
        if mode == 'rgb':
            depth = None
        self._ready.append(SyncedFrame(
            stamp=entry.stamp, frame_id=entry.frame_id, rgb=entry.payload,
            depth=None if depth is None else depth.payload,
            depth_stamp=None if depth is None else depth.stamp,
            intrinsics=intrinsics, mode=mode, reason=reason,
        ))
        self.stats.emitted += 1
        self._last_emitted = entry.stamp if self._last_emitted is None else max(
            self._last_emitted, entry.stamp)

    def _prune_depth(self) -> None:
        ref = self._rgb[0].stamp if self._rgb else self._last_emitted
        if ref is None:
            return
        horizon = ref - self.config.sync_slop
        while self._depth and self._depth[0].stamp < horizon:
            self._depth.pop(0)


def nearest_within(items: Any, stamp: float, slop: float) -> Any | None:
    """
    The item of ``items`` (anything with a ``stamp`` in seconds) nearest to ``stamp`` within
    ``slop`` seconds, the first of equally near ones; None when none is that close.
    """
    best, best_dt = None, None
    for item in items:
        dt = abs(item.stamp - stamp)
        if dt <= slop and (best_dt is None or dt < best_dt):
            best, best_dt = item, dt
    return best
