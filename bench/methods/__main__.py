# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""``python -m bench.methods``: the benchmark's command line (``bench/methods/cli.py``)."""

from pathlib import Path
import sys

if __package__ in (None, ''):  # run as ``python bench/methods``: the repository on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.methods.cli import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
