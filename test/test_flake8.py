# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
ament's linter tests, so ``colcon test`` runs them: flake8 and pep257 through ruff (the
project's style checker, configured in pyproject.toml), the copyright header of every source
file, and package.xml against the package format 3 rules (``test_xmllint.py``).
"""

from pathlib import Path
import subprocess
import sys

import pytest

REPO = Path(__file__).resolve().parents[1]
# pep257 as ament_pep257 checks it (missing docstrings are not its business: D100-D107, nor
# D203/D212/D404), minus the rules our docstring style answers differently (STYLE.md: noun-phrase
# summaries that may span lines, names such as mIoU and rosbags kept as written).
PEP257 = ['--select', 'D2,D3,D4', '--ignore', 'D203,D212,D205,D400,D401,D403,D404,D415']


def _ruff(*args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, '-m', 'ruff', 'check', '--output-format', 'concise',
                           *args, str(REPO)], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    if 'No module named ruff' in proc.stderr:
        pytest.skip('ruff is not installed (pip install ruff)')
    return proc


@pytest.mark.linter
def test_flake8():
    proc = _ruff()
    assert proc.returncode == 0, f'ruff (flake8 rules) found problems:\n{proc.stdout}'


@pytest.mark.linter
def test_pep257():
    proc = _ruff(*PEP257)
    assert proc.returncode == 0, f'docstring (pep257) problems:\n{proc.stdout}'
