# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The Fast DDS profiles: well-formed, accepted by Fast DDS's own parser, and sized for VGA RGB-D.

The parser check loads each profile in a subprocess; the large-data profile's UDP transport is
first restricted to 127.0.0.1 so no packet leaves the machine.
"""

from pathlib import Path
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from ros_test_helpers import ros_env

pytestmark = pytest.mark.ros
FASTDDS = Path(__file__).resolve().parents[2] / 'config' / 'fastdds'
NS = {'d': 'http://www.eprosima.com'}
VGA_RGBD_BYTES = 640 * 480 * 3 + 640 * 480 * 2


def transports(root):
    return {t.find('d:transport_id', NS).text: t
            for t in root.iterfind('.//d:transport_descriptor', NS)}


def test_local_profile_is_shared_memory_only():
    root = ET.parse(FASTDDS / 'local_shm.xml').getroot()
    kinds = {t.find('d:type', NS).text for t in transports(root).values()}
    assert kinds == {'SHM'}
    assert root.find('.//d:useBuiltinTransports', NS).text == 'false'


def test_large_data_profile_has_big_shm_and_udp():
    root = ET.parse(FASTDDS / 'large_data_shm_udp.xml').getroot()
    found = transports(root)
    by_kind = {t.find('d:type', NS).text: t for t in found.values()}
    assert set(by_kind) == {'SHM', 'UDPv4'}
    assert int(by_kind['SHM'].find('d:segment_size', NS).text) >= 20 * VGA_RGBD_BYTES
    assert int(by_kind['UDPv4'].find('d:receiveBufferSize', NS).text) >= 4 * VGA_RGBD_BYTES
    participant = root.find('.//d:participant', NS)
    assert participant.get('is_default_profile') == 'true'
    used = [t.text for t in participant.iterfind('.//d:userTransports/d:transport_id', NS)]
    assert set(used) == set(found)
    assert participant.find('.//d:useBuiltinTransports', NS).text == 'false'


def loopback_copy(tmp_path: Path) -> Path:
    """The large-data profile with its UDP transport bound to the loopback interface."""
    text = (FASTDDS / 'large_data_shm_udp.xml').read_text()
    marker = '<type>UDPv4</type>'
    assert marker in text
    text = text.replace(marker, marker + '<interfaceWhiteList><address>127.0.0.1</address>'
                                         '</interfaceWhiteList>')
    path = tmp_path / 'large_data_loopback.xml'
    path.write_text(text)
    return path


@pytest.mark.parametrize('profile', ['local_shm.xml', 'large_data_shm_udp.xml'])
def test_fast_dds_parses_the_profile(tmp_path, ros_domain_id, profile):
    path = FASTDDS / profile if profile == 'local_shm.xml' else loopback_copy(tmp_path)
    env = ros_env(ros_domain_id)
    env['FASTDDS_DEFAULT_PROFILES_FILE'] = str(path)
    env['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    code = ('import rclpy\nrclpy.init()\nnode = rclpy.create_node("profile_check")\n'
            'node.destroy_node()\nrclpy.shutdown()\nprint("participant ok")\n')
    proc = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True,
                          text=True, timeout=60)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0 and 'participant ok' in output, output
    assert 'XMLPARSER' not in output and 'Error' not in output, output
