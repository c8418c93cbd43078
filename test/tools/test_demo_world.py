# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
One world everywhere: tools.demo and tools.gallery render ``nyu_like`` (the shipped demo
models' world) unless given ``--world``; nothing here trains, records or starts a node.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tools.demo as demo
import tools.demo_live as demo_live
from tools.demo_scoring import TEST_WORLD, bundle_paths
import tools.gallery as gallery


class _StopError(Exception):
    """Raised by a stand-in once it has seen its arguments."""


def _models(tmp_path: Path) -> Path:
    """A models folder whose bundles exist (never read: the stand-ins stop before)."""
    folder = tmp_path / 'models'
    folder.mkdir()
    for path in bundle_paths(folder).values():
        path.write_bytes(b'')
    return folder


def test_the_shipped_models_world_is_nyu_like_and_the_default():
    from rgbd_seg_ros.sim import DEFAULT_WORLD

    assert TEST_WORLD == DEFAULT_WORLD == 'nyu_like'
    assert demo.parse_args([]).world == 'nyu_like'
    assert demo.parse_args(['--offline', '--world', 'depth_favoured']).world == 'depth_favoured'
    with pytest.raises(SystemExit):
        demo.parse_args(['--world', 'mars'])
    assert demo_live.Script().camera_params()['world'] == 'nyu_like'
    assert demo_live.Script(world='nyu_like_v1').camera_params()['world'] == 'nyu_like_v1'


@pytest.mark.parametrize('extra, world', [([], 'nyu_like'),
                                          (['--world', 'depth_favoured'], 'depth_favoured')])
def test_offline_demo_records_the_world(tmp_path, monkeypatch, extra, world):
    import rgbd_seg_ros.replay.make_bag as make_bag_module

    seen = {}

    def make_bag(path, **kwargs):
        seen.update(kwargs)
        raise _StopError

    monkeypatch.setattr(make_bag_module, 'make_bag', make_bag)
    with pytest.raises(_StopError):
        demo.main(['--offline', '--out', str(tmp_path / 'out'), '--models',
                   str(_models(tmp_path))] + extra)
    assert seen['world'] == world


@pytest.mark.parametrize('extra, world', [([], 'nyu_like'),
                                          (['--world', 'depth_favoured'], 'depth_favoured')])
def test_live_demo_camera_renders_the_world(tmp_path, monkeypatch, extra, world):
    seen = {}

    def run_live_demo(models, out, script):
        seen['camera'] = script.camera_params()
        raise RuntimeError('stopped by the test')

    monkeypatch.setattr(demo_live, 'run_live_demo', run_live_demo)
    assert demo.main(['--out', str(tmp_path / 'out'), '--models',
                      str(_models(tmp_path))] + extra) == 1
    assert seen['camera']['world'] == world


@pytest.mark.parametrize('extra, world, run', [
    ([], 'nyu_like', 'rgbd_quick'),
    (['--world', 'depth_favoured'], 'depth_favoured', 'rgbd_depth_favoured_quick')])
def test_train_demo_trains_on_the_world(tmp_path, monkeypatch, extra, world, run):
    import training.train

    seen = []

    def train_main(argv):
        seen.append(argv)
        return 1  # failed: the demo stops before recording

    monkeypatch.setattr(training.train, 'main', train_main)
    assert demo.main(['--train', '--quick', '--out', str(tmp_path)] + extra) == 1
    argv = seen[0]
    assert argv[argv.index('--set') + 1] == f'data.synthetic_world={world}'
    assert argv[argv.index('--out') + 1] == str(tmp_path / 'runs' / run)


def test_gallery_renders_nyu_like_by_default_and_honours_world(tmp_path, monkeypatch):
    from rgbd_seg_ros.sim import sample_frame

    samples, _ = gallery._samples('synthetic', 'test', 1, (24, 32), 0)
    np.testing.assert_array_equal(samples[0]['rgb'], sample_frame(0, 0, 32, 24).rgb)
    seen = []
    real = gallery._samples

    def spy(*args):
        seen.append(args[-1])
        return real(*args)

    monkeypatch.setattr(gallery, '_samples', spy)
    for extra, world in (([], 'nyu_like'), (['--world', 'depth_favoured'], 'depth_favoured')):
        out = tmp_path / f'{world}.png'
        assert gallery.main(['--out', str(out), '--num', '1', '--size', '24x32'] + extra) == 0
        assert seen[-1] == world and out.stat().st_size > 0
    samples, _ = real('synthetic', 'test', 1, (24, 32), 0, 'depth_favoured')
    np.testing.assert_array_equal(samples[0]['rgb'],
                                  sample_frame(0, 0, 32, 24, world='depth_favoured').rgb)
