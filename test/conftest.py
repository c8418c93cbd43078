# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""Test-wide environment: no model hub, DDS on shared memory only, a private ROS domain."""

import os
from pathlib import Path
import random

import pytest
from tiny_models import save_tiny_checkpoint

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / 'test' / 'fixtures'

# Set before anything imports timm or rclpy.
os.environ['HF_HUB_OFFLINE'] = '1'
os.environ['FASTDDS_DEFAULT_PROFILES_FILE'] = str(REPO / 'config' / 'fastdds' / 'local_shm.xml')
os.environ.setdefault('RMW_IMPLEMENTATION', 'rmw_fastrtps_cpp')
os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
os.environ.setdefault('ROS_DOMAIN_ID', str(random.Random(os.getpid()).randint(110, 200)))
# Tests run tiny models; one thread each keeps concurrent test processes (a node in a
# subprocess beside the test) from spinning against each other on 2 cores.
os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

# Fuzz properties (test_fuzz_*.py): bounded and derandomized unless HYPOTHESIS_PROFILE says so.
import fuzz_support  # noqa: E402, F401 - registers the profiles
from hypothesis import settings  # noqa: E402

settings.load_profile(os.environ.get('HYPOTHESIS_PROFILE', 'ci'))


def shared_dir() -> Path:
    """The team's shared folder (fixtures, bags) beside the checkout, or $RGBD_SEG_SHARED_DIR."""
    return Path(os.environ.get('RGBD_SEG_SHARED_DIR', REPO.parent / 'shared'))


@pytest.fixture
def hha_fixtures() -> Path:
    """Reference HHA inputs and outputs (copied into the repository from the shared folder)."""
    return FIXTURES / 'hha'


@pytest.fixture
def bag_fixtures() -> Path:
    """Real RGB-D rosbag2 fixtures from the shared folder; CI must have them."""
    path = shared_dir() / 'fixtures' / 'bags'
    if not path.is_dir():
        if os.environ.get('CI'):
            pytest.fail(f'bag fixtures missing at {path}')
        pytest.skip(f'bag fixtures not found at {path} (set RGBD_SEG_SHARED_DIR)')
    return path


@pytest.fixture
def ros_domain_id() -> int:
    """A fresh ROS domain id for one test (tests in one run never share discovery)."""
    return random.randint(1, 100) + 110


@pytest.fixture(scope='session')
def tiny_checkpoint(tmp_path_factory):
    """
    ``tiny_checkpoint(name, **kwargs) -> Path``: ``save_tiny_checkpoint`` into a session folder,
    built once per distinct ``(name, kwargs)`` and shared by every test of the run.
    """
    root = tmp_path_factory.mktemp('tiny_checkpoints')
    cache: dict[tuple, Path] = {}

    def make(name: str, **kwargs) -> Path:
        key = (name, repr(sorted(kwargs.items())))
        if key not in cache:
            if any(k[0] == name for k in cache):
                raise ValueError(f'tiny checkpoint {name!r} already exists with other settings')
            cache[key] = save_tiny_checkpoint(root / f'{name}.safetensors', **kwargs)
        return cache[key]

    return make


@pytest.fixture(scope='session')
def tiny_checkpoints(tiny_checkpoint) -> dict[str, Path]:
    """
    The node's models at the simulated camera's size (ros_test_helpers): 'fusion' (rgb+hha),
    'rgb', 'depth' (hha) and 'rgb_other_classes' (three other classes).
    """
    from ros_test_helpers import CAMERA_HEIGHT, CAMERA_WIDTH

    from rgbd_seg_ros.core.labels import LabelSet

    size = (CAMERA_HEIGHT, CAMERA_WIDTH)
    other = LabelSet('other', ('a', 'b', 'c'), ((1, 2, 3), (4, 5, 6), (7, 8, 9)))
    return {
        'fusion': tiny_checkpoint('node_fusion', input_size=size, arch='fusion',
                                  fusion='se_add', depth_modality='hha'),
        'rgb': tiny_checkpoint('node_rgb', input_size=size, seed=1, modality='rgb'),
        'depth': tiny_checkpoint('node_depth', input_size=size, seed=2, modality='hha'),
        'rgb_other_classes': tiny_checkpoint('node_rgb_other', input_size=size, seed=3,
                                             labels=other, modality='rgb'),
    }
