# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The transport section of a live report: what the player sent, what the node says it received
and published (its ``/diagnostics`` values), what the evaluator received, and the differences.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


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
