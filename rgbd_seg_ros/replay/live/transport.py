# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The transport section of a live report: what the player sent, what the node says it received
and published (its ``/diagnostics`` values), what the evaluator received, and the differences.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rgbd_seg_ros.replay.scoring import FrameRecord


def add_unreceived(records: dict[int, FrameRecord], sent: Mapping[int, int]) -> None:
    """
    Give every RGB stamp the player ``sent`` (stamp -> bag time, ns) its record: a frame the
    evaluator never received becomes a frame without output; a received one gets the exact bag
    time of the published message.
    """
    for stamp, t_ns in sent.items():
        record = records.get(stamp)
        if record is None:
            records[stamp] = FrameRecord(stamp_ns=stamp, t_ns=t_ns,
                                         note='RGB not received by the evaluator')
        else:
            record.t_ns = t_ns


def note_frames_without_output(frames: Sequence[FrameRecord],
                               depth_ratios: Sequence[tuple[int, float]],
                               sync_slop_s: float) -> None:
    """
    Mark frames without output ('no output received' unless they say why) and give them the
    valid-depth ratio of the depth frame nearest in stamp within ``sync_slop_s``
    (``depth_ratios``: (stamp ns, ratio) of the depth the evaluator received).
    """
    depth = np.array(depth_ratios, dtype=np.float64).reshape(-1, 2)
    for rec in frames:
        if rec.mode is not None:
            continue
        if rec.note is None:
            rec.note = 'no output received'
        if len(depth):
            dt = np.abs(depth[:, 0] - rec.stamp_ns)
            if dt.min() <= sync_slop_s * 1e9:
                rec.depth_ratio = float(depth[int(dt.argmin()), 1])


def _int_or_none(value: str | None) -> int | None:
    """A diagnostics value as an int (None when missing or not a number)."""
    try:
        return None if value is None else int(float(value))
    except ValueError:
        return None


def node_outputs_published(values: Mapping[str, str]) -> int | None:
    """Outputs the node reports (sum of its 'frames MODE' diagnostics counters)."""
    frames = [n for k, v in values.items()
              if k.startswith('frames ') and (n := _int_or_none(v)) is not None]
    return sum(frames) if frames else None


def transport_summary(counts: Mapping[str, Any], values: Mapping[str, str],
                      sent: Mapping[int, int] | None) -> dict[str, Any]:
    """
    ``report.json``'s ``transport``: the evaluator's ``counts`` plus what follows from the node's
    diagnostics ``values`` and the stamps the player ``sent``; None entries are left out.
    """
    published = node_outputs_published(values)
    node_rgb = _int_or_none(values.get('rgb received'))
    received = counts['outputs_received']
    transport = {
        'rgb_sent': len(sent) if sent else None,
        **{k: counts[k] for k in ('rgb_received_by_evaluator', 'outputs_received',
                                  'outputs_matched_to_inputs', 'outputs_duplicated',
                                  'outputs_without_known_input')},
        'node_rgb_received': node_rgb,
        'inputs_lost_in_transport': (None if not sent or node_rgb is None
                                     else max(0, len(sent) - node_rgb)),
        'node_outputs_published': published,
        'outputs_lost_in_transport': (None if published is None else
                                      max(0, published - received)),
        'node_dropped_worker_busy': values.get('dropped (worker busy)'),
        'node_sync_unpaired': values.get('sync unpaired'),
        **{k: counts[k] for k in ('mode_switches_after_bag_end',
                                  'outputs_scored_before_their_frame_status',
                                  'outputs_without_frame_status')},
    }
    return {k: v for k, v in transport.items() if v is not None}
