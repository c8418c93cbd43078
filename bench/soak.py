# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Soak run: the simulated camera (``bench/fault_injector.py``, VGA at 30 Hz by default) into the
real segmentation_node over DDS for ``--minutes``, with a fault every ``--fault-period`` seconds
from a seeded schedule (depth stops, depth all-invalid, RGB black, camera_info stops, resolution
change, frame_id change, stamps jump back, malformed burst, depth late beyond the slop).

Three processes: the node (fusion + RGB + depth models; random resnet18/light-decoder weights
unless given), the injector, and this monitor, which subscribes to the labels, the mode and
/diagnostics and samples the node's RSS every second. Per minute it reports RSS, output rate,
latency (RGB publish -> label arrival) p50/p95, drops by cause (node diagnostics) and mode
switches against the schedule's expected ones. It fails (exit 1, the reasons printed) on
(the checks: ``bench/soak_analysis.py``):

- a crash: the node or the injector exits early, or the node exits non-zero on SIGINT;
- a stuck worker: no label for ``--stuck-s`` seconds while frames are published;
- a frame left without output although the node was not busy: the node's own counters must
  account for every RGB frame it received (output, replaced in the latest-only slot while the
  worker was busy, late/duplicate); worker errors; labels for frames never published validly;
- RSS growth beyond the bound: max RSS after the warm-up minus the RSS at the end of the warm-up
  over ``--rss-bound-mib``, or (runs of 10 minutes or more) an RSS slope over the second half
  above ``--rss-slope-mib-per-min``;
- with ``--strict-modes``: a fault without its expected mode switches or an unexpected switch.

    .venv/bin/python bench/soak.py --minutes 30 --json bench/results/soak_30min.json
    .venv/bin/python bench/soak.py --minutes 1 --width 160 --height 120 --rate 15 \
        --fault-period 6 --json /tmp/soak.json          # the CI smoke's settings
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import subprocess
import sys
import tempfile
import time
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import (  # noqa: E402
    make_checkpoints,
    proc_sample,
    set_env,
    start_node,
    stop_process,
    write_json,
    write_params,
)
from bench.fault_injector import make_schedule  # noqa: E402
from bench.soak_analysis import analyse  # noqa: E402  (the checks; bench/soak_analysis.py)


def _models(args: argparse.Namespace, work: Path) -> dict[str, str]:
    if args.fusion_model:
        return {'fusion': args.fusion_model, 'rgb': args.rgb_model, 'depth': args.depth_model}
    input_size = tuple(int(v) for v in args.input_size.split('x'))
    return make_checkpoints(work, input_size, with_depth=True)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start node and injector, monitor, stop; returns the result (``failures`` inside)."""
    set_env(args.threads)
    if args.domain_id >= 0:  # the caller's private domain (tests), else set_env's random one
        os.environ['ROS_DOMAIN_ID'] = str(args.domain_id)
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from sensor_msgs.msg import Image
    from std_msgs.msg import String

    from rgbd_seg_ros.ros.qos import latched_qos, qos_profile

    work = Path(tempfile.mkdtemp(prefix='soak_'))
    duration = args.minutes * 60.0
    faults = make_schedule(args.seed, duration, args.fault_period)
    schedule = work / 'schedule.json'
    schedule.write_text(json.dumps({'duration_s': duration, 'faults': faults}))
    models = _models(args, work)
    node_params = write_params(work / 'node.yaml', {
        'fusion_model': models['fusion'], 'rgb_model': models['rgb'],
        'depth_model': models['depth'], 'diagnostics_period': 1.0, 'device': args.device,
        'depth_timeout': 0.5, 'recover_frames': 5, 'sync_slop': 0.025})

    rclpy.init()
    probe = rclpy.create_node('soak_monitor')
    executor = SingleThreadedExecutor()
    executor.add_node(probe)
    labels: list[tuple[float, int]] = []  # (wall arrival, stamp ns)
    modes: list[tuple[float, str]] = []  # (wall arrival, mode)
    diags: list[tuple[float, dict[str, str]]] = []
    probe.create_subscription(
        Image, 'segmentation/labels',
        lambda m: labels.append((time.time(), m.header.stamp.sec * 1_000_000_000
                                 + m.header.stamp.nanosec)), qos_profile('reliable', 50))
    probe.create_subscription(String, 'segmentation/mode',
                              lambda m: modes.append((time.time(), m.data)), latched_qos())
    from diagnostic_msgs.msg import DiagnosticArray

    def on_diag(msg: Any) -> None:
        for status in msg.status:
            if status.name.endswith(': segmentation'):
                diags.append((time.time(), {kv.key: kv.value for kv in status.values}))
    probe.create_subscription(DiagnosticArray, '/diagnostics', on_diag, 10)

    failures: list[str] = []
    rss: list[tuple[float, float]] = []  # (wall, MiB)
    node = start_node('rgbd_seg_ros.nodes.segmentation_node', node_params, work / 'node.log')
    injector = None
    node_rc = None
    try:
        deadline = time.monotonic() + 240.0
        while not modes and node.poll() is None and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.1)
        if not modes:
            raise RuntimeError('node did not start:\n' + (work / 'node.log').read_text()[-3000:])
        injector = subprocess.Popen(
            [sys.executable, str(REPO / 'bench' / 'fault_injector.py'), '--schedule',
             str(schedule), '--log', str(work / 'published.jsonl'), '--width', str(args.width),
             '--height', str(args.height), '--rate', str(args.rate), '--seed', str(args.seed)],
            cwd=REPO, stdout=open(work / 'injector.log', 'w'),  # noqa: SIM115
            stderr=subprocess.STDOUT, start_new_session=True)
        print(f'soak: {args.minutes} min, {len(faults)} faults, work dir {work}', flush=True)
        next_sample = time.monotonic()
        last_report = time.monotonic()
        while True:
            executor.spin_once(timeout_sec=0.02)
            now = time.monotonic()
            if now < next_sample:
                continue
            next_sample += 1.0
            if node.poll() is not None:
                failures.append(f'crash: the node exited with {node.returncode} during the run')
                break
            rss.append((time.time(), proc_sample(node.pid)[1]))
            if injector.poll() is not None:
                if injector.returncode != 0:
                    failures.append(f'the fault injector exited with {injector.returncode}: '
                                    + (work / 'injector.log').read_text()[-2000:])
                break
            if labels and time.time() - labels[-1][0] > args.stuck_s:
                failures.append(f'stuck worker: no label for {time.time() - labels[-1][0]:.1f} s '
                                'while frames were published')
                break
            if not labels and time.monotonic() > deadline:
                failures.append('no label at all within the start-up time')
                break
            if now - last_report >= 60.0:
                last_report = now
                print(f'  {len(labels)} labels, RSS {rss[-1][1]:.0f} MiB, mode {modes[-1][1]}',
                      flush=True)
        drain = time.monotonic() + 3.0  # the node drains; diagnostics of the final state arrive
        while time.monotonic() < drain:
            executor.spin_once(timeout_sec=0.05)
        if node.poll() is not None and not any(f.startswith('crash') for f in failures):
            failures.append(f'crash: the node exited with {node.returncode}')
    finally:
        if injector is not None:
            stop_process(injector)
        if node.poll() is None:
            stop_process(node)
            node_rc = node.returncode
        executor.shutdown()
        probe.destroy_node()
        rclpy.try_shutdown()
    if node_rc not in (None, 0):
        failures.append(f'the node exited with {node_rc} on SIGINT')
    result = analyse(args, work, faults, labels, modes, diags, rss, failures)
    result['work_dir'] = str(work)
    return result


def print_table(result: dict[str, Any]) -> None:
    """Human-readable summary."""
    cfg = result['config']
    print(f"\nsoak: {cfg['minutes']} min, {cfg['width']}x{cfg['height']} at {cfg['rate']} Hz, "
          f"fault every ~{cfg['fault_period']} s (seed {cfg['seed']})")
    print(f"{'min':>3} {'RSS MiB':>8} {'out Hz':>7} {'lat p50':>8} {'p95':>7} {'busy':>5} "
          f"{'unpair':>6} {'rej':>4} {'switch exp/obs':>14}  faults")
    for m in result['minutes']:
        d = m['drops']
        rejected = d['rejected_rgb'] + d['rejected_depth'] + d['rejected_camera_info']
        print(f"{m['minute']:3d} {m['rss_mib_end']:8.0f} {m['output_rate_hz']:7.1f} "
              f"{m['latency_ms_p50']:8.1f} {m['latency_ms_p95']:7.1f} {d['worker_busy']:5d} "
              f"{d['unpaired_depth']:6d} {rejected:4d} "
              f"{m['mode_switches_expected']:>6d}/{m['mode_switches_observed']:<7d} "
              f"{','.join(m['faults'])}")
    acc, r = result['accounting'], result['rss']
    print(f"frames: published {acc['published_valid_rgb']}, received {acc['received_rgb']}, "
          f"outputs {acc['outputs']}, busy drops {acc['dropped_worker_busy']}, late "
          f"{acc['late']}, duplicates {acc['duplicates']}, errors {acc['worker_errors']}, "
          f"unaccounted {acc['unaccounted']}")
    ok = sum(f['as_expected'] for f in result['faults'])
    print(f"faults with the expected mode switches: {ok}/{len(result['faults'])}; unexpected "
          f"switches: {result['unexpected_switches']}")
    print(f"RSS baseline {r['baseline_mib']:.0f} MiB, growth {r['growth_mib']:.1f} MiB (bound "
          f"{r['bound_mib']:.0f}), slope {r['slope_second_half_mib_per_min']:.2f} MiB/min")
    print('PASS' if result['passed'] else 'FAIL:\n  ' + '\n  '.join(result['failures']))


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; exit status 1 when a check failed."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--minutes', type=float, default=30.0)
    parser.add_argument('--rate', type=float, default=30.0, help='camera rate, Hz')
    parser.add_argument('--width', type=int, default=640)
    parser.add_argument('--height', type=int, default=480)
    parser.add_argument('--seed', type=int, default=0, help='fault schedule and scene seed')
    parser.add_argument('--fault-period', type=float, default=20.0, help='seconds between faults')
    parser.add_argument('--threads', type=int, default=1, help='OMP threads of the node')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--input-size', default='240x320', help='network HxW of random models')
    parser.add_argument('--fusion-model', default='', help='checkpoint (default: random)')
    parser.add_argument('--rgb-model', default='')
    parser.add_argument('--depth-model', default='')
    parser.add_argument('--warmup-s', type=float, default=30.0,
                        help='RSS baseline: the last sample of the first WARMUP_S seconds')
    parser.add_argument('--rss-bound-mib', type=float, default=128.0)
    parser.add_argument('--rss-slope-mib-per-min', type=float, default=1.0)
    parser.add_argument('--stuck-s', type=float, default=5.0)
    parser.add_argument('--domain-id', type=int, default=-1,
                        help='ROS_DOMAIN_ID of the three processes (default: random 201-230)')
    parser.add_argument('--strict-modes', action='store_true',
                        help='fail when mode switches differ from the schedule')
    parser.add_argument('--json', default=str(REPO / 'bench' / 'results' / 'soak.json'))
    args = parser.parse_args(argv)
    if bool(args.fusion_model) != bool(args.rgb_model) or (args.fusion_model
                                                             and not args.depth_model):
        parser.error('give all of --fusion-model, --rgb-model, --depth-model or none')
    result = run(args)
    print_table(result)
    write_json(result, args.json)
    return 0 if result['passed'] else 1


if __name__ == '__main__':
    sys.exit(main())
