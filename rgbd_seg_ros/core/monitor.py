# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Pipeline statistics of the node (rates, latency percentiles, drops, late/lost input), plain
Python with time injected; ``ros/diagnostics.py`` turns them into diagnostic_msgs.
"""

from __future__ import annotations

from collections import Counter, deque
import threading
from typing import Any

import numpy as np

DDS_FIX = ('large images over the default DDS transports: on robot and node set '
           'FASTDDS_DEFAULT_PROFILES_FILE=<share>/rgbd_seg_ros/config/fastdds/'
           'large_data_shm_udp.xml (see docs/ros.md)')


class _Stream:
    """Arrivals of one input topic: rate, age on arrival, gaps in stamps (lost frames)."""

    def __init__(self, window: int) -> None:
        self.arrivals: deque[float] = deque(maxlen=window)
        self.ages: deque[float] = deque(maxlen=window)
        self.stamps: deque[float] = deque(maxlen=window)
        self.count = 0

    def observe(self, stamp: float, now: float) -> None:
        self.count += 1
        self.arrivals.append(now)
        self.ages.append(now - stamp)
        self.stamps.append(stamp)

    def rate(self, now: float, horizon: float) -> float:
        recent = [t for t in self.arrivals if now - horizon < t <= now]
        return len(recent) / horizon if horizon > 0 else 0.0

    def lost_ratio(self) -> float:
        """Frames missing from stamp gaps of 1.5..10 median periods (longer = stream stopped)."""
        stamps = np.sort(np.asarray(self.stamps))
        diffs = np.diff(stamps)
        diffs = diffs[diffs > 0]
        if diffs.size < 4:
            return 0.0
        period = float(np.median(diffs))
        gaps = diffs / period
        missing = np.sum(np.where((gaps > 1.5) & (gaps <= 10.0), np.round(gaps) - 1, 0.0))
        return float(missing / (missing + diffs.size + 1))

    def age_p95(self) -> float:
        return float(np.percentile(self.ages, 95)) if self.ages else 0.0


class PipelineMonitor:
    """
    Counts and percentiles over the last ``window`` events; times in seconds. Thread-safe: the
    node's callbacks, worker and diagnostics timer all report here.
    """

    def __init__(self, window: int = 300) -> None:
        self._lock = threading.Lock()
        self.window = window
        self.inputs: dict[str, _Stream] = {}
        self.outputs: deque[float] = deque(maxlen=window)
        self.latency: deque[float] = deque(maxlen=window)
        self.processing: deque[float] = deque(maxlen=window)
        self.frames_by_mode: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.errors = 0
        self.outputs_total = 0
        self.busy_s: Counter[str] = Counter()  # total seconds: worker, inference, callbacks

    def observe_input(self, topic: str, stamp: float, now: float) -> None:
        """A message of ``topic`` stamped ``stamp`` arrived at ``now``."""
        with self._lock:
            self.inputs.setdefault(topic, _Stream(self.window)).observe(stamp, now)

    def observe_output(self, mode: str, now: float, latency: float, processing: float,
                       worker: float = 0.0) -> None:
        """
        A label image was published at ``now``: stamp-to-publish latency, inference time and the
        worker's whole time for the frame (inference, conversions, publishing), seconds.
        """
        with self._lock:
            self.outputs.append(now)
            self.latency.append(latency)
            self.processing.append(processing)
            self.frames_by_mode[mode] += 1
            self.outputs_total += 1
            self.busy_s['inference'] += processing
            self.busy_s['worker'] += worker

    def observe_callback(self, seconds: float) -> None:
        """Time spent in an input callback (conversion, checks, enqueueing)."""
        with self._lock:
            self.busy_s['callbacks'] += seconds

    def reject(self, topic: str) -> None:
        """A malformed message of ``topic`` was dropped."""
        with self._lock:
            self.rejected[topic] += 1

    def count_error(self) -> None:
        """The worker failed on a frame."""
        with self._lock:
            self.errors += 1

    def late_or_lost(self, max_age: float) -> list[str]:
        """Problems in words: inputs whose p95 age exceeds ``max_age`` or that lose frames."""
        with self._lock:
            return self._late_or_lost(max_age)

    def snapshot(self, now: float, horizon: float) -> dict[str, Any]:
        """Current figures: rates over ``horizon`` seconds, latency percentiles in ms."""
        with self._lock:
            return self._snapshot(now, horizon)

    def _late_or_lost(self, max_age: float) -> list[str]:
        problems = []
        for topic, stream in self.inputs.items():
            age, lost = stream.age_p95(), stream.lost_ratio()
            if max_age > 0 and max_age < age < 10.0:  # > 10 s: stamps from another clock
                problems.append(f'{topic} arrives late (p95 age {age * 1e3:.0f} ms)')
            if lost > 0.05:
                problems.append(f'{topic} loses frames ({lost:.0%})')
        return problems

    def _snapshot(self, now: float, horizon: float) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for topic, stream in sorted(self.inputs.items()):
            out[f'{topic} rate (Hz)'] = round(stream.rate(now, horizon), 2)
            out[f'{topic} age p95 (ms)'] = round(stream.age_p95() * 1e3, 1)
            out[f'{topic} received'] = stream.count
        recent = [t for t in self.outputs if now - horizon < t <= now]
        out['output rate (Hz)'] = round(len(recent) / horizon, 2) if horizon > 0 else 0.0
        for name, values in (('latency', self.latency), ('inference', self.processing)):
            if values:
                p50, p95 = np.percentile(values, [50, 95])
                out[f'{name} p50 (ms)'] = round(float(p50) * 1e3, 1)
                out[f'{name} p95 (ms)'] = round(float(p95) * 1e3, 1)
        if self.outputs_total:
            per_output = (self.busy_s['worker'] + self.busy_s['callbacks']) / self.outputs_total
            out['node time per output (ms)'] = round(per_output * 1e3, 2)
            out['inference mean (ms)'] = round(
                self.busy_s['inference'] / self.outputs_total * 1e3, 2)
        for mode, n in sorted(self.frames_by_mode.items()):
            out[f'frames {mode}'] = n
        for topic, n in sorted(self.rejected.items()):
            out[f'rejected {topic}'] = n
        out['worker errors'] = self.errors
        return out

