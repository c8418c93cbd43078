# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
diagnostic_msgs forms of the node's statistics (``core/monitor.py``) and of each frame's mode.

``frame_status`` is the per-output message of ``segmentation/frame_status``: a
``DiagnosticArray`` with the RGB frame's header (stamp and frame_id, as the labels) and one
status named ``segmentation frame`` whose message is the mode and whose values are ``mode`` and
``reason``. A header-stamped standard type, so the live evaluator (or any tool) matches it to
the labels by stamp; ``frame_mode`` reads it back.
"""

from __future__ import annotations

from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

FRAME_STATUS_NAME = 'segmentation frame'


def diagnostic_status(name: str, level_warn: bool, message: str, values: dict[str, Any]) -> Any:
    """A diagnostic_msgs/DiagnosticStatus with ``values`` as KeyValue strings."""
    status = DiagnosticStatus(name=name, message=message, hardware_id='')
    status.level = DiagnosticStatus.WARN if level_warn else DiagnosticStatus.OK
    status.values = [KeyValue(key=str(k), value=str(v)) for k, v in values.items()]
    return status


def frame_status(header: Any, mode: str, reason: str) -> DiagnosticArray:
    """The ``segmentation/frame_status`` message of one output (``header``: the RGB header)."""
    array = DiagnosticArray()
    array.header = header
    status = DiagnosticStatus(name=FRAME_STATUS_NAME, message=mode, hardware_id='')
    status.level = DiagnosticStatus.OK
    status.values = [KeyValue(key='mode', value=mode), KeyValue(key='reason', value=reason)]
    array.status = [status]
    return array


def frame_mode(msg: Any) -> tuple[str, str] | None:
    """``(mode, reason)`` of a ``frame_status`` message; None when it is not one."""
    for status in msg.status:
        if status.name == FRAME_STATUS_NAME:
            values = {kv.key: kv.value for kv in status.values}
            return values.get('mode', status.message), values.get('reason', '')
    return None
