# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
bench/gpu_check.sh parses, lists its steps within the 8-minute budget, and stops at once
without a GPU (the GPU run itself happens only on a machine with one).
"""

import os
from pathlib import Path
import re
import subprocess
import sys

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / 'bench' / 'gpu_check.sh'


def _run(*args, env=None):
    return subprocess.run(['bash', str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, 'PYTHON': sys.executable, **(env or {})})


def test_syntax():
    assert subprocess.run(['bash', '-n', str(SCRIPT)], capture_output=True).returncode == 0


def test_dry_run_lists_every_step_within_eight_minutes():
    proc = _run('--dry-run', '--json', '/tmp/x.json')
    assert proc.returncode == 0, proc.stderr
    steps = re.findall(r'^  (\w+) \(<= (\d+) s\): (.*)$', proc.stdout, re.M)
    assert [s[0] for s in steps] == ['cuda_tests', 'hha_cuda', 'node_cuda', 'train_step_amp']
    assert sum(int(s[1]) for s in steps) <= 8 * 60 - 30
    commands = ' '.join(s[2] for s in steps)
    for needle in ('-m cuda', '--cuda-batch-sizes 1,8', '--precision fp16', '--rate 30',
                   '--amp'):
        assert needle in commands
    assert 'would write /tmp/x.json' in proc.stdout


def test_unknown_argument_is_refused():
    assert _run('--bogus').returncode == 2


def test_without_a_gpu_it_fails_fast_and_says_so():
    import torch

    if torch.cuda.is_available():
        pytest.skip('a GPU is present: the script would run')
    proc = _run(env={'CUDA_VISIBLE_DEVICES': ''})
    assert proc.returncode == 3
    assert 'no CUDA GPU' in proc.stderr
