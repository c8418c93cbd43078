# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Live replay against segmentation_node at different ``/clock`` rates, side by side.

Every ``/clock`` message is a callback in the Python executor of each node on simulated time.
This plays the live test's bag (3 s at 10 Hz, 64x80, depth gone for 1.0 <= t < 1.8 s) with
``run_live`` against a node with random resnet18 + light-decoder models, alternating the
``--clock-hz`` settings run by run so that they see the same machine, and compares each run with
the offline replay of the same bag: are the mode switches the same, how late is the latest,
were RGB frames lost on the way to the node, and the latency p95 (evaluator reception of an RGB
frame to reception of its labels).

    .venv/bin/python bench/live_replay.py                       # 100 vs 40 Hz, 8 runs each
    .venv/bin/python bench/live_replay.py --clock-hz 40 --runs 3 --json /tmp/live.json

Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
import platform
import statistics
import sys
import tempfile

from common import REPO, make_checkpoints, set_env, write_json  # noqa: E402 - bench/common.py

SIZE = (64, 80)
TOPICS = {
    'rgb_topic': '/camera/color/image_raw',
    'depth_topic': '/camera/aligned_depth_to_color/image_raw',
    'camera_info_topic': '/camera/color/camera_info',
}
GT_TOPIC = '/camera/segmentation/ground_truth'


def _run_row(live: dict, offline: dict) -> dict:
    """One live run compared with the offline replay."""
    transport = live['transport']
    same = ([(s['from'], s['to']) for s in live['mode_switches']]
            == [(s['from'], s['to']) for s in offline['mode_switches']])
    late = [ls['t'] - os_['t'] for ls, os_ in zip(live['mode_switches'],
                                                    offline['mode_switches'])]
    return {
        'switches': [(round(s['t_rel'], 3), s['to']) for s in live['mode_switches']],
        'switches_as_offline': same,
        'latest_switch_s': round(max(late), 3) if same and late else None,
        'frames_with_output': live['frames_with_output'],
        'inputs_lost': transport.get('inputs_lost_in_transport'),
        'outputs_lost': transport.get('outputs_lost_in_transport'),
        'outputs_without_known_input': transport.get('outputs_without_known_input'),
        'dropped_worker_busy': int(transport.get('node_dropped_worker_busy') or 0),
        'latency_p95_ms': live['latency_ms']['p95'],
    }


def _summary(rows: list[dict]) -> dict:
    p95 = [r['latency_p95_ms'] for r in rows if r['latency_p95_ms'] is not None]
    late = [r['latest_switch_s'] for r in rows if r['latest_switch_s'] is not None]
    return {
        'runs': len(rows),
        'switches_as_offline': sum(r['switches_as_offline'] for r in rows),
        'latest_switch_s_max': max(late) if late else None,
        'runs_with_lost_inputs': sum(bool(r['inputs_lost']) for r in rows),
        'latency_p95_ms_min': min(p95) if p95 else None,
        'latency_p95_ms_median': statistics.median(p95) if p95 else None,
        'latency_p95_ms_max': max(p95) if p95 else None,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; print the table; write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--clock-hz', type=float, nargs='+', default=[100.0, 40.0])
    parser.add_argument('--runs', type=int, default=8, help='runs per /clock rate')
    parser.add_argument('--threads', type=int, default=1, help='torch threads of the node')
    parser.add_argument('--json', default=str(REPO / 'bench/results/live_replay.json'))
    args = parser.parse_args(argv)
    set_env(args.threads)

    from rgbd_seg_ros.replay.evaluate import ReplayConfig, replay_bag
    from rgbd_seg_ros.replay.live import run_live
    from rgbd_seg_ros.replay.make_bag import Window, make_bag
    from rgbd_seg_ros.replay.params import segmentation_params

    with tempfile.TemporaryDirectory(prefix='live_replay_') as tmp:
        folder = Path(tmp)
        bag = folder / 'outage'
        make_bag(bag, frames=30, rate_hz=10.0, seed=2, size=SIZE,
                 depth_gaps=[Window(1.0, 1.8)], progress=False)
        models = make_checkpoints(folder, SIZE)
        values = {'fusion_model': models['fusion'], 'rgb_model': models['rgb'],
                  'depth_timeout': 0.42, **TOPICS}
        offline = replay_bag(bag, ReplayConfig(params=segmentation_params(values)),
                             progress=False).summary()
        rows: dict[float, list[dict]] = {hz: [] for hz in args.clock_hz}
        for i in range(args.runs):
            for hz in args.clock_hz:  # alternate: every setting sees the same machine
                live = run_live(bag, values, folder / f'run_{hz:g}_{i}', gt_topic=GT_TOPIC,
                                startup_timeout_s=120.0, clock_hz=hz).summary()
                rows[hz].append(_run_row(live, offline))
                r = rows[hz][-1]
                print(f'{hz:5g} Hz run {i + 1}: switches {r["switches"]}, inputs lost '
                      f'{r["inputs_lost"]}, latency p95 {r["latency_p95_ms"]} ms', flush=True)

    summaries = {f'{hz:g}': _summary(rows[hz]) for hz in args.clock_hz}
    offline_switches = [(round(s['t_rel'], 3), s['to']) for s in offline['mode_switches']]
    print(f'\noffline switches {offline_switches}')
    print(f"{'/clock Hz':>9} {'runs':>5} {'as offline':>10} {'latest sw s':>11} "
          f"{'lost in':>8} {'p95 min':>8} {'p95 med':>8} {'p95 max':>8}")
    for hz, s in summaries.items():
        print(f"{hz:>9} {s['runs']:5d} {s['switches_as_offline']:10d} "
              f"{s['latest_switch_s_max'] if s['latest_switch_s_max'] is not None else '-':>11} "
              f"{s['runs_with_lost_inputs']:8d} {s['latency_p95_ms_min']:8.1f} "
              f"{s['latency_p95_ms_median']:8.1f} {s['latency_p95_ms_max']:8.1f}")
    result = {
        'bench': 'live_replay', 'bag': {'frames': 30, 'rate_hz': 10.0, 'size': list(SIZE),
                                        'depth_gap_s': [1.0, 1.8]},
        'offline_switches': offline_switches, 'summary': summaries,
        'runs': {f'{hz:g}': rows[hz] for hz in args.clock_hz},
        'machine': {'platform': platform.platform(), 'cpu_count': os.cpu_count(),
                    'processor': platform.processor() or platform.machine(),
                    'load_average_end': os.getloadavg()},
    }
    write_json(result, args.json)
    return 0


if __name__ == '__main__':
    sys.exit(main())
