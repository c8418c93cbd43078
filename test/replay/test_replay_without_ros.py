# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""The offline replay runs where no ROS is installed: rclpy and every *_msgs package absent."""

import json
from pathlib import Path
import subprocess
import sys

REPO = Path(__file__).resolve().parents[2]

# Run in a fresh interpreter whose imports of anything ROS fail as in a venv without ROS.
SCRIPT = r"""
import importlib.abc
import json
import sys

ROS_ROOTS = ('rclpy', 'rcl', 'rcl_interfaces', 'rmw', 'rpyutils', 'ament_index_python',
             'cv_bridge', 'message_filters', 'launch', 'launch_ros', 'rosbag2_py')


class NoRos(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        root = name.split('.')[0]
        if (root in ROS_ROOTS or root.endswith('_msgs') or root.startswith('rosidl')
                or root.startswith('rcl')):
            raise ModuleNotFoundError(f'No module named {name!r} (no ROS here)', name=name)
        return None


sys.meta_path.insert(0, NoRos())
from rgbd_seg_ros.replay.__main__ import main

rc = main(sys.argv[1:])
ros = sorted(m for m in sys.modules if m.split('.')[0].endswith('_msgs')
             or m.split('.')[0] in ROS_ROOTS)
print('RESULT', json.dumps({'rc': rc, 'ros_modules': ros}))
"""


def test_offline_replay_needs_no_ros(tmp_path, tiny_checkpoint):
    from rgbd_seg_ros.replay.make_bag import Window, make_bag

    bag = tmp_path / 'bag'
    make_bag(bag, frames=20, rate_hz=15.0, seed=3, size=(48, 64),
             depth_gaps=[Window(0.4, 0.9)], progress=False)
    fusion = tiny_checkpoint('fusion_48x64', arch='fusion', fusion='se_add')
    rgb = tiny_checkpoint('rgb_48x64', modality='rgb')
    report = tmp_path / 'report'
    proc = subprocess.run(
        [sys.executable, '-c', SCRIPT, '--bag', str(bag), '--fusion-model', str(fusion),
         '--rgb-model', str(rgb), '--preset', 'realsense', '--report', str(report),
         '--no-plots', '--rgb-topic', '/camera/color/image_raw',
         '--depth-topic', '/camera/aligned_depth_to_color/image_raw',
         '--camera-info-topic', '/camera/color/camera_info'],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    lines = [line for line in proc.stdout.splitlines() if line.startswith('RESULT ')]
    assert lines, (f'no result (rc {proc.returncode}):\n{proc.stdout[-2000:]}\n'
                   f'{proc.stderr[-3000:]}')
    result = json.loads(lines[-1][len('RESULT '):])
    assert result == {'rc': 0, 'ros_modules': []}
    summary = json.loads((report / 'report.json').read_text())
    assert summary['frames'] == 20 and summary['frames_scored'] == 20
    assert set(summary['frames_by_mode']) == {'rgbd', 'rgb'}  # the gap drove a fallback
