# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The input watchdog: a silent input is named, with what would fix it.

With the camera on other topic names the node used to sit at ``output rate (Hz)=0.0`` and log
only ``no valid depth``. ``InputWatchdog.check`` (on the node's diagnostics timer) finds each
input that has been silent for ``silent_after_s`` and warns, throttled, with the fully resolved
topic, how many publishers it has, and near-miss topics of the same type that do exist
(``silent_input_message``); ``values`` gives per-input receive counts and ages for
``/diagnostics`` (rates come from ``core.monitor``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import difflib
from typing import Any

SILENT_AFTER_S = 3.0


def near_misses(topic: str, candidates: Sequence[str], limit: int = 3) -> list[str]:
    """Topics of ``candidates`` (same message type) that look like ``topic``, closest first."""
    others = [c for c in candidates if c != topic]
    close = difflib.get_close_matches(topic, others, n=limit, cutoff=0.4)
    leaf = topic.rsplit('/', 1)[-1]
    same_leaf = [c for c in others if c.rsplit('/', 1)[-1] == leaf and c not in close]
    return (close + same_leaf)[:limit]


def silent_input_message(kind: str, topic: str, silent_s: float, publishers: int,
                         near: Sequence[str], parameter: str) -> str:
    """One warning line for an input that has been silent for ``silent_s`` seconds."""
    if publishers == 0:
        cause = 'no publisher'
    else:
        cause = f'{publishers} publisher(s) but nothing arrives (QoS mismatch? see input_qos)'
    hint = (f'; topics of this type that exist: {", ".join(near)}' if near
            else '; no topic of this type exists (is the camera driver running?)')
    return (f'no {kind} on {topic} for {silent_s:.1f} s: {cause}{hint}; set {parameter} '
            '(or a camera preset)')


class InputWatchdog:
    """Tracks arrivals per input; ``check(now)`` warns about silent ones."""

    def __init__(self, node: Any, inputs: dict[str, tuple[str, str, str]], warn: Callable,
                 silent_after_s: float = SILENT_AFTER_S) -> None:
        """
        :param inputs: kind -> (topic as configured, message type name, parameter), e.g.
            ``{'rgb': ('rgb/image_rect_color', 'sensor_msgs/msg/Image', 'rgb_topic')}``.
        :param warn: ``warn(key, text)``, throttled per key (the node's).
        """
        self.node = node
        self.inputs = {kind: (node.resolve_topic_name(topic), type_name, parameter)
                       for kind, (topic, type_name, parameter) in inputs.items()}
        self.warn = warn
        self.silent_after_s = float(silent_after_s)
        self.count = {kind: 0 for kind in inputs}
        self.last: dict[str, float | None] = {kind: None for kind in inputs}
        self.started: float | None = None

    def arrived(self, kind: str, now: float) -> None:
        """A message of input ``kind`` arrived at ``now`` (seconds)."""
        self.count[kind] += 1
        self.last[kind] = now

    def silent_for(self, kind: str, now: float) -> float:
        """Seconds since the last message of ``kind`` (or since the first check)."""
        if self.started is None:
            self.started = now
        last = self.last[kind]
        return now - (last if last is not None else self.started)

    def check(self, now: float) -> list[str]:
        """Warn about every input silent for ``silent_after_s``; returns their kinds."""
        silent = [k for k in self.inputs if self.silent_for(k, now) >= self.silent_after_s]
        if not silent:
            return []
        types = self.node.get_topic_names_and_types()
        for kind in silent:
            topic, type_name, parameter = self.inputs[kind]
            same_type = [name for name, kinds in types if type_name in kinds]
            self.warn(f'silent:{kind}', silent_input_message(
                kind, topic, self.silent_for(kind, now), self.node.count_publishers(topic),
                near_misses(topic, same_type), parameter))
        return silent

    def values(self, now: float) -> dict[str, Any]:
        """Per-input receive counts and seconds since the last message (diagnostics)."""
        out: dict[str, Any] = {}
        for kind in self.inputs:
            out[f'{kind} received'] = self.count[kind]
            out[f'{kind} silent (s)'] = round(self.silent_for(kind, now), 2)
        return out
