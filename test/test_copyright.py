# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""ament_copyright's check: every source file starts with the project's copyright and license."""

from pathlib import Path
import subprocess

import pytest

REPO = Path(__file__).resolve().parents[1]
HEADER = ('# Copyright 2026 rgbd_seg_ros developers', '# SPDX-License-Identifier: Apache-2.0')


def _sources() -> list[Path]:
    tracked = subprocess.run(['git', 'ls-files', '*.py'], cwd=REPO, capture_output=True,
                             text=True)
    if tracked.returncode == 0 and tracked.stdout.strip():
        names = tracked.stdout.split()
    else:  # not a git checkout (an installed or exported tree): every Python file
        names = [str(p.relative_to(REPO)) for p in REPO.rglob('*.py')
                 if not {'.venv', 'build', 'install', 'log'} & set(p.parts)]
    return [REPO / n for n in names if (REPO / n).is_file()]


@pytest.mark.linter
def test_copyright():
    files = _sources()
    assert files
    missing = [str(f.relative_to(REPO)) for f in files
               if tuple(f.read_text().splitlines()[:2]) != HEADER]
    assert not missing, 'files without the copyright/license header:\n' + '\n'.join(missing)
