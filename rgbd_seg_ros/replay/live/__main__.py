# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""``python -m rgbd_seg_ros.replay.live``: see ``run.main``."""

import sys

from rgbd_seg_ros.replay.live.run import main

sys.exit(main())
