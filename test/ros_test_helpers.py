# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Helpers for ROS tests: an rclpy.Context per test, bounded spinning, nodes in subprocesses.

DDS stays on the machine: the environment of test/conftest.py (shared-memory-only Fast DDS
profile, localhost discovery) is passed to every subprocess, with the test's own ROS_DOMAIN_ID.
"""

from __future__ import annotations

from collections.abc import Callable
import os
from pathlib import Path
import signal
import subprocess
import sys
import time
from typing import Any

import rclpy
from rclpy.executors import SingleThreadedExecutor
import yaml

REPO = Path(__file__).resolve().parents[1]
# Small enough for 2 CPU cores: the simulated camera renders 80x64, the models run at 64x80.
CAMERA_WIDTH, CAMERA_HEIGHT = 80, 64


def ros_env(domain_id: int) -> dict[str, str]:
    """The subprocess environment: conftest's DDS settings plus ``domain_id``."""
    env = dict(os.environ)
    env['ROS_DOMAIN_ID'] = str(domain_id)
    env['PYTHONPATH'] = str(REPO) + os.pathsep + env.get('PYTHONPATH', '')
    env.setdefault('OMP_NUM_THREADS', '1')
    env['PYTHONUNBUFFERED'] = '1'
    return env


class RosTestContext:
    """``with RosTestContext(domain_id) as ros:`` gives ``ros.node`` on a private context."""

    def __init__(self, domain_id: int, name: str = 'test_probe') -> None:
        self.domain_id = domain_id
        self.name = name

    def __enter__(self) -> RosTestContext:
        self.context = rclpy.Context()
        rclpy.init(context=self.context, domain_id=self.domain_id)
        self.node = rclpy.create_node(self.name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.executor.shutdown(timeout_sec=2.0)
        self.node.destroy_node()
        self.context.try_shutdown()

    def spin_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Spin until ``predicate()`` is true or ``timeout`` seconds passed; returns it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            self.executor.spin_once(timeout_sec=0.05)
        return predicate()

    def spin_for(self, seconds: float) -> None:
        """Spin for ``seconds``."""
        self.spin_until(lambda: False, seconds)


def write_params(path: Path, params: dict[str, Any]) -> Path:
    """A ROS 2 parameter file that applies ``params`` to every node."""
    path.write_text(yaml.safe_dump({'/**': {'ros__parameters': params}}))
    return path


def start_module(module: str, domain_id: int, params_files: list[Path] = (),
                 log: Path | None = None) -> subprocess.Popen:
    """``python -m module --ros-args --params-file ...`` in its own process group."""
    cmd = [sys.executable, '-m', module, '--ros-args']
    for f in params_files:
        cmd += ['--params-file', str(f)]
    out = open(log, 'w') if log else subprocess.DEVNULL  # noqa: SIM115 - closed by the OS
    return subprocess.Popen(cmd, env=ros_env(domain_id), cwd=REPO, stdout=out,
                            stderr=subprocess.STDOUT, start_new_session=True)


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> int:
    """SIGINT, then SIGKILL after ``timeout`` seconds; returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
    return proc.returncode


def stamp_key(stamp: Any) -> tuple[int, int]:
    """A hashable builtin_interfaces/Time."""
    return (int(stamp.sec), int(stamp.nanosec))
