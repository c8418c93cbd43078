# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""``data.synthetic_world`` selects the world variant the training frames come from."""

import numpy as np
import pytest

from rgbd_seg_ros.sim import WORLDS, sample_frame
from training.data.config import KNOWN_WORLDS, DataConfig
from training.data.dataset import create_reader
from training.data.synthetic import split_seed


def test_config_names_every_world_of_the_simulator():
    assert set(KNOWN_WORLDS) == set(WORLDS)


@pytest.mark.parametrize('world', sorted(WORLDS))
def test_reader_renders_frames_of_the_configured_world(world):
    cfg = DataConfig(size=(48, 64), synthetic_world=world, synthetic_val_length=2)
    sample = create_reader(cfg, 'val')[1]
    expected = sample_frame(split_seed(0, 'val'), 1, 64, 48, world=world)
    np.testing.assert_array_equal(sample['rgb'], expected.rgb)
    np.testing.assert_array_equal(sample['depth_m'], expected.depth_m)


def test_nyu_like_is_the_default_world_of_the_simulator_and_of_training():
    from rgbd_seg_ros.sim import DEFAULT_WORLD
    from training.data.synthetic import sensor_config

    assert DEFAULT_WORLD == DataConfig().synthetic_world == 'nyu_like'
    np.testing.assert_array_equal(sample_frame(0, 0, 32, 24).rgb,
                                  sample_frame(0, 0, 32, 24, world='nyu_like').rgb)
    assert sensor_config('default') == WORLDS['nyu_like'].sensor  # the world's own sensor
    reader = create_reader(DataConfig(size=(24, 32), synthetic_val_length=1), 'val')
    assert reader.world == 'nyu_like' and reader.sensor == WORLDS['nyu_like'].sensor


def test_the_worlds_render_different_rooms():
    a = sample_frame(0, 0, 64, 48, world='nyu_like')
    b = sample_frame(0, 0, 64, 48, world='depth_favoured')
    assert not np.array_equal(a.depth_m, b.depth_m)


def test_unknown_world_in_the_config_is_refused():
    with pytest.raises(ValueError, match='data.synthetic_world'):
        DataConfig(synthetic_world='mars')


def test_cached_finite_set_equals_the_rendered_one_and_survives_a_broken_file(tmp_path):
    cfg = DataConfig(size=(48, 64), synthetic_train_length=3, synthetic_cache=str(tmp_path))
    cached = create_reader(cfg, 'train')
    first = [cached[i] for i in range(3)]
    files = sorted(tmp_path.rglob('*.npz'))
    assert len(files) == 3
    plain = create_reader(DataConfig(size=(48, 64), synthetic_train_length=3), 'train')
    files[1].write_bytes(b'not an npz')  # a torn file is rendered again, not trusted
    for i in range(3):
        again, ref = cached[i], plain[i]
        for key in ('rgb', 'depth_m', 'valid', 'label'):
            np.testing.assert_array_equal(again[key], ref[key])
            np.testing.assert_array_equal(first[i][key], ref[key])
        assert again['intrinsics'] == ref['intrinsics'] and again['name'] == ref['name']


def test_filled_depth_is_the_raw_frame_in_painted_and_cached_apart(tmp_path):
    raw_cfg = DataConfig(size=(48, 64), synthetic_train_length=2, synthetic_cache=str(tmp_path),
                         synthetic_world='nyu_like')
    filled_cfg = DataConfig(size=(48, 64), synthetic_train_length=2,
                            synthetic_cache=str(tmp_path), synthetic_world='nyu_like',
                            synthetic_depth='filled')
    raw, filled = create_reader(raw_cfg, 'train')[0], create_reader(filled_cfg, 'train')[0]
    assert not raw['valid'].all() and filled['valid'].all()  # the sensor's holes, then none
    np.testing.assert_array_equal(filled['depth_m'][raw['valid']], raw['depth_m'][raw['valid']])
    np.testing.assert_array_equal(filled['rgb'], raw['rgb'])
    assert len({p.parent for p in tmp_path.rglob('*.npz')}) == 2  # one cache folder each
    again = create_reader(filled_cfg, 'train')[0]  # read back from the cache
    np.testing.assert_array_equal(again['depth_m'], filled['depth_m'])


def test_unknown_synthetic_depth_is_refused():
    with pytest.raises(ValueError, match='data.synthetic_depth'):
        DataConfig(synthetic_depth='smoothed')


def test_a_sensor_model_of_ones_own_renders_the_frames_and_caches_apart(tmp_path):
    import dataclasses

    from rgbd_seg_ros.sim import world_style
    from training.data.synthetic import SyntheticReader

    own = dataclasses.replace(world_style('nyu_like').sensor, edge_holes=False)
    reader = SyntheticReader(0, 'train', (48, 64), 1, sensor=own, world='nyu_like',
                             cache=str(tmp_path))
    default = SyntheticReader(0, 'train', (48, 64), 1, world='nyu_like', cache=str(tmp_path))
    got, ref = reader[0], default[0]
    expected = sample_frame(split_seed(0, 'train'), 0, 64, 48, own, 'nyu_like')
    np.testing.assert_array_equal(got['depth_m'], expected.depth_m)
    np.testing.assert_array_equal(got['rgb'], ref['rgb'])  # the depth sensor alone changed
    assert got['valid'].sum() > ref['valid'].sum()  # no holes along the depth jumps
    assert len({p.parent for p in tmp_path.rglob('*.npz')}) == 2  # one cache folder each
