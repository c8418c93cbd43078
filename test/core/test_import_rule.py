# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The import rule: core, sim and training never import ROS; ``import rgbd_seg_ros`` is light.

Checked on the AST (every ``import``/``from ... import`` anywhere in a file, including inside
functions), so a lazy import in a rarely used branch is caught too.
"""

import ast
from pathlib import Path
import subprocess
import sys

import pytest

REPO = Path(__file__).resolve().parents[2]
ROS_FREE_TREES = ('rgbd_seg_ros/core', 'rgbd_seg_ros/sim', 'training')
FORBIDDEN_ROOTS = ('rclpy', 'cv_bridge', 'message_filters', 'rosidl_runtime_py', 'launch_ros',
                   'rosbag2_py')


def forbidden(module: str) -> bool:
    """True for ROS client libraries and any message package (``*_msgs``)."""
    root = module.split('.')[0]
    return root in FORBIDDEN_ROOTS or root.endswith('_msgs')


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def test_forbidden_matches_ros_modules_only():
    assert forbidden('rclpy.node') and forbidden('sensor_msgs.msg') and forbidden('cv_bridge')
    assert forbidden('diagnostic_msgs') and forbidden('message_filters')
    assert not forbidden('numpy') and not forbidden('torch.nn') and not forbidden('msgspec')


def test_detector_sees_imports_inside_functions(tmp_path):
    f = tmp_path / 'lazy.py'
    f.write_text('def g():\n    from sensor_msgs.msg import Image\n    import rclpy\n')
    assert [m for _, m in imported_modules(f) if forbidden(m)] == ['sensor_msgs.msg', 'rclpy']


@pytest.mark.parametrize('tree', ROS_FREE_TREES)
def test_ros_free_trees_import_no_ros(tree):
    files = sorted((REPO / tree).rglob('*.py'))
    assert files, f'{tree} has no Python files'
    offenders = [f'{f.relative_to(REPO)}:{line}: {module}'
                 for f in files for line, module in imported_modules(f) if forbidden(module)]
    assert not offenders, 'ROS imports in ROS-free code:\n' + '\n'.join(offenders)


def test_package_import_is_light():
    code = ('import sys, rgbd_seg_ros\n'
            "heavy = [m for m in ('torch', 'rclpy', 'timm') if m in sys.modules]\n"
            'print(heavy)\n'
            'sys.exit(1 if heavy else 0)\n')
    proc = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, f'import rgbd_seg_ros pulled in {proc.stdout.strip()}'
