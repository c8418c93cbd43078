# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Long fuzzing run of every input-boundary property (the same properties as
``test/*/test_fuzz_*.py``, many more examples): Image and CameraInfo conversion, the
synchroniser, the checkpoint loader and the bag reader.

Prints, per property, how many cases ran and how they ended (a valid result, or which of the
project's errors), and writes JSON. Exit status 1 when a property failed (the falsifying case,
shrunk by hypothesis, is printed and stored).

    .venv/bin/python bench/fuzz.py                          # 5000 examples per property
    .venv/bin/python bench/fuzz.py --examples 200 --only synchronizer,bag_reader
"""

from __future__ import annotations

import argparse
from collections import Counter
import importlib
import json
import logging
import os
from pathlib import Path
import sys
import time
import traceback

REPO = Path(__file__).resolve().parents[1]
MODULES = ('test_fuzz_conversions', 'test_fuzz_sync', 'test_fuzz_checkpoint', 'test_fuzz_bag_io')


def _set_env() -> None:
    """No model hub, DDS on shared memory only (the conversions import rclpy's messages)."""
    os.environ['HF_HUB_OFFLINE'] = '1'
    os.environ['FASTDDS_DEFAULT_PROFILES_FILE'] = str(REPO / 'config/fastdds/local_shm.xml')
    os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    for sub in ('', 'test', 'test/core', 'test/ros'):
        sys.path.insert(0, str(REPO / sub))


def run_property(prop, examples: int, seed: int | None) -> dict:
    """Run one property for ``examples`` cases; counts of outcomes, or the failure."""
    from hypothesis import given, settings
    from hypothesis import seed as hyp_seed

    counts: Counter[str] = Counter()

    def body(case):
        counts[prop.check(case)] += 1

    test = settings(settings.get_profile('bench'), max_examples=examples)(given(prop.strategy)(
        body))
    if seed is not None:
        test = hyp_seed(seed)(test)
    started = time.perf_counter()
    failure = ''
    try:
        test()
    except Exception:  # noqa: BLE001 - the report shows any falsifying case
        failure = traceback.format_exc(limit=6)
    # The last counted example of a failing run may be a shrink step: counts are per case run.
    return {'cases': sum(counts.values()), 'outcomes': dict(sorted(counts.items())),
            'seconds': round(time.perf_counter() - started, 1), 'passed': not failure,
            'failure': failure}


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--examples', type=int, default=5000, help='cases per property')
    parser.add_argument('--seed', type=int, default=None, help='hypothesis seed (default: random)')
    parser.add_argument('--only', default='', help='comma-separated property names')
    parser.add_argument('--json', default=str(REPO / 'bench' / 'results' / 'fuzz.json'))
    args = parser.parse_args(argv)
    _set_env()
    import fuzz_support  # noqa: F401 - registers the hypothesis profiles

    logging.getLogger('rgbd_seg_ros').setLevel(logging.ERROR)  # skipped-message warnings

    props = [p for m in MODULES for p in importlib.import_module(m).PROPERTIES]
    wanted = {n for n in args.only.split(',') if n}
    unknown = wanted - {p.name for p in props}
    if unknown:
        parser.error(f'unknown properties {sorted(unknown)}; known: {[p.name for p in props]}')
    results = {}
    for prop in props:
        if wanted and prop.name not in wanted:
            continue
        print(f'{prop.name}: {args.examples} examples ...', flush=True)
        results[prop.name] = run_property(prop, args.examples, args.seed)
        if results[prop.name]['failure']:
            print(results[prop.name]['failure'], flush=True)
    print(f"\n{'property':28} {'cases':>7} {'s':>7}  result   outcomes")
    for name, r in results.items():
        outcomes = ', '.join(f'{k}: {v}' for k, v in r['outcomes'].items())
        print(f"{name:28} {r['cases']:7d} {r['seconds']:7.1f}  "
              f"{'pass' if r['passed'] else 'FAIL':7}  {outcomes}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({
        'examples_per_property': args.examples, 'seed': args.seed,
        'total_cases': sum(r['cases'] for r in results.values()), 'properties': results},
        indent=2))
    print(f'wrote {args.json}')
    return 0 if all(r['passed'] for r in results.values()) else 1


if __name__ == '__main__':
    sys.exit(main())
