# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The soak's verdict (``bench/soak.py``): from what a run recorded (the injector's log of published
frames, the labels, modes, diagnostics and RSS samples the monitor received), the per-minute
figures and the pass/fail checks. Pure data in, no ROS: unit-tested on made-up runs.

Times are wall-clock seconds (``time.time()``), memory MiB, latency milliseconds.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
import json
import os
from pathlib import Path
import time
from typing import Any

from bench.common import percentiles
from bench.fault_injector import EXPECTED_SWITCHES

# Node diagnostics counters reported per minute as drop causes (delta over the minute).
DROP_CAUSES = {
    'worker_busy': 'dropped (worker busy)',
    'late': 'sync late',
    'duplicate': 'sync duplicates',
    'unpaired_depth': 'sync unpaired',
    'depth_frame_id_mismatch': 'sync frame_id_mismatch',
    'missing_camera_info': 'sync missing_camera_info',
    'queue_overflow': 'sync queue_overflow',
    'rejected_rgb': 'rejected rgb',
    'rejected_depth': 'rejected depth',
    'rejected_camera_info': 'rejected camera_info',
    'bad_depth': 'sync bad_depth',
    'bad_rgb': 'sync bad_rgb',
    'resets': 'sync resets',
    'worker_errors': 'worker errors',
}
SWITCH_WINDOW_S = 3.0  # switches up to this long after a fault's end belong to it
STARTUP_S = 2.0  # switches before this (seconds after the first frame) are the start-up's


def diag_int(diag: dict[str, str], key: str) -> int:
    """A diagnostics counter as an integer (0 when absent or not a number)."""
    try:
        return int(float(diag.get(key, 0)))
    except ValueError:
        return 0


def read_log(path: Path) -> tuple[float, list[dict], dict]:
    """The injector's log: its start time, one record per published frame, its end record."""
    start, frames, end = 0.0, [], {}
    if not path.exists():
        return start, frames, end
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        if 'start' in rec:
            start = rec['start']
        elif 'end' in rec:
            end = rec
        else:
            frames.append(rec)
    return start, frames, end


def mode_switches(modes: list[tuple[float, str]], t0: float,
                  duration: float) -> list[tuple[float, str]]:
    """
    (seconds since t0, 'from->to') of the mode changes the node announced while frames came.

    Left out: the start (the node waits in rgb mode for the camera and returns to rgbd with its
    first frames, before ``STARTUP_S``) and the end (depth stops with the camera).
    """
    out = []
    for (_, a), (t, b) in zip(modes, modes[1:]):
        if a != b and STARTUP_S <= t - t0 < duration:
            out.append((round(t - t0, 3), f'{a}->{b}'))
    return out


def match_faults(faults: list[dict], switches: list[tuple[float, str]]) -> tuple[list, list]:
    """Per fault: expected and observed switches; switches outside every fault window."""
    per_fault, used = [], set()
    for f in faults:
        window = [(t, s) for t, s in switches if f['start'] <= t <= f['end'] + SWITCH_WINDOW_S]
        used.update(window)
        expected = EXPECTED_SWITCHES.get(f['kind'], [])
        per_fault.append({**f, 'expected': expected, 'observed': [s for _, s in window],
                          'as_expected': [s for _, s in window] == expected})
    unexpected = [(t, s) for t, s in switches if (t, s) not in used]
    return per_fault, unexpected


def analyse(args: argparse.Namespace, work: Path, faults: list[dict], labels: list,
            modes: list, diags: list, rss: list, failures: list[str]) -> dict[str, Any]:
    """
    Per-minute figures and the pass/fail checks from what the run recorded.

    :param args: the soak's options (``minutes``, ``strict_modes``, ``warmup_s``,
        ``rss_bound_mib``, ``rss_slope_mib_per_min``; all of them go into ``config``).
    :param work: the run's folder, holding the injector's ``published.jsonl``.
    :param labels: ``(arrival, stamp ns)`` per label; ``modes``: ``(arrival, mode)``;
        ``diags``: ``(arrival, diagnostics values)``; ``rss``: ``(time, MiB)`` of the node.
    :param failures: the run's own failures; the checks append theirs.
    :returns: the result JSON (``passed``, ``failures``, ``minutes``, ``accounting``, ...).
    """
    import numpy as np

    t0, published, end = read_log(work / 'published.jsonl')
    if not t0:
        failures.append('the injector never started publishing')
        t0 = rss[0][0] if rss else time.time()
    by_stamp: dict[int, list[float]] = defaultdict(list)
    for rec in published:
        by_stamp[rec['s']].append(rec['t'])
    latencies: list[tuple[float, float]] = []  # (arrival since t0, ms)
    unknown = 0
    for arrival, stamp in labels:
        times = by_stamp.get(stamp)
        if not times:
            unknown += 1
            continue
        sent = max((t for t in times if t <= arrival), default=times[0])
        latencies.append((arrival - t0, (arrival - sent) * 1e3))
    if unknown:
        failures.append(f'{unknown} labels carry a stamp no valid RGB frame had (a malformed '
                        'message produced output?)')

    final = diags[-1][1] if diags else {}
    received = diag_int(final, 'rgb received')
    rgb_in, emitted = diag_int(final, 'sync rgb_in'), diag_int(final, 'sync emitted')
    outputs = sum(diag_int(final, f'frames {m}') for m in ('rgbd', 'rgb', 'depth'))
    busy, errors = diag_int(final, 'dropped (worker busy)'), diag_int(final, 'worker errors')
    late, dup = diag_int(final, 'sync late'), diag_int(final, 'sync duplicates')
    accounting = {
        'published_valid_rgb': len(published), 'received_rgb': received,
        'not_delivered_by_dds': len(published) - received, 'sync_rgb_in': rgb_in,
        'late': late, 'duplicates': dup, 'emitted': emitted, 'outputs': outputs,
        'labels_seen_by_monitor': len(labels), 'dropped_worker_busy': busy,
        'worker_errors': errors,
        'unaccounted': received - late - dup - busy - errors - outputs,
    }
    if diags:
        if received != rgb_in + late + dup:
            failures.append(f'frames lost in the synchroniser: received {received} != accepted '
                            f'{rgb_in} + late {late} + duplicates {dup}')
        if emitted != rgb_in:
            failures.append(f'{rgb_in - emitted} accepted RGB frames never left the synchroniser')
        if emitted != outputs + busy + errors:
            failures.append(f'RGB frames without output while the worker was not busy: emitted '
                            f'{emitted} != outputs {outputs} + dropped (busy) {busy} + errors '
                            f'{errors}')
        if errors:
            failures.append(f'{errors} worker errors (see node.log)')
        if len(labels) < outputs:
            failures.append(f'the monitor saw {len(labels)} of {outputs} published labels')
    else:
        failures.append('no diagnostics received')

    switches = mode_switches(modes, t0, args.minutes * 60.0)
    per_fault, unexpected = match_faults(faults, switches)
    missed = [f for f in per_fault if not f['as_expected']]
    if args.strict_modes and (missed or unexpected):
        failures.append(f'mode switches differ from the schedule: {len(missed)} faults, '
                        f'unexpected {unexpected}')

    # RSS bound: max after the warm-up minus the value at its end; slope over the second half.
    rel = [(t - t0, m) for t, m in rss if t >= t0]
    warm = [m for t, m in rel if t <= args.warmup_s]
    baseline = warm[-1] if warm else (rel[0][1] if rel else float('nan'))
    after = [m for t, m in rel if t > args.warmup_s]
    growth = (max(after) - baseline) if after else 0.0
    slope = float('nan')
    half = [(t, m) for t, m in rel if t >= rel[-1][0] / 2] if rel else []
    if len(half) >= 10:
        slope = float(np.polyfit([t / 60.0 for t, _ in half], [m for _, m in half], 1)[0])
    if growth > args.rss_bound_mib:
        failures.append(f'RSS grew {growth:.0f} MiB after the warm-up (bound '
                        f'{args.rss_bound_mib:.0f} MiB)')
    if args.minutes >= 10 and slope > args.rss_slope_mib_per_min:
        failures.append(f'RSS slope {slope:.2f} MiB/min over the second half (bound '
                        f'{args.rss_slope_mib_per_min} MiB/min)')

    minutes = []
    n_min = max(1, int(np.ceil(args.minutes - 1e-9)))
    diag_rel = [(t - t0, d) for t, d in diags]
    for k in range(n_min):
        a, b = 60.0 * k, min(60.0 * (k + 1), args.minutes * 60.0)
        lat = [ms for t, ms in latencies if a <= t < b]
        pct = percentiles(lat)
        before = next((d for t, d in reversed(diag_rel) if t <= a), {})
        upto = next((d for t, d in reversed(diag_rel) if t <= b + 1.5), final)
        rss_min = [m for t, m in rel if a <= t < b]
        in_min = [f for f in per_fault if a <= f['start'] < b]
        minutes.append({
            'minute': k + 1,
            'rss_mib_end': rss_min[-1] if rss_min else float('nan'),
            'rss_mib_max': max(rss_min) if rss_min else float('nan'),
            'published_rgb': sum(1 for r in published if a <= r['t'] - t0 < b),
            'outputs': len(lat),
            'output_rate_hz': len(lat) / (b - a),
            'latency_ms_p50': pct['p50'], 'latency_ms_p95': pct['p95'],
            'drops': {name: diag_int(upto, key) - diag_int(before, key)
                      for name, key in DROP_CAUSES.items()},
            'faults': [f['kind'] for f in in_min],
            'mode_switches_expected': sum(len(f['expected']) for f in in_min),
            'mode_switches_observed': sum(1 for t, _ in switches if a <= t < b),
            'faults_as_expected': sum(f['as_expected'] for f in in_min),
        })
    return {
        'config': {k: v for k, v in vars(args).items() if k != 'json'},
        'passed': not failures, 'failures': failures,
        'minutes': minutes, 'accounting': accounting,
        'rss': {'baseline_mib': baseline, 'growth_mib': growth, 'bound_mib': args.rss_bound_mib,
                'slope_second_half_mib_per_min': slope},
        'rss_timeline': [(round(t, 1), round(m, 1)) for t, m in rel[::5]],  # (s, MiB)
        'faults': per_fault, 'unexpected_switches': unexpected,
        'malformed_sent': end.get('malformed', {}),
        'latency_ms': percentiles([ms for _, ms in latencies]),
        'diagnostics_final': final,
        'load_average': os.getloadavg(),
    }

