# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""Test-wide environment: no model hub, DDS on shared memory only, a private ROS domain."""

import os
from pathlib import Path
import random

import pytest

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
