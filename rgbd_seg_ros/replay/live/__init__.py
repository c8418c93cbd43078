# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Live replay over real DDS: a bag player with ``/clock``, the segmentation node, an evaluator.

``python -m rgbd_seg_ros.replay.live --bag BAG --rate 1.0 --params config/segment.yaml
--report DIR`` publishes the bag's RGB, depth, camera_info (and ground-truth) topics with the QoS
recorded in the bag and a ``/clock`` (rosgraph_msgs/Clock) in bag time, starts
``segmentation_node`` in a subprocess with ``use_sim_time`` (or, with ``--node external``, uses
one that is already running with ``use_sim_time:=true``) and scores the node's
``segmentation/labels`` by header stamp with ``ReplayEvaluator``. The report is the offline one
plus what only a live run can show: outputs lost in transport, frames the node skipped because
inference was busy (its latest-only slot), and latency from input to output as received.

The evaluator alone is the console script ``replay_evaluator`` (``run.main`` without
``--bag``): run it beside ``ros2 bag play --clock BAG`` and a node with ``use_sim_time:=true``;
it writes the report when the inputs stop (``--idle-timeout``) or on Ctrl-C. See docs/replay.md.

Per-frame modes: the node publishes ``segmentation/frame_status`` (the frame's header, the mode
that produced the output and why) before each output; the evaluator matches it to the labels by
stamp.

DDS stays on this machine: unless already set, ``FASTDDS_DEFAULT_PROFILES_FILE`` is pointed at
``config/fastdds/local_shm.xml``, ``ROS_AUTOMATIC_DISCOVERY_RANGE`` is ``LOCALHOST`` and, when the
node is started here, a private random ``ROS_DOMAIN_ID`` is used.

Layout: ``clock.py`` (bag time and the mode over reception time), ``player.py`` (``BagPlayer``),
``evaluator.py`` (``ReplayEvaluator``), ``transport.py`` (the report's transport section),
``run.py`` (``run_live``, the command line).
"""

from rgbd_seg_ros.replay.live.clock import ClockMap, ModeTimeline
from rgbd_seg_ros.replay.live.evaluator import ReplayEvaluator
from rgbd_seg_ros.replay.live.player import BagPlayer, rclpy_qos
from rgbd_seg_ros.replay.live.run import configure_dds_environment, main, run_live

__all__ = ['BagPlayer', 'ClockMap', 'ModeTimeline', 'ReplayEvaluator', 'configure_dds_environment',
           'main', 'rclpy_qos', 'run_live']
