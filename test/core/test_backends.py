# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""Inference backends: ONNX Runtime parity with torch, the export cache, fallbacks to torch."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pytest
from tiny_models import save_tiny_checkpoint
import torch

from rgbd_seg_ros.core import backends
from rgbd_seg_ros.core.backends import apply_backend, checkpoint_digest
from rgbd_seg_ros.core.inference import Segmenter
from rgbd_seg_ros.sim import sample_frame

NET = (64, 80)  # network input of the tiny models (H, W)


def _checkpoint(path, seed=0, **kw):
    return save_tiny_checkpoint(path, input_size=NET, seed=seed, **kw)


@pytest.fixture(scope='module')
def checkpoints(tiny_checkpoint):
    return {'rgb': tiny_checkpoint('backends_rgb', input_size=NET, modality='rgb'),
            'fusion': tiny_checkpoint('backends_fusion', input_size=NET, arch='fusion',
                                      fusion='se_add')}


def _frames(n=4, width=120, height=96):
    """Fixed synthetic RGB-D frames (a larger camera than the network: the resize path too)."""
    return [sample_frame(7, i, width, height) for i in range(n)]


@pytest.mark.parametrize('kind', ['rgb', 'fusion'])
def test_onnxruntime_cpu_labels_match_torch(checkpoints, kind):
    pytest.importorskip('onnxruntime')
    path = checkpoints[kind]
    reference = Segmenter.from_checkpoint(path)
    seg = Segmenter.from_checkpoint(path)
    assert apply_backend(seg, 'onnxruntime', path) == 'onnxruntime'
    assert seg.backend == 'onnxruntime' and reference.backend == 'torch'
    same = total = 0
    for f in _frames():
        ref = reference.predict(f.rgb, f.depth_m, f.intrinsics)
        out, conf = seg.predict(f.rgb, f.depth_m, f.intrinsics, return_confidence=True)
        same += int(np.count_nonzero(out == ref))
        total += ref.size
        assert out.shape == ref.shape == f.rgb.shape[:2] and out.dtype == np.uint8
        assert conf.dtype == np.float32 and np.all((conf > 0) & (conf <= 1))
    assert same / total >= 0.995, f'{same / total:.4%} identical labels'


def test_export_is_cached_next_to_the_checkpoint_by_digest(checkpoints, tmp_path,
                                                           monkeypatch):
    pytest.importorskip('onnxruntime')
    path = _checkpoint(tmp_path / 'model.safetensors', modality='rgb')
    digest = checkpoint_digest(path)
    assert len(digest) == 16 and digest != checkpoint_digest(checkpoints['rgb'])
    seg = Segmenter.from_checkpoint(path)
    assert apply_backend(seg, 'onnxruntime', path) == 'onnxruntime'
    cached = tmp_path / f'model.{digest}.{NET[0]}x{NET[1]}.onnx'
    assert cached.is_file()
    # A second start reads the cache: exporting again would fail here.
    import rgbd_seg_ros.core.export as export

    def no_export(*args, **kwargs):
        raise AssertionError('exported again despite the cache')
    monkeypatch.setattr(export, 'export_onnx', no_export)
    again = Segmenter.from_checkpoint(path)
    assert apply_backend(again, 'onnxruntime', path) == 'onnxruntime'
    # New weights under the same file name: another digest, another file (so, an export).
    monkeypatch.undo()
    _checkpoint(path, seed=1, modality='rgb')
    assert checkpoint_digest(path) != digest
    third = Segmenter.from_checkpoint(path)
    assert apply_backend(third, 'onnxruntime', path) == 'onnxruntime'
    assert len(list(tmp_path.glob('model.*.onnx'))) == 2


def test_read_only_checkpoint_folder_caches_in_the_user_cache(tmp_path, monkeypatch):
    pytest.importorskip('onnxruntime')
    folder = tmp_path / 'ro'
    folder.mkdir()
    path = _checkpoint(folder / 'model.safetensors', modality='rgb')
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'cache'))
    real_access = backends.os.access
    monkeypatch.setattr(backends.os, 'access',
                        lambda p, mode: False if str(p) == str(folder) else real_access(p, mode))
    seg = Segmenter.from_checkpoint(path)
    assert apply_backend(seg, 'onnxruntime', path) == 'onnxruntime'
    assert not list(folder.glob('*.onnx'))
    assert len(list((tmp_path / 'cache' / 'rgbd_seg_ros').glob('model.*.onnx'))) == 1


def test_tensorrt_on_cpu_falls_back_to_torch_with_a_warning(checkpoints, caplog):
    path = checkpoints['rgb']
    seg = Segmenter.from_checkpoint(path)
    reference = Segmenter.from_checkpoint(path)
    with caplog.at_level(logging.WARNING, logger='rgbd_seg_ros.core.backends'):
        assert apply_backend(seg, 'tensorrt', path) == 'torch'
    assert seg.backend == 'torch'
    assert 'backend tensorrt unavailable' in caplog.text
    assert 'needs a CUDA device' in caplog.text
    f = _frames(1)[0]
    np.testing.assert_array_equal(seg.predict(f.rgb), reference.predict(f.rgb))


def test_missing_onnxruntime_falls_back_to_torch_with_a_warning(checkpoints, caplog,
                                                                monkeypatch):
    monkeypatch.setitem(sys.modules, 'onnxruntime', None)  # import raises ImportError
    seg = Segmenter.from_checkpoint(checkpoints['rgb'])
    with caplog.at_level(logging.WARNING, logger='rgbd_seg_ros.core.backends'):
        assert apply_backend(seg, 'onnxruntime', checkpoints['rgb']) == 'torch'
    assert 'onnxruntime is not installed' in caplog.text and seg.backend == 'torch'


def test_unknown_backend_is_a_configuration_error(checkpoints):
    seg = Segmenter.from_checkpoint(checkpoints['rgb'])
    with pytest.raises(ValueError, match='expected one of'):
        apply_backend(seg, 'openvino', checkpoints['rgb'])


def test_model_set_reports_backend_per_mode(checkpoints):
    pytest.importorskip('onnxruntime')
    from rgbd_seg_ros.core.model_set import ModelSet

    models = ModelSet.from_paths(str(checkpoints['fusion']), str(checkpoints['rgb']),
                                 backend='onnxruntime')
    assert models.backends == {'rgbd': 'onnxruntime', 'rgb': 'onnxruntime'}


@pytest.mark.cuda
@pytest.mark.parametrize('backend', ['onnxruntime', 'tensorrt'])
def test_gpu_backends_match_torch(checkpoints, backend):
    if not torch.cuda.is_available():
        pytest.skip('no CUDA device')
    path = checkpoints['fusion']
    reference = Segmenter.from_checkpoint(path, device='cuda')
    seg = Segmenter.from_checkpoint(path, device='cuda')
    if apply_backend(seg, backend, path) != backend:
        pytest.skip(f'{backend} is not installed on this GPU machine (fell back to torch)')
    same = total = 0
    for f in _frames():
        ref = reference.predict(f.rgb, f.depth_m, f.intrinsics)
        out = seg.predict(f.rgb, f.depth_m, f.intrinsics)
        same += int(np.count_nonzero(out == ref))
        total += ref.size
    assert same / total >= 0.995, f'{same / total:.4%} identical labels'
