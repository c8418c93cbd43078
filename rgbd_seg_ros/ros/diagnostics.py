# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""The node's statistics (``core/monitor.py``) as a diagnostic_msgs/DiagnosticStatus."""

from __future__ import annotations

from typing import Any

from diagnostic_msgs.msg import DiagnosticStatus, KeyValue


def diagnostic_status(name: str, level_warn: bool, message: str, values: dict[str, Any]) -> Any:
    """A diagnostic_msgs/DiagnosticStatus with ``values`` as KeyValue strings."""
    status = DiagnosticStatus(name=name, message=message, hardware_id='')
    status.level = DiagnosticStatus.WARN if level_warn else DiagnosticStatus.OK
    status.values = [KeyValue(key=str(k), value=str(v)) for k, v in values.items()]
    return status
