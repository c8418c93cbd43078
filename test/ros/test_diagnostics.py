# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""PipelineMonitor figures (rates, percentiles, late and lost input) and the status message."""

from diagnostic_msgs.msg import DiagnosticStatus
import pytest

from rgbd_seg_ros.core.monitor import PipelineMonitor
from rgbd_seg_ros.ros.diagnostics import diagnostic_status


def test_rates_and_latency_percentiles():
    mon = PipelineMonitor()
    for i in range(100):
        t = i * 0.1
        mon.observe_input('rgb', t, t + 0.004)
        mon.observe_output('rgbd' if i < 60 else 'rgb', t + 0.05, latency=0.001 * (i + 1),
                           processing=0.02)
    snap = mon.snapshot(now=9.9 + 0.05, horizon=2.0)
    assert snap['rgb rate (Hz)'] == pytest.approx(10.0, abs=0.5)
    assert snap['output rate (Hz)'] == pytest.approx(10.0, abs=0.5)
    assert snap['latency p50 (ms)'] == pytest.approx(50.5, abs=0.1)
    assert snap['latency p95 (ms)'] == pytest.approx(95.05, abs=0.1)
    assert snap['rgb age p95 (ms)'] == pytest.approx(4.0, abs=0.01)
    assert (snap['frames rgbd'], snap['frames rgb']) == (60, 40)
    assert mon.late_or_lost(max_age=0.1) == []


def test_late_and_lost_input_are_reported():
    mon = PipelineMonitor()
    t, n = 0.0, 0
    while n < 100:  # 30 Hz stream that loses every 4th frame, arriving 80 ms late
        if n % 4 != 3:
            mon.observe_input('depth', t, t + 0.08)
        t += 1 / 30
        n += 1
    problems = mon.late_or_lost(max_age=0.05)
    assert any('depth arrives late (p95 age 80 ms)' in p for p in problems)
    assert any('depth loses frames (2' in p for p in problems)  # ~25 %


def test_a_stopped_stream_is_not_counted_as_lost():
    mon = PipelineMonitor()
    stamps = [i / 30 for i in range(30)] + [5.0 + i / 30 for i in range(30)]  # 4 s outage
    for s in stamps:
        mon.observe_input('depth', s, s)
    assert mon.late_or_lost(max_age=0.1) == []


def test_status_message():
    status = diagnostic_status('node: segmentation', True, 'fallback mode rgb',
                               {'mode': 'rgb', 'drops': 3})
    assert status.level == DiagnosticStatus.WARN
    assert [(kv.key, kv.value) for kv in status.values] == [('mode', 'rgb'), ('drops', '3')]
    assert diagnostic_status('n', False, 'ok', {}).level == DiagnosticStatus.OK
