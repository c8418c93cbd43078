# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
RGB-D semantic segmentation for ROS 2 with depth-dropout fallback.

Importing this package imports neither torch nor rclpy.
"""

__version__ = '0.1.0'
