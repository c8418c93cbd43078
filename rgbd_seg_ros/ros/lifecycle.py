# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Start, spin and stop a node so that SIGINT and SIGTERM end it cleanly, with exit status 0.

rclpy's own signal handler shuts the context down the moment the signal arrives, while timers
and worker threads may still publish: ``RCLError: publisher's context is invalid`` tracebacks on
Ctrl-C. Here the handler only sets a flag; the spin loop sees it, the node stops its own work
(``close()``: timers, worker threads), the node is destroyed, and only then is the context shut
down. A bad configuration (``ValueError``/``RuntimeError`` from the constructor) exits 2 with
one ``fatal`` line.
"""

from __future__ import annotations

from collections.abc import Callable
import signal
import threading
import time
from typing import Any

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.signals import SignalHandlerOptions

_SPIN_PERIOD_S = 0.1
_DRAIN_S = 0.2


def run_node(factory: Callable[[], Any], name: str, args: list[str] | None = None) -> int:
    """
    Build the node with ``factory`` and spin it until SIGINT/SIGTERM or an external shutdown.

    :param factory: builds the node (after ``rclpy.init``); ``ValueError``/``RuntimeError``
        mean a bad configuration.
    :param name: logger name for the start-up failure.
    :returns: 0 after a clean stop, 2 when the node could not start.
    """
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            node = factory()
        except (ValueError, RuntimeError) as exc:  # bad parameters/checkpoints, device
            rclpy.logging.get_logger(name).fatal(f'cannot start: {exc}')
            return 2
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        try:
            while not stop.is_set() and rclpy.ok():
                executor.spin_once(timeout_sec=_SPIN_PERIOD_S)
        except (KeyboardInterrupt, ExternalShutdownException):
            pass
        finally:
            close = getattr(node, 'close', None)
            if close is not None:
                close()  # the node's timers and threads stop while the context is valid
            # let the last messages reach their readers before the participant goes away
            # (a best-effort sample still in shared memory is lost to slower readers)
            time.sleep(_DRAIN_S)
            executor.remove_node(node)
            executor.shutdown(timeout_sec=1.0)
            node.destroy_node()
        return 0
    finally:
        rclpy.try_shutdown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
