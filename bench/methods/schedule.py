# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The order the benchmark's runs train in: each run waits for its teacher and the pretraining,
and up to ``jobs`` runs train at once.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from bench.methods.plan import PRETRAIN, PRETRAIN_DEPTH, PRETRAINS, RUNS


def run_needs(run: str, pretrain: bool, depth_pretrain: bool = False) -> set[str]:
    """The runs that must have finished before ``run`` starts."""
    needs = {RUNS[run][1]} if RUNS[run][1] else set()
    if pretrain and run not in PRETRAINS:
        needs.add(PRETRAIN)
        if depth_pretrain:
            needs.add(PRETRAIN_DEPTH)
    return needs


def run_order(todo: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """
    The order runs start in: the pretraining, the RGB-D teacher (the longest run, and CMKD
    waits for it), the other teachers, the runs without a teacher, then the distilled runs.
    """
    def key(item: tuple[str, int]) -> tuple[int, int]:
        run, seed = item
        if run in PRETRAINS:
            return (0, PRETRAINS.index(run))
        if run == 'teacher_rgbd':
            return (1, 0)
        if run.startswith('teacher'):
            return (2, 0)
        return (3 if RUNS[run][1] is None else 4, seed)
    return sorted(todo, key=key)


def schedule(todo: list[tuple[str, int]], job: Callable[[str, int], tuple[str, int, float]],
             workers: int, needs: Callable[[str], set[str]]) -> list[tuple[str, int, float]]:
    """
    Run ``job(run, seed)`` for every item on ``workers`` threads, each as soon as the runs in
    ``needs(run)`` have finished (``run_order`` decides among the ready ones). A failed run
    stops the scheduling and is raised once the runs in flight have ended.

    :returns: ``(run, seed, seconds)`` of every item, in the order they finished.
    """
    pending = run_order(todo)
    done: set[str] = set()
    results: list[tuple[str, int, float]] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        running: dict[Future, tuple[str, int]] = {}
        while pending or running:
            ready = [it for it in pending if needs(it[0]) <= done]
            while ready and len(running) < workers:
                item = ready.pop(0)
                pending.remove(item)
                running[pool.submit(job, *item)] = item
            if not running:
                missing = sorted(set().union(*(needs(r) for r, _ in pending)) - done)
                raise RuntimeError(f'runs {pending} wait for {missing}, which are not '
                                   'scheduled')
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                running.pop(fut)
                run, seed, secs = fut.result()
                results.append((run, seed, secs))
                if run in PRETRAINS or run.startswith('teacher'):
                    done.add(run)
    return results
