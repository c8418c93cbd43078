# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Time in a live replay: bag time at a wall-clock instant (``ClockMap``, from ``/clock``) and the
node's latched mode over reception time (``ModeTimeline``), both keyed by the middleware's
reception timestamps so executor delays do not shift them.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
import time
from typing import Any


def header_stamp_ns(stamp: Any) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


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


def arrival_ns(info: Mapping[str, Any] | None) -> int:
    """The middleware's reception time of a message (system clock, ns), else now."""
    if info:
        received = int(info.get('received_timestamp') or 0)
        if received > 0:
            return received
    return time.time_ns()
