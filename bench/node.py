# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
segmentation_node over real DDS: camera_sim_node (640x480 RGB-D, 30 Hz) -> node -> probe.

Reports latency (input stamp -> label publish, from the node and as seen by a subscriber)
p50/p95/p99, output rate, drop rate, node CPU and memory over time, per mode (the simulated depth
stops for the middle third of the run), and the node overhead on the same frames:

- CPU: node process CPU time per output frame (everything: DDS, callbacks, worker, timers) /
  bare ``Segmenter.predict`` CPU time per frame, measured in this process before the nodes
  start. Insensitive to other load on the machine; the figure to compare with the 1.15 target.
- wall: node time per output (callbacks + worker, from its diagnostics) / bare predict wall
  time, and / the node's own predict time (contention with the camera and other processes
  shows up in the first, not in the second).
- network: node time per output / the bare network at its input size (``network_logits`` on
  inputs resized beforehand): what the camera resolution costs on top of the network.

Prints a table and writes JSON.

    .venv/bin/python bench/node.py                                   # 60 s at 30 Hz, VGA
    .venv/bin/python bench/node.py --duration 15 --rate 15 --json bench/results/node_short.json
    .venv/bin/python bench/node.py --backend torch,onnxruntime --duration 30 \
        --json bench/results/node_backends.json          # backends side by side, one run

Without --fusion-model/--rgb-model it benchmarks random resnet18 + light-decoder checkpoints
(network input --input-size), i.e. the node's cost around a small model.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
import sys
import tempfile
import time

from common import (  # noqa: E402 - bench/common.py
    REPO,
    make_checkpoints,
    percentiles,
    proc_sample,
    set_env,
    start_node,
    stop_process,
    write_json,
    write_params,
)


def _bare_predict_ms(models: dict[str, str], frames: list, repeats: int,
                     backend: str = 'torch', device: str = 'cpu', precision: str = 'fp32',
                     network: dict[str, float] | None = None,
                     ) -> tuple[dict[str, float], dict[str, float]]:
    """
    Mean ``Segmenter.predict`` wall and CPU time per frame (ms) of each model on ``frames``;
    ``network`` (when given) receives each bare network's wall time per frame at its input size
    (``Segmenter.network_logits`` on inputs resized beforehand, ``bench/frame_path.py``).
    """
    from frame_path import network_inputs

    from rgbd_seg_ros.core.backends import apply_backend
    from rgbd_seg_ros.core.inference import Segmenter

    wall, cpu = {}, {}
    for mode, path in models.items():
        seg = Segmenter.from_checkpoint(path, device=device, precision=precision)
        if apply_backend(seg, backend, path) != backend:
            raise RuntimeError(f'backend {backend} is not available here (see the warning)')
        seg.predict(frames[0].rgb, frames[0].depth_m, frames[0].intrinsics)
        n = repeats * len(frames)
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(repeats):
            for f in frames:
                seg.predict(f.rgb, f.depth_m, f.intrinsics)
        wall[mode] = (time.perf_counter() - t0) / n * 1e3
        cpu[mode] = (time.process_time() - c0) / n * 1e3
        if network is not None:
            inputs = [network_inputs(seg, f) for f in frames]
            t0 = time.perf_counter()
            for _ in range(repeats):
                for x in inputs:
                    seg.network_logits(*x)
            network[mode] = (time.perf_counter() - t0) / n * 1e3
    return wall, cpu


def run(args: argparse.Namespace) -> dict:
    """Start the nodes, measure, stop them; returns the result dict."""
    set_env(args.threads)
    import numpy as np
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from sensor_msgs.msg import CameraInfo, Image
    from std_msgs.msg import String

    from rgbd_seg_ros.ros.qos import latched_qos, qos_profile
    from rgbd_seg_ros.sim import SyntheticSequence

    work = Path(tempfile.mkdtemp(prefix='bench_node_'))
    input_size = tuple(int(v) for v in args.input_size.split('x'))
    models = ({'fusion': args.fusion_model, 'rgb': args.rgb_model} if args.rgb_model
              else getattr(args, 'checkpoints', None) or make_checkpoints(work, input_size))
    print(f'rendering {args.precompute} frames {args.width}x{args.height} ...', flush=True)
    seq = SyntheticSequence(args.seed, args.width, args.height)
    frames = [seq.frame(i, i / args.rate) for i in range(min(args.precompute, 4))]
    network_ms: dict[str, float] = {}
    bare_ms, bare_cpu_ms = _bare_predict_ms(
        {('rgbd' if k == 'fusion' else k): v for k, v in models.items()}, frames, repeats=3,
        backend=args.backend, device=args.device, precision=args.precision, network=network_ms)
    print(f'bare Segmenter.predict wall ms {bare_ms}, CPU ms {bare_cpu_ms}; bare network at '
          f'its input size ms {network_ms}', flush=True)

    stop_start, stop_end = args.duration / 3.0, 2.0 * args.duration / 3.0
    node_params = write_params(work / 'node.yaml', {
        'fusion_model': models['fusion'], 'rgb_model': models['rgb'],
        'diagnostics_period': 1.0, 'sync_slop': 0.01, 'backend': args.backend,
        'device': args.device, 'precision': args.precision})
    cam_params = write_params(work / 'camera.yaml', {
        'rate': float(args.rate), 'width': args.width, 'height': args.height,
        'seed': args.seed, 'precompute_frames': args.precompute, 'publish_ground_truth': False,
        'depth_stop_start': args.warmup + stop_start, 'depth_stop_end': args.warmup + stop_end})

    rclpy.init()
    probe = rclpy.create_node('bench_probe')
    executor = SingleThreadedExecutor()
    executor.add_node(probe)
    labels, infos, modes, diag = [], [], [], {}

    def on_label(msg):
        labels.append((time.monotonic(), probe.get_clock().now().nanoseconds * 1e-9,
                       msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9))
    probe.create_subscription(Image, 'segmentation/labels', on_label, qos_profile('reliable', 10))
    probe.create_subscription(CameraInfo, 'rgb/camera_info', lambda m: infos.append(
        (time.monotonic(), m.header.stamp.sec + m.header.stamp.nanosec * 1e-9)),
        qos_profile('sensor_data', 10))
    probe.create_subscription(String, 'segmentation/mode',
                              lambda m: modes.append((time.monotonic(), m.data)), latched_qos())
    from diagnostic_msgs.msg import DiagnosticArray

    def on_diag(msg):
        for status in msg.status:
            if status.name.endswith(': segmentation'):
                diag.update({kv.key: kv.value for kv in status.values})
    probe.create_subscription(DiagnosticArray, '/diagnostics', on_diag, 10)

    node = start_node('rgbd_seg_ros.nodes.segmentation_node', node_params, work / 'node.log')
    camera = None
    samples = []
    try:
        deadline = time.monotonic() + 180
        while not modes and node.poll() is None and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.1)
        if not modes:
            raise RuntimeError('node did not start:\n' + (work / 'node.log').read_text())
        camera = start_node('rgbd_seg_ros.nodes.camera_sim_node', cam_params, work / 'camera.log')
        while not infos and time.monotonic() < deadline + 120:
            executor.spin_once(timeout_sec=0.1)
        t_start = time.monotonic()
        measure_from = t_start + args.warmup
        t_end = measure_from + args.duration
        next_sample = t_start
        while time.monotonic() < t_end + 1.5:
            executor.spin_once(timeout_sec=0.02)
            if time.monotonic() >= next_sample:
                cpu_s, rss = proc_sample(node.pid)
                samples.append((time.monotonic(), cpu_s, rss, modes[-1][1]))
                next_sample += 1.0
        diag_final = dict(diag)
    finally:
        if camera is not None:
            stop_process(camera)
        stop_process(node)
        executor.shutdown()
        probe.destroy_node()
        rclpy.try_shutdown()

    def mode_at(t: float) -> str:
        current = modes[0][1]
        for tm, m in modes:
            if tm <= t:
                current = m
        return current

    window = [(arr, now, st) for arr, now, st in labels if measure_from <= arr < t_end]
    inputs = [(arr, st) for arr, st in infos if measure_from <= arr < t_end]
    per_mode = {}
    for mode in ('rgbd', 'rgb'):
        sel = [(arr, now, st) for arr, now, st in window if mode_at(arr) == mode]
        ins = [arr for arr, _ in inputs if mode_at(arr) == mode]
        span = sum(1.0 for _ in ins) / args.rate if ins else 0.0
        lat = [(now - st) * 1e3 for _, now, st in sel]
        cpu = [(b[1] - a[1]) / (b[0] - a[0]) * 100.0 for a, b in zip(samples, samples[1:])
               if measure_from <= a[0] < t_end and a[3] == mode and b[3] == mode]
        per_mode[mode] = {
            'input_frames': len(ins), 'output_frames': len(sel),
            'output_rate_hz': len(sel) / span if span else 0.0,
            'drop_rate': 1.0 - len(sel) / len(ins) if ins else float('nan'),
            'latency_subscriber_ms': percentiles(lat),
            'node_cpu_percent_mean': float(np.mean(cpu)) if cpu else float('nan'),
        }
    node_time_ms = float(diag_final.get('node time per output (ms)', 'nan'))
    inference_ms = float(diag_final.get('inference mean (ms)', 'nan'))
    bare_mean = float(np.mean(list(bare_ms.values())))
    frames_by_mode = {m: int(diag_final.get(f'frames {m}', 0)) for m in ('rgbd', 'rgb')}
    total = sum(frames_by_mode.values()) or 1
    bare_weighted = sum(bare_ms.get(m, bare_mean) * n for m, n in frames_by_mode.items()) / total
    network_weighted = sum(network_ms.get(m, float('nan')) * n
                           for m, n in frames_by_mode.items()) / total
    bare_cpu_weighted = sum(bare_cpu_ms.get(m, bare_mean) * n
                            for m, n in frames_by_mode.items()) / total
    in_window = [s for s in samples if measure_from <= s[0] <= t_end]
    node_cpu_per_output_ms = ((in_window[-1][1] - in_window[0][1]) * 1e3 / len(
        [a for a, _, _ in labels if in_window[0][0] <= a < in_window[-1][0]]))
    return {
        'config': {k: v for k, v in vars(args).items() if k != 'json'},
        'load_average': os.getloadavg(),
        'bare_predict_ms': bare_ms,
        'bare_predict_cpu_ms': bare_cpu_ms,
        'bare_network_ms': network_ms,  # the network alone at its input size, no resizing
        'node_time_vs_network': node_time_ms / network_weighted,
        'node_cpu_per_output_ms': node_cpu_per_output_ms,
        'node_overhead_cpu': node_cpu_per_output_ms / bare_cpu_weighted,
        'node_time_per_output_ms': node_time_ms,
        'node_inference_mean_ms': inference_ms,
        'node_overhead_vs_bare': node_time_ms / bare_weighted,
        'node_overhead_vs_own_inference': node_time_ms / inference_ms,
        'node_latency_ms': {'p50': float(diag_final.get('latency p50 (ms)', 'nan')),
                            'p95': float(diag_final.get('latency p95 (ms)', 'nan'))},
        'per_mode': per_mode,
        'dropped_worker_busy': int(diag_final.get('dropped (worker busy)', 0)),
        'mode_switches': [(round(t - t_start, 3), m) for t, m in modes if t >= t_start],
        'timeline': [{'t': round(t - t_start, 2), 'cpu_s': c, 'rss_mib': r, 'mode': m}
                     for t, c, r, m in samples],
        'memory_mib': {'start': samples[0][2] if samples else float('nan'),
                       'max': max((s[2] for s in samples), default=float('nan'))},
        'diagnostics': diag_final,
    }


def print_table(result: dict) -> None:
    """Human-readable summary."""
    cfg = result['config']
    print(f"\nsegmentation_node, {cfg['width']}x{cfg['height']} at {cfg['rate']} Hz, "
          f"{cfg['duration']} s (depth stopped for the middle third), "
          f"OMP_NUM_THREADS={cfg['threads']}")
    print(f"{'mode':6} {'in':>5} {'out':>5} {'out Hz':>7} {'drop':>6} {'lat p50':>8} "
          f"{'p95':>7} {'p99':>7} {'CPU %':>6}")
    for mode, r in result['per_mode'].items():
        lat = r['latency_subscriber_ms']
        print(f"{mode:6} {r['input_frames']:5d} {r['output_frames']:5d} "
              f"{r['output_rate_hz']:7.1f} {r['drop_rate']:6.1%} {lat['p50']:8.1f} "
              f"{lat['p95']:7.1f} {lat['p99']:7.1f} {r['node_cpu_percent_mean']:6.0f}")
    print(f"bare predict ms {result['bare_predict_ms']}; node time per output "
          f"{result['node_time_per_output_ms']:.1f} ms (inference in node "
          f"{result['node_inference_mean_ms']:.1f} ms)")
    print(f"node CPU per output {result['node_cpu_per_output_ms']:.1f} ms vs bare predict CPU "
          f"{result['bare_predict_cpu_ms']}: overhead (CPU) {result['node_overhead_cpu']:.3f}")
    print(f"bare network at its input size ms {result['bare_network_ms']}: node time per "
          f"output {result['node_time_vs_network']:.2f} x the network")
    print(f"node overhead (wall): {result['node_overhead_vs_bare']:.3f} x bare predict, "
          f"{result['node_overhead_vs_own_inference']:.3f} x its own inference; "
          f"memory {result['memory_mib']['start']:.0f} -> {result['memory_mib']['max']:.0f} MiB; "
          f"load average {result['load_average'][0]:.1f}")


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--width', type=int, default=640)
    parser.add_argument('--height', type=int, default=480)
    parser.add_argument('--rate', type=float, default=30.0, help='camera rate, Hz')
    parser.add_argument('--duration', type=float, default=60.0, help='measured seconds')
    parser.add_argument('--warmup', type=float, default=3.0, help='unmeasured seconds first')
    parser.add_argument('--precompute', type=int, default=8, help='camera frames to loop')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=1, help='OMP threads of the node')
    parser.add_argument('--input-size', default='240x320', help='network HxW of the models')
    parser.add_argument('--fusion-model', default='', help='checkpoint (default: random)')
    parser.add_argument('--rgb-model', default='', help='checkpoint (default: random)')
    parser.add_argument('--backend', default='torch',
                        help='comma-separated backends run one after the other in this '
                        'invocation (torch, onnxruntime, tensorrt); ratios vs the first')
    parser.add_argument('--device', default='cpu', help="node device: 'cpu' or 'cuda'")
    parser.add_argument('--precision', default='fp32', help='fp32, fp16 or bf16 (CUDA)')
    parser.add_argument('--json', default=str(REPO / 'bench' / 'results' / 'node.json'))
    args = parser.parse_args(argv)
    backends = [b for b in args.backend.split(',') if b]
    if len(backends) == 1:
        args.backend = backends[0]
        result = run(args)
        print_table(result)
        write_json(result, args.json)
        return 0
    results = {}
    input_size = tuple(int(v) for v in args.input_size.split('x'))
    if not args.rgb_model:  # the same random checkpoints for every backend
        args.checkpoints = make_checkpoints(Path(tempfile.mkdtemp(prefix='bench_ckpt_')),
                                             input_size)
    for backend in backends:
        one = argparse.Namespace(**vars(args))
        one.backend = backend
        results[backend] = run(one)
        results[backend]['config'].pop('checkpoints', None)
        print_table(results[backend])
    ratios = backend_ratios(results, backends[0])
    print_ratios(ratios, backends[0])
    write_json({'backends': results, 'baseline': backends[0], 'ratios': ratios}, args.json)
    return 0


def _summary(result: dict) -> dict[str, float]:
    """Per-backend figures compared side by side (all modes together)."""
    import numpy as np

    modes = result['per_mode'].values()
    outputs = sum(m['output_frames'] for m in modes)
    inputs = sum(m['input_frames'] for m in modes)
    span = inputs / result['config']['rate'] if inputs else float('nan')
    lat = [m['latency_subscriber_ms'] for m in modes if m['output_frames']]
    weights = [m['output_frames'] for m in modes if m['output_frames']]
    return {
        'output_rate_hz': outputs / span if span else float('nan'),
        'latency_p50_ms': float(np.average([x['p50'] for x in lat], weights=weights)),
        'latency_p95_ms': float(np.average([x['p95'] for x in lat], weights=weights)),
        'node_cpu_per_output_ms': result['node_cpu_per_output_ms'],
        'bare_predict_rgbd_ms': result['bare_predict_ms'].get('rgbd', float('nan')),
        'bare_predict_rgb_ms': result['bare_predict_ms'].get('rgb', float('nan')),
        'bare_network_rgbd_ms': result['bare_network_ms'].get('rgbd', float('nan')),
        'bare_network_rgb_ms': result['bare_network_ms'].get('rgb', float('nan')),
        'node_time_vs_network': result['node_time_vs_network'],
    }


def backend_ratios(results: dict, baseline: str) -> dict:
    """Each backend's summary and its ratio to ``baseline`` (measured in the same run)."""
    base = _summary(results[baseline])
    out = {}
    for name, result in results.items():
        summary = _summary(result)
        out[name] = {'summary': summary,
                     'ratio_vs_' + baseline: {k: summary[k] / base[k] for k in summary}}
    return out


def print_ratios(ratios: dict, baseline: str) -> None:
    """The side-by-side table."""
    keys = ('output_rate_hz', 'latency_p50_ms', 'latency_p95_ms', 'node_cpu_per_output_ms',
            'bare_predict_rgbd_ms', 'bare_predict_rgb_ms', 'bare_network_rgbd_ms',
            'bare_network_rgb_ms', 'node_time_vs_network')
    print(f"\n{'backend':12} " + ' '.join(f'{k:>24}' for k in keys))
    for name, r in ratios.items():
        cells = [f"{r['summary'][k]:10.1f} ({r['ratio_vs_' + baseline][k]:5.2f}x)" for k in keys]
        print(f'{name:12} ' + ' '.join(f'{c:>24}' for c in cells))


if __name__ == '__main__':
    sys.exit(main())
