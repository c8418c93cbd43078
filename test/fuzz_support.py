# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Shared pieces of the fuzz properties (``test/*/test_fuzz_*.py``) and ``bench/fuzz.py``.

Every property is a plain ``check_*(case) -> str`` function plus a hypothesis strategy for
``case``; the check raises ``AssertionError`` when the code under test misbehaves and otherwise
returns the outcome's name (``'ok'`` or ``'error: <type>'``). The tests run each property with
the ``ci`` profile (bounded, derandomized); ``bench/fuzz.py`` runs them with many more examples
and counts the outcomes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import contextlib
from dataclasses import dataclass
import signal
from typing import Any

from hypothesis import HealthCheck, settings

# Examples per property in the test suite: all properties together stay under ~60 s on 2 cores.
CI_EXAMPLES = 100

settings.register_profile(
    'ci', max_examples=CI_EXAMPLES, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.function_scoped_fixture],
    print_blob=True,
)
settings.register_profile(
    'bench', max_examples=5000, deadline=None, derandomize=False, database=None,
    suppress_health_check=list(HealthCheck), print_blob=True,
)


class HangError(AssertionError):
    """A case ran longer than its time bound (a hang, as far as fuzzing is concerned)."""


@contextlib.contextmanager
def time_bound(seconds: float) -> Iterator[None]:
    """Raise ``HangError`` in the main thread when the block runs longer than ``seconds``."""

    def _expired(signum: int, frame: Any) -> None:
        raise HangError(f'case did not finish within {seconds} s')

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, previous)


def outcome(fn: Callable[[], Any], allowed: tuple[type[BaseException], ...] = (ValueError,),
            ) -> tuple[str, Any]:
    """
    Run ``fn``: ``('ok', result)``, or ``('error: Type', exc)`` for an ``allowed`` exception.

    Anything else (``TypeError``, ``IndexError``, ``MemoryError``, ...) propagates: the property
    fails on it.
    """
    try:
        return 'ok', fn()
    except allowed as exc:
        assert str(exc).strip(), f'{type(exc).__name__} without a message'
        return f'error: {type(exc).__name__}', exc


@dataclass(frozen=True)
class Property:
    """One fuzzed boundary: a strategy of cases and the check run on each."""

    name: str
    strategy: Any  # hypothesis strategy of the check's single argument
    check: Callable[[Any], str]
