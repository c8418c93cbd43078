# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Synthetic RGB-D world (numpy + OpenCV, ROS-free): procedural rooms, a ray-casting renderer,
RGB-D sensor models and ground-truth labels. See docs/datasets.md.
"""

from rgbd_seg_ros.sim.classes import SYNTHETIC_LABELS
from rgbd_seg_ros.sim.sensor import SensorConfig
from rgbd_seg_ros.sim.style import DEFAULT_WORLD, WORLDS, WorldStyle, world_style
from rgbd_seg_ros.sim.world import Frame, SyntheticSequence, sample_frame

__all__ = ['DEFAULT_WORLD', 'Frame', 'SYNTHETIC_LABELS', 'SensorConfig', 'SyntheticSequence',
           'WORLDS', 'WorldStyle', 'sample_frame', 'world_style']
