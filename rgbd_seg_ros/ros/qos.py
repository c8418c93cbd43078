# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Named QoS profiles for the node's parameters.

``sensor_data`` (best effort, keep last 5) is the input default: it matches both best-effort and
reliable publishers, and never lets an old frame block a new one. ``reliable`` keeps the last N
and retransmits; it does not match best-effort publishers. ``system_default`` is the RMW default
(reliable, keep last 10 with Fast DDS).
"""

from __future__ import annotations

from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
    qos_profile_system_default,
)

from rgbd_seg_ros.core.names import KNOWN_QOS_NAMES

KNOWN_QOS = KNOWN_QOS_NAMES  # owned by core/node_config.py


def qos_profile(name: str, depth: int = 5) -> QoSProfile:
    """
    The profile named ``name`` (one of ``KNOWN_QOS``) with history depth ``depth``.

    :raises ValueError: unknown name, listing the valid ones.
    """
    if depth < 1:
        raise ValueError(f'QoS history depth must be >= 1, got {depth}')
    if name == 'sensor_data':
        profile = QoSProfile(
            history=HistoryPolicy.KEEP_LAST,
            depth=depth,
            reliability=qos_profile_sensor_data.reliability,
            durability=qos_profile_sensor_data.durability,
        )
    elif name == 'reliable':
        profile = QoSProfile(
            history=HistoryPolicy.KEEP_LAST,
            depth=depth,
            reliability=ReliabilityPolicy.RELIABLE,
            durability=DurabilityPolicy.VOLATILE,
        )
    elif name == 'system_default':
        profile = qos_profile_system_default
    else:
        raise ValueError(f'unknown QoS profile {name!r}; expected one of {KNOWN_QOS}')
    return profile


def latched_qos(depth: int = 1) -> QoSProfile:
    """
    Reliable, transient-local, keep last ``depth``: late subscribers get the current value (a
    subscriber may keep more than 1 so that quick changes survive while it is busy).
    """
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=depth,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL,
    )
