# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The soak's fault schedule, and a 1-minute soak (``bench/soak.py``) as the CI smoke: the fault
injector at 160x120, 15 Hz, a fault every 6 s (all nine kinds), into segmentation_node with the
tiny test checkpoints. ~80 s on 2 cores; deselect with ``-m "not soak"``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from ros_test_helpers import REPO, ros_env

sys.path.insert(0, str(REPO))
from bench.fault_injector import (  # noqa: E402
    DURATION_S,
    EXPECTED_SWITCHES,
    FAULT_KINDS,
    make_schedule,
)


def test_schedule_is_seeded_periodic_and_covers_every_kind():
    faults = make_schedule(3, 30 * 60.0)
    assert faults == make_schedule(3, 30 * 60.0) != make_schedule(4, 30 * 60.0)
    starts = [f['start'] for f in faults]
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert 85 <= len(faults) <= 92 and all(17.0 <= g <= 23.0 for g in gaps)
    for i in range(0, len(faults) - 8, 9):  # shuffled rounds: each kind once per 9 faults
        assert sorted(f['kind'] for f in faults[i:i + 9]) == sorted(FAULT_KINDS)
    for f in faults:
        assert f['end'] - f['start'] == pytest.approx(DURATION_S[f['kind']], abs=1e-3)
        assert f['end'] < f['start'] + 5.5 < f['start'] + min(gaps)  # faults never overlap
    assert faults[-1]['end'] <= 30 * 60.0
    short = make_schedule(0, 60.0, period_s=6.0)  # the CI smoke: all nine kinds in a minute
    assert sorted({f['kind'] for f in short}) == sorted(FAULT_KINDS)
    assert all(f['end'] - f['start'] >= 0.3 for f in short)
    assert all(f['end'] - f['start'] >= 1.5 for f in short if f['kind'] in EXPECTED_SWITCHES)


@pytest.mark.ros
@pytest.mark.soak
def test_one_minute_soak_with_every_fault(tmp_path, ros_domain_id, tiny_checkpoints):
    out = tmp_path / 'soak.json'
    cmd = [sys.executable, str(REPO / 'bench' / 'soak.py'), '--minutes', '1', '--width', '160',
           '--height', '120', '--rate', '15', '--fault-period', '6', '--warmup-s', '20',
           '--fusion-model', str(tiny_checkpoints['fusion']),
           '--rgb-model', str(tiny_checkpoints['rgb']),
           '--depth-model', str(tiny_checkpoints['depth']), '--json', str(out),
           '--domain-id', str(ros_domain_id)]
    env = ros_env(ros_domain_id)
    proc = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    result = json.loads(out.read_text())
    assert result['passed'] and not result['failures']
    assert sorted({f['kind'] for f in result['faults']}) == sorted(FAULT_KINDS)
    acc = result['accounting']
    assert acc['unaccounted'] == 0 and acc['worker_errors'] == 0
    # Frames were delivered and labelled: at least 80 % of 15 Hz over the minute.
    assert acc['outputs'] >= 0.8 * 15 * 60 and acc['labels_seen_by_monitor'] >= acc['outputs']
    # The faults that must switch modes did, and back.
    for fault in result['faults']:
        if fault['kind'] in EXPECTED_SWITCHES:
            assert fault['as_expected'], fault
    drops = result['minutes'][0]['drops']
    sent = result['malformed_sent']
    assert 0 < drops['rejected_rgb'] <= sent['rgb']
    assert 0 < drops['rejected_depth'] <= sent['depth']
    assert drops['resets'] >= 1  # the stamps jumped back
    assert result['rss']['growth_mib'] <= result['rss']['bound_mib']


def _analyse(tmp_path, labels, final, rss_growth=0.0, faults=(), modes=()):
    import argparse

    from bench.soak import analyse

    t0 = 1000.0
    with open(tmp_path / 'published.jsonl', 'w') as log:
        log.write(json.dumps({'start': t0, 'faults': list(faults)}) + '\n')
        for i in range(10):
            log.write(json.dumps({'s': i + 1, 't': t0 + 0.1 * i, 'f': ''}) + '\n')
        log.write(json.dumps({'end': t0 + 1, 'frames': 10, 'malformed': {}}) + '\n')
    args = argparse.Namespace(minutes=1.0, strict_modes=True, warmup_s=20.0, rss_bound_mib=50.0,
                              rss_slope_mib_per_min=1.0)
    rss = [(t0 + t, 500.0 + (rss_growth if t > 20 else 0.0)) for t in range(60)]
    failures = []
    result = analyse(args, tmp_path, list(faults), labels, list(modes),
                     [(t0 + 59.0, final)], rss, failures)
    return result, failures


def test_soak_checks_pass_a_consistent_run_and_fail_loudly_otherwise(tmp_path):
    labels = [(1000.0 + 0.1 * i + 0.05, i + 1) for i in range(10) if i not in (3, 7)]
    good = {'rgb received': '10', 'sync rgb_in': '10', 'sync emitted': '10', 'frames rgbd': '6',
            'frames rgb': '2', 'dropped (worker busy)': '2', 'worker errors': '0'}
    result, failures = _analyse(tmp_path, labels, good)
    assert failures == [] and result['passed']
    assert result['accounting']['unaccounted'] == 0
    assert result['latency_ms']['p50'] == pytest.approx(50.0, abs=0.1)
    assert result['minutes'][0]['outputs'] == 8

    # Two frames neither output nor dropped as busy: a frame without output, not busy.
    lost = {**good, 'dropped (worker busy)': '0'}
    assert any('not busy' in f for f in _analyse(tmp_path, labels, lost)[1])
    # A label for a stamp no valid frame had (a malformed message gave output).
    _, failures = _analyse(tmp_path, labels + [(1001.0, 12345)], good)
    assert any('no valid RGB frame had' in f for f in failures)
    # Frames stuck in the synchroniser; worker errors.
    stuck = {**good, 'sync emitted': '9', 'dropped (worker busy)': '1'}
    assert any('never left the synchroniser' in f for f in _analyse(tmp_path, labels, stuck)[1])
    errors = {**good, 'dropped (worker busy)': '1', 'worker errors': '1'}
    assert any('worker errors' in f for f in _analyse(tmp_path, labels, errors)[1])
    # RSS beyond the bound after the warm-up.
    _, failures = _analyse(tmp_path, labels, good, rss_growth=80.0)
    assert any('RSS grew 80 MiB' in f for f in failures)
    # A depth stop that did not switch modes (strict).
    fault = {'kind': 'depth_stops', 'start': 10.0, 'end': 13.0}
    _, failures = _analyse(tmp_path, labels, good, faults=[fault],
                           modes=[(1000.0, 'rgbd'), (1011.0, 'rgb')])
    assert any('mode switches differ' in f for f in failures)
    result, failures = _analyse(tmp_path, labels, good, faults=[fault], modes=[
        (1000.0, 'rgbd'), (1010.6, 'rgb'), (1013.2, 'rgbd')])
    assert failures == [] and result['faults'][0]['as_expected']
