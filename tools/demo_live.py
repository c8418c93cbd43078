# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The live demo (``make demo``): the simulated camera, the real segmentation node with the
shipped models and an evaluator, all over DDS on this machine.

``camera_sim_node`` (a process) renders the shipped models' NYU-like world (``TEST_WORLD``;
``Script.world`` for another) at 10 Hz on the ``furniture`` path with a scripted depth outage
and a stretch of all-invalid depth; ``segmentation_node`` (a process) runs ``models/demo`` and
falls back to the RGB model; the evaluator (``replay.live.fallback.FallbackEvaluator``, in this
process) scores every output against the camera's ground truth by stamp. After the run the
fusion model alone is scored on the fallback frames (what the robot would get without the
fallback) and the report is written.
"""

from __future__ import annotations

from dataclasses import dataclass
import logging
import os
from pathlib import Path
import sys
import time
from typing import Any

from tools.demo_scoring import TEST_WORLD

LOG = logging.getLogger('tools.demo')
REPO = Path(__file__).resolve().parents[1]
TOPICS = {'rgb': '/rgb/image_rect_color', 'depth': '/depth_registered/image_rect',
          'camera_info': '/rgb/camera_info', 'ground_truth': '/segmentation/ground_truth'}


@dataclass(frozen=True)
class Script:
    """The camera's run: length and fault windows, seconds since its first frame."""

    seconds: float = 36.0
    rate: float = 10.0
    width: int = 160
    height: int = 120
    # the first nyu_like room whose path passes the camera test
    # (bench/log/2026-12-07-demo-models-random-init.md)
    seed: int = 2
    depth_stop: tuple[float, float] = (12.0, 20.0)  # depth not published
    depth_invalid: tuple[float, float] = (26.0, 30.0)  # depth published, all pixels invalid
    world: str = TEST_WORLD  # the synthetic world the camera renders (rgbd_seg_ros.sim.WORLDS)

    def camera_params(self) -> dict[str, Any]:
        """camera_sim_node parameters of this script."""
        return {'rate': self.rate, 'width': self.width, 'height': self.height,
                'seed': self.seed, 'world': self.world, 'path': 'furniture',
                'publish_ground_truth': True, 'min_subscribers': 2,
                'depth_stop_start': self.depth_stop[0], 'depth_stop_end': self.depth_stop[1],
                'depth_invalid_start': self.depth_invalid[0],
                'depth_invalid_end': self.depth_invalid[1]}


def camera_path(script: Script = Script(), world: str | None = None) -> dict[str, float]:
    """
    What the demo camera sees along ``script``'s run in room ``script.seed`` (80x60 renders).

    ``world``: the synthetic world (``None``: ``script.world``).

    ``turn_deg_s``: the largest heading change between frames (deg/s); ``structure``: the share
    of floor, wall, ceiling and unlabelled pixels in one frame a second; ``furniture``: how many
    other classes appear in them.
    """
    import numpy as np

    from rgbd_seg_ros.sim import SyntheticSequence
    from rgbd_seg_ros.sim import classes as C

    seq = SyntheticSequence(script.seed, 80, 60, world=world or script.world, path='furniture')
    times = np.arange(0.0, script.seconds, 1.0 / script.rate)
    yaws = np.unwrap([seq.pose(t).yaw for t in times])
    labels = np.stack([seq.frame(i, t).label for i, t in enumerate(times[::10])])
    plain = (C.FLOOR, C.WALL, C.CEILING, C.UNLABELED)
    return {'turn_deg_s': float(np.degrees(np.abs(np.diff(yaws)).max()) * script.rate),
            'structure': float(np.isin(labels, plain).mean()),
            'furniture': len(set(np.unique(labels).tolist()) - set(plain))}


def _params_file(path: Path, values: dict[str, Any]) -> Path:
    import yaml

    path.write_text(yaml.safe_dump({'/**': {'ros__parameters': values}}, sort_keys=True))
    return path


def _progress(evaluator: Any, elapsed: float, total: float) -> str:
    with evaluator.lock:
        frames = len(evaluator.order)
        outputs = evaluator.outputs_received
        mode = evaluator.modes.latest() or '-'
    return (f'\r  camera t = {elapsed:5.1f} / {total:.0f} s | RGB frames {frames:4d} | '
            f'outputs {outputs:4d} | mode {mode:5s}')


def run_live_demo(models: dict[str, Path], out: Path, script: Script = Script(),
                  startup_timeout_s: float = 120.0) -> tuple[Any, dict[str, Path]]:
    """
    Run the live demo; returns the ``ReplayResult`` and the report's paths.

    :param models: node parameter -> checkpoint (``fusion_model``, ``rgb_model``, optional
        ``depth_model``).
    :raises RuntimeError: a process died or the node did not come up.
    """
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    from rgbd_seg_ros.core.inference import Segmenter
    from rgbd_seg_ros.replay.live.fallback import FallbackEvaluator
    from rgbd_seg_ros.replay.live.run import (
        configure_dds_environment,
        log_tail,
        start_node,
        stop_node,
    )
    from rgbd_seg_ros.replay.params import (
        default_params_file,
        load_node_parameters,
        segmentation_params,
    )
    from rgbd_seg_ros.replay.report import write_report

    configure_dds_environment(private_domain=True)
    out.mkdir(parents=True, exist_ok=True)
    values = load_node_parameters([default_params_file()])
    values.update({k: str(v) for k, v in models.items()})
    params = segmentation_params(values)
    node_log, camera_log = out / 'node.log', out / 'camera.log'
    node = start_node(_params_file(out / 'node_params.yaml', values), node_log)
    camera = start_node(_params_file(out / 'camera_params.yaml', script.camera_params()),
                        camera_log, module='rgbd_seg_ros.nodes.camera_sim_node')
    context = rclpy.Context()
    rclpy.init(context=context)
    executor = SingleThreadedExecutor(context=context)
    try:
        evaluator = FallbackEvaluator.create(params, TOPICS, context=context,
                                             use_sim_time=False)
        executor.add_node(evaluator)
        deadline = time.monotonic() + startup_timeout_s
        while not evaluator.node_ready():
            for proc, log in ((node, node_log), (camera, camera_log)):
                if proc.poll() is not None:
                    raise RuntimeError(f'{log.stem} exited with {proc.returncode}:\n'
                                       + log_tail(log))
            if time.monotonic() > deadline:
                raise RuntimeError(f'segmentation_node not up in {startup_timeout_s:.0f} s:\n'
                                   + log_tail(node_log))
            executor.spin_once(timeout_sec=0.1)
        evaluator.start_scoring('live camera_sim_node', None)
        LOG.info('node up; the camera starts when both subscribers are matched')
        tty = sys.stdout.isatty()
        first = None
        last_print = 0.0
        while True:
            executor.spin_once(timeout_sec=0.05)
            if evaluator.first_input_ns is not None and first is None:
                first = time.monotonic()
            now = time.monotonic()
            elapsed = 0.0 if first is None else now - first
            if first is None and now > deadline + 30.0:
                raise RuntimeError('no camera frames arrived:\n' + log_tail(camera_log))
            if now - last_print > (0.5 if tty else 5.0):
                line = _progress(evaluator, elapsed, script.seconds)
                print(line if tty else line.lstrip('\r'), end='' if tty else '\n', flush=True)
                last_print = now
            if node.poll() is not None:
                raise RuntimeError(f'segmentation_node exited with {node.returncode}:\n'
                                   + log_tail(node_log))
            if elapsed >= script.seconds:
                break
        stop_node(camera)
        drain = time.monotonic() + 1.5  # the last outputs and a fresh /diagnostics
        while time.monotonic() < drain:
            executor.spin_once(timeout_sec=0.05)
        if tty:
            print()
        end_ns = evaluator.now_ns()
        stop_node(node)
        LOG.info('scoring the fusion model alone on the fallback frames')
        fusion = Segmenter.from_checkpoint(models['fusion_model'])
        evaluator.score_fusion_alone(lambda rgb, depth_m, k: fusion.predict(rgb, depth_m, k))
        result = evaluator.result(end_ns)
        if evaluator.switches:  # with the node's own reasons, at the frames' stamps
            result.mode_switches = list(evaluator.switches)
        result.settings.update({'camera': script.camera_params(), 'models': {
            k: str(v) for k, v in models.items()}, 'ros_domain_id': os.environ.get(
                'ROS_DOMAIN_ID')})
    finally:
        executor.shutdown(timeout_sec=2.0)
        context.try_shutdown()
        stop_node(camera)
        stop_node(node)
    paths = write_report(result, out / 'report')
    return result, paths


def check_demo(summary: dict[str, Any]) -> list[str]:
    """What a demo run must show (a switch to the fallback and back, a fallback gain); problems."""
    problems = []
    to_rgb = [s for s in summary['mode_switches'] if s['from'] == 'rgbd' and s['to'] == 'rgb']
    back = [s for s in summary['mode_switches'] if s['from'] == 'rgb' and s['to'] == 'rgbd']
    if not to_rgb or not back:
        problems.append('no switch to the RGB fallback and back was seen')
    gain = summary['fallback'].get('miou_gain')
    if gain is None:
        problems.append('the fallback frames were not scored against the fusion model alone')
    elif gain <= 0:
        problems.append(f'the fallback did not beat the fusion model alone ({gain:+.3f})')
    return problems
