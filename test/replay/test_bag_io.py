# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""Bag writing/reading with rosbags (no ROS, no DDS): round trips, make_bag, broken bags."""

from pathlib import Path

import numpy as np
import pytest
import yaml

from rgbd_seg_ros.core.camera import CameraIntrinsics
from rgbd_seg_ros.replay.bag_io import BagError, BagSource, BagTopics, typestore
from rgbd_seg_ros.replay.bag_writer import RgbdBagWriter
from rgbd_seg_ros.replay.make_bag import Window, make_bag, parse_size
from rgbd_seg_ros.replay.params import (
    bag_topic,
    parameters_from_yaml,
    resolve_topics,
    segmentation_params,
)

T0 = 1_700_000_000_000_000_000
K = CameraIntrinsics(60.0, 61.0, 15.5, 11.5, 32, 24)
TOPICS = BagTopics().as_dict()


def _image(msg) -> np.ndarray:
    """Independent decoding of a rosbags Image: rows of ``step`` bytes, little endian."""
    dtype = {'rgb8': np.uint8, 'mono8': np.uint8, '16UC1': np.dtype('<u2')}[msg.encoding]
    channels = 3 if msg.encoding == 'rgb8' else 1
    rows = np.asarray(msg.data, np.uint8).reshape(msg.height, msg.step)
    width_bytes = msg.width * channels * np.dtype(dtype).itemsize
    arr = np.ascontiguousarray(rows[:, :width_bytes]).view(dtype)
    return arr.reshape(msg.height, msg.width, channels).squeeze(-1) if channels == 1 else \
        arr.reshape(msg.height, msg.width, 3)


def _frames(n: int):
    rng = np.random.default_rng(7)
    for i in range(n):
        yield (T0 + i * 50_000_000,
               rng.integers(0, 256, (24, 32, 3), dtype=np.uint8),
               rng.integers(0, 65536, (24, 32), dtype=np.uint16),
               rng.integers(0, 14, (24, 32), dtype=np.uint8))


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_round_trip_keeps_pixels_stamps_intrinsics_and_qos(tmp_path, storage):
    frames = list(_frames(4))
    with RgbdBagWriter(tmp_path / 'bag', storage=storage) as writer:
        for t, rgb, depth, labels in frames:
            writer.write_frame(t, rgb, depth, K, labels)
    meta = yaml.safe_load((tmp_path / 'bag' / 'metadata.yaml').read_text())
    info = meta['rosbag2_bagfile_information']
    assert info['storage_identifier'] == storage and info['version'] == 8
    assert info['message_count'] == 16

    with BagSource(tmp_path / 'bag') as bag:
        table = bag.topics()
        assert bag.start_ns == T0 and bag.end_ns == T0 + 150_000_000
        assert {table[n].count for n in TOPICS.values()} == {4}
        qos = table[TOPICS['rgb']].qos[0]
        assert qos.reliability.name == 'BEST_EFFORT' and qos.depth == 5
        records = list(bag.records(TOPICS))
    assert [r.role for r in records[:4]] == ['camera_info', 'depth', 'ground_truth', 'rgb']
    by_role = {role: [r for r in records if r.role == role] for role in TOPICS}
    for i, (t, rgb, depth, labels) in enumerate(frames):
        for role in TOPICS:
            rec = by_role[role][i]
            assert rec.t_ns == t and rec.stamp_ns == t
            assert rec.msg.header.frame_id == 'camera_color_optical_frame'
        assert by_role['rgb'][i].msg.encoding == 'rgb8'
        assert by_role['depth'][i].msg.encoding == '16UC1'
        assert by_role['ground_truth'][i].msg.encoding == 'mono8'
        np.testing.assert_array_equal(_image(by_role['rgb'][i].msg), rgb)
        np.testing.assert_array_equal(_image(by_role['depth'][i].msg), depth)
        np.testing.assert_array_equal(_image(by_role['ground_truth'][i].msg), labels)
        cam = by_role['camera_info'][i].msg
        assert (cam.width, cam.height) == (32, 24)
        np.testing.assert_allclose(np.reshape(cam.k, (3, 3)), K.K)
        np.testing.assert_allclose(np.reshape(cam.p, (3, 4))[:, :3], K.K)


def test_both_storages_hold_the_same_messages(tmp_path):
    for storage in ('mcap', 'sqlite3'):
        with RgbdBagWriter(tmp_path / storage, storage=storage) as writer:
            for t, rgb, depth, labels in _frames(3):
                writer.write_frame(t, rgb, depth, K, labels)
    contents = []
    for storage in ('mcap', 'sqlite3'):
        with BagSource(tmp_path / storage) as bag:
            contents.append([(r.role, r.t_ns, bytes(r.msg.data) if hasattr(r.msg, 'data')
                              else tuple(r.msg.k)) for r in bag.records(TOPICS)])
    assert contents[0] == contents[1] and len(contents[0]) == 12


def test_a_bare_storage_file_can_be_read(tmp_path):
    with RgbdBagWriter(tmp_path / 'bag', storage='mcap') as writer:
        for t, rgb, depth, labels in _frames(2):
            writer.write_frame(t, rgb, depth, K, labels)
    (tmp_path / 'bag' / 'metadata.yaml').unlink()
    with BagSource(tmp_path / 'bag') as bag:  # the directory's only .mcap file
        assert len(list(bag.records(TOPICS))) == 8


def test_make_bag_leaves_out_depth_in_gaps_and_records_ground_truth(tmp_path):
    from rgbd_seg_ros.sim import SyntheticSequence

    counts = make_bag(tmp_path / 'bag', frames=10, rate_hz=10.0, seed=3, size=(24, 32),
                      depth_gaps=[Window(0.25, 0.55)], depth_invalid=[Window(0.75, 0.85)],
                      progress=False)
    assert counts[TOPICS['rgb']] == 10 and counts[TOPICS['depth']] == 7  # t = 0.3, 0.4, 0.5
    with BagSource(tmp_path / 'bag') as bag:
        records = list(bag.records(TOPICS))
    depth_t = [(r.t_ns - T0) / 1e9 for r in records if r.role == 'depth']
    np.testing.assert_allclose(depth_t, [0.0, 0.1, 0.2, 0.6, 0.7, 0.8, 0.9], atol=1e-9)
    sequence = SyntheticSequence(3, 32, 24)
    for rec in records:
        i = round((rec.t_ns - T0) / 1e8)
        assert rec.stamp_ns == rec.t_ns == T0 + i * 100_000_000
        if rec.role == 'ground_truth':
            np.testing.assert_array_equal(_image(rec.msg), sequence.frame(i, i / 10).label)
        if rec.role == 'rgb':
            np.testing.assert_array_equal(_image(rec.msg), sequence.frame(i, i / 10).rgb)
        if rec.role == 'depth':
            frame = sequence.frame(i, i / 10)
            expected = np.zeros((24, 32), np.uint16) if i == 8 else \
                np.rint(frame.depth_m * 1000).astype(np.uint16)
            np.testing.assert_array_equal(_image(rec.msg), expected)


def test_make_bag_command_line(tmp_path, capsys):
    from rgbd_seg_ros.replay.make_bag import main

    assert main(['--out', str(tmp_path / 'b'), '--storage', 'sqlite3', '--frames', '3',
                 '--rate', '30', '--size', '24x32', '--no-ground-truth']) == 0
    assert 'bag:' in capsys.readouterr().out
    with BagSource(tmp_path / 'b') as bag:
        assert TOPICS['ground_truth'] not in bag.topics()
    with pytest.raises(SystemExit):
        main(['--out', str(tmp_path / 'c'), '--depth-gap', '3:1'])


def test_make_bag_records_nyu_like_by_default_and_honours_world(tmp_path):
    from rgbd_seg_ros.replay.make_bag import main
    from rgbd_seg_ros.sim import SyntheticSequence

    for extra, world in (([], 'nyu_like'), (['--world', 'depth_favoured'], 'depth_favoured')):
        bag = tmp_path / world
        assert main(['--out', str(bag), '--frames', '1', '--size', '24x32',
                     '--no-ground-truth'] + extra) == 0
        with BagSource(bag) as source:
            rgb = next(r for r in source.records(TOPICS) if r.role == 'rgb')
        expected = SyntheticSequence(0, 32, 24, world=world).frame(0, 0.0).rgb
        np.testing.assert_array_equal(_image(rgb.msg), expected)
    with pytest.raises(SystemExit):
        main(['--out', str(tmp_path / 'x'), '--world', 'mars'])


@pytest.mark.parametrize('text', ['1', 'a:b', '2:1', '-1:2'])
def test_bad_windows_are_rejected(text):
    with pytest.raises(ValueError, match='T1'):
        Window.parse(text)


def test_sizes_are_rows_by_columns():
    assert parse_size('240x320') == (240, 320)
    with pytest.raises(ValueError, match='HxW'):
        parse_size('320')


# -- broken bags ---------------------------------------------------------------------------


def _small_bag(path: Path, storage: str) -> Path:
    with RgbdBagWriter(path, storage=storage) as writer:
        for t, rgb, depth, labels in _frames(6):
            writer.write_frame(t, rgb, depth, K, labels)
    return path


def test_missing_bag_is_a_clear_error(tmp_path):
    with pytest.raises(BagError, match='bag not found'):
        BagSource(tmp_path / 'nope').__enter__()
    (tmp_path / 'empty').mkdir()
    with pytest.raises(BagError, match='no metadata.yaml'):
        BagSource(tmp_path / 'empty').__enter__()


@pytest.mark.parametrize('storage,suffix', [('mcap', '.mcap'), ('sqlite3', '.db3')])
def test_truncated_bag_is_a_clear_error(tmp_path, storage, suffix):
    bag = _small_bag(tmp_path / 'bag', storage)
    (data,) = bag.glob(f'*{suffix}')
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    with pytest.raises(BagError, match=r'cannot open bag .*(truncated|corrupted)'):
        with BagSource(bag) as source:
            list(source.records(TOPICS))


def test_undecodable_message_is_skipped_and_counted(tmp_path):
    from rosbags.rosbag2 import StoragePlugin, Writer

    store = typestore()
    writer = Writer(tmp_path / 'bag', version=8, storage_plugin=StoragePlugin.MCAP)
    writer.open()
    conn = writer.add_connection(TOPICS['rgb'], 'sensor_msgs/msg/Image', typestore=store)
    good = store.types['sensor_msgs/msg/Image'](
        header=store.types['std_msgs/msg/Header'](
            stamp=store.types['builtin_interfaces/msg/Time'](sec=1, nanosec=0), frame_id='c'),
        height=1, width=1, encoding='rgb8', is_bigendian=0, step=3,
        data=np.zeros(3, np.uint8))
    raw = bytes(store.serialize_cdr(good, 'sensor_msgs/msg/Image'))
    writer.write(conn, 1_000_000_000, raw)
    writer.write(conn, 2_000_000_000, b'\x00\x01\x00\x00\xff\xff')  # cut-off CDR
    writer.write(conn, 3_000_000_000, raw)
    writer.close()
    with BagSource(tmp_path / 'bag') as bag:
        times = [r.t_ns for r in bag.records({'rgb': TOPICS['rgb']})]
        assert times == [1_000_000_000, 3_000_000_000]
        assert bag.skipped == {f'undecodable {TOPICS["rgb"]}': 1}


def test_missing_or_mistyped_topics_name_the_bag_topics(tmp_path):
    bag = _small_bag(tmp_path / 'bag', 'mcap')
    with BagSource(bag) as source:
        with pytest.raises(BagError, match=r"rgb topic '/x' is not in the bag.*"
                                           r'/camera/color/image_raw \[sensor_msgs'):
            source.check_topics({'rgb': '/x'})
        with pytest.raises(BagError, match='has type sensor_msgs/msg/CameraInfo'):
            source.check_topics({'rgb': TOPICS['camera_info']})
        found = source.check_topics({'rgb': TOPICS['rgb'], 'ground_truth': '/none'})
        assert found == {'rgb': TOPICS['rgb']}  # optional roles may be absent


def test_ros1_bags_are_read_through_anyreader(tmp_path):
    from rosbags.rosbag1 import Writer
    from rosbags.typesys import Stores, get_typestore

    store = get_typestore(Stores.ROS1_NOETIC)
    image_t = store.types['sensor_msgs/msg/Image']
    header_t = store.types['std_msgs/msg/Header']
    time_t = store.types['builtin_interfaces/msg/Time']
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    with Writer(tmp_path / 'old.bag') as writer:
        conn = writer.add_connection('/camera/rgb/image_color', 'sensor_msgs/msg/Image',
                                     typestore=store)
        for i in range(3):
            msg = image_t(header=header_t(seq=i, stamp=time_t(sec=10 + i, nanosec=5),
                                          frame_id='cam'),
                          height=2, width=3, encoding='rgb8', is_bigendian=0, step=9,
                          data=rgb.reshape(-1))
            writer.write(conn, (10 + i) * 1_000_000_000 + 5,
                         store.serialize_ros1(msg, 'sensor_msgs/msg/Image'))
    with BagSource(tmp_path / 'old.bag') as bag:
        records = list(bag.records({'rgb': '/camera/rgb/image_color'}))
    assert [r.stamp_ns for r in records] == [(10 + i) * 1_000_000_000 + 5 for i in range(3)]
    np.testing.assert_array_equal(_image(records[0].msg), rgb)


# -- node parameters without ROS -------------------------------------------------------------


def test_parameter_files_merge_wildcard_then_node_entries():
    data = {
        '/**': {'ros__parameters': {'rgb_model': 'a.safetensors', 'depth_timeout': 0.5}},
        'robot': {'segmentation_node': {'ros__parameters': {'depth_timeout': 1}}},
        'camera_sim_node': {'ros__parameters': {'rate': 5.0}},
    }
    values = parameters_from_yaml(data, 'test.yaml')
    assert values == {'rgb_model': 'a.safetensors', 'depth_timeout': 1}
    params = segmentation_params({**values, 'use_sim_time': True,
                                  'qos_overrides./camera/color/image_raw.reliability': 'x'})
    assert params.depth_timeout == 1.0 and params.sync_config().depth_timeout == 1.0
    with pytest.raises(ValueError, match=r"unknown segmentation_node parameters \['rate'\]"):
        segmentation_params({'rgb_model': 'a', 'rate': 5.0})
    with pytest.raises(ValueError, match='recover_frames'):
        segmentation_params({'rgb_model': 'a', 'recover_frames': 'five'})


def test_topics_resolve_relative_names_and_driver_suffixes():
    assert bag_topic('rgb/image_rect_color') == '/rgb/image_rect_color'
    assert bag_topic('/a/b') == '/a/b'
    available = {'/camera/color/image_raw': 'sensor_msgs/msg/Image',
                 '/camera/color/camera_info': 'sensor_msgs/msg/CameraInfo',
                 '/robot1/left/image_raw': 'sensor_msgs/msg/Image',
                 '/robot2/left/image_raw': 'sensor_msgs/msg/Image'}
    topics, notes = resolve_topics({'rgb': '/camera/camera/color/image_raw',
                                    'camera_info': '/camera/camera/color/camera_info',
                                    'depth': '/stereo/left/image_raw'}, available)
    assert topics == {'rgb': '/camera/color/image_raw',
                      'camera_info': '/camera/color/camera_info',
                      'depth': '/stereo/left/image_raw'}  # two candidates: nothing guessed
    assert len(notes) == 2
