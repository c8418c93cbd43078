# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Command-line tools that are not the package's entry points: demos, dataset writer, gallery,
checkpoint inspection (``python -m tools.NAME --help``).
"""
