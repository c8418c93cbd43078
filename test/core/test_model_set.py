# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""Start-up validation of the node's models: files, modalities per mode, one shared class set."""

import pytest

from rgbd_seg_ros.core.model_set import ModelSet, ModelSetError


def test_full_set_loads_with_its_modes(tiny_checkpoints):
    models = ModelSet.from_paths(str(tiny_checkpoints['fusion']), str(tiny_checkpoints['rgb']),
                                 str(tiny_checkpoints['depth']))
    assert models.modes == ('rgbd', 'rgb', 'depth')
    assert models.for_mode('rgbd').modalities == ('rgb', 'hha')
    assert models.for_mode('depth').modalities == ('hha',)
    from rgbd_seg_ros.sim import SYNTHETIC_LABELS
    assert models.labels.names == SYNTHETIC_LABELS.names


def test_rgb_only_set_runs_rgb_for_every_mode(tiny_checkpoints):
    models = ModelSet.from_paths('', str(tiny_checkpoints['rgb']))
    assert models.modes == ('rgb',)
    assert models.for_mode('rgbd') is models.for_mode('rgb')


@pytest.mark.parametrize('fusion, rgb, depth, match', [
    ('rgb', 'rgb', '', "fusion_model reads \\('rgb',\\)"),
    ('fusion', 'fusion', '', "rgb_model reads \\('rgb', 'hha'\\)"),
    ('fusion', 'rgb', 'rgb', "depth_model reads \\('rgb',\\)"),
    ('fusion', 'rgb_other_classes', '', 'class sets differ: fusion_model has'),
    ('missing', 'rgb', '', "fusion_model: no such checkpoint file '.*nope.safetensors'"),
    ('fusion', '', '', 'rgb_model is required'),
    # the message names what the parameter needs and where the checkpoint belongs
    ('fusion', 'fusion', '', 'needs an RGB-only model .* pass it as fusion_model instead'),
    ('rgb', 'rgb', '', 'needs an RGB-D fusion model .* pass it as rgb_model instead'),
])
def test_bad_model_sets_name_the_parameter(tiny_checkpoints, tmp_path, fusion, rgb, depth,
                                           match):
    paths = dict(tiny_checkpoints, missing=tmp_path / 'nope.safetensors')

    def path(key):
        return str(paths[key]) if key else ''
    with pytest.raises(ModelSetError, match=match):
        ModelSet.from_paths(path(fusion), path(rgb), path(depth))


@pytest.mark.skipif(__import__('torch').cuda.is_available(), reason='needs a machine without CUDA')
def test_cuda_without_a_gpu_blames_the_device_not_a_checkpoint(tiny_checkpoints):
    with pytest.raises(ModelSetError, match="parameter device: device 'cuda:0' requested but "
                                            'CUDA is not available .*device:=cpu') as err:
        ModelSet.from_paths(str(tiny_checkpoints['fusion']), str(tiny_checkpoints['rgb']),
                            device='cuda')
    assert 'fusion_model' not in str(err.value)


# ---------------------------------------------------------------- same-model fallback (issue 40)

@pytest.fixture(scope='module')
def dropout_fusion(tiny_checkpoint):
    """A fusion checkpoint whose provenance says it was trained with whole-depth dropout."""
    from ros_test_helpers import CAMERA_HEIGHT, CAMERA_WIDTH

    return tiny_checkpoint('node_fusion_dropout', input_size=(CAMERA_HEIGHT, CAMERA_WIDTH),
                           arch='fusion', fusion='se_add', depth_modality='hha',
                           provenance={'config': {'data': {'depth_dropout_p': 0.3}}})


def test_same_model_fallback_runs_the_fusion_model_with_depth_missing(dropout_fusion):
    import numpy as np

    from rgbd_seg_ros.core.camera import CameraIntrinsics
    from rgbd_seg_ros.core.inference import Segmenter

    models = ModelSet.from_paths(str(dropout_fusion), '', rgb_fallback='fusion_model')
    assert models.modes == ('rgbd', 'rgb') and models.same_model_fallback
    assert models.segmenters['rgb'].fusion is models.segmenters['rgbd']  # one model in memory
    fusion = Segmenter.from_checkpoint(dropout_fusion)
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    depth = rng.uniform(0.5, 4.0, (60, 80)).astype(np.float32)
    intr = CameraIntrinsics(70.0, 70.0, 39.5, 29.5, 80, 60)
    expected = fusion.predict(rgb, np.zeros((60, 80), np.float32), intr)
    np.testing.assert_array_equal(models.predict('rgb', rgb, depth, intr), expected)
    np.testing.assert_array_equal(models.predict('rgb', rgb, None, None), expected)


def test_same_model_fallback_needs_a_model_trained_for_it(tiny_checkpoints, dropout_fusion):
    with pytest.raises(ModelSetError, match='was not trained for missing depth.*depth_dropout_p'):
        ModelSet.from_paths(str(tiny_checkpoints['fusion']), '', rgb_fallback='fusion_model')
    with pytest.raises(ModelSetError, match='leave rgb_model empty'):
        ModelSet.from_paths(str(dropout_fusion), str(tiny_checkpoints['rgb']),
                            rgb_fallback='fusion_model')
    with pytest.raises(ModelSetError, match='rgb_model is required'):
        ModelSet.from_paths(str(dropout_fusion), '')


def test_missing_depth_is_what_training_feeds_under_depth_dropout(dropout_fusion):
    """
    The node's missing-depth input equals the training pipeline's: the network inputs of the
    same-model fallback are those of a training sample after whole-depth dropout.
    """
    import numpy as np
    import torch

    from rgbd_seg_ros.core.hha import MISSING_HHA
    from rgbd_seg_ros.core.preprocess import build_inputs
    from training.data.config import DataConfig
    from training.data.transforms import TrainTransform

    models = ModelSet.from_paths(str(dropout_fusion), '', rgb_fallback='fusion_model')
    fusion = models.segmenters['rgbd']
    seen = []
    model = fusion.model
    fusion.use_network(lambda inputs: seen.append(inputs) or model(inputs), 'recording')
    h, w = fusion.meta.input_size
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    models.predict('rgb', rgb, None, None)
    node_inputs = seen[-1]
    # A training sample through depth dropout (p = 1), then the training encoding.
    cfg = DataConfig(depth_dropout_p=1.0, depth_holes_p=0.0, depth_noise_p=0.0)
    sample = {'rgb': rgb, 'depth_m': rng.uniform(1, 3, (h, w)).astype(np.float32),
              'valid': np.ones((h, w), bool), 'label': np.zeros((h, w), np.uint8)}
    dropped = TrainTransform(cfg)._modality_dropout
    dropped(sample, rng)
    assert not sample['depth_present']
    k = torch.tensor([[[70.0, 0, (w - 1) / 2], [0, 70.0, (h - 1) / 2], [0, 0, 1]]])
    train_inputs = build_inputs(torch.from_numpy(rgb).permute(2, 0, 1)[None],
                                torch.from_numpy(sample['depth_m'])[None, None], k,
                                ('rgb', 'hha'), valid=torch.from_numpy(sample['valid'])[None],
                                normalization=fusion.meta.normalization)
    for name in ('rgb', 'hha'):
        torch.testing.assert_close(node_inputs[name], train_inputs[name])
    grey = (node_inputs['hha'][0] * torch.tensor(fusion.meta.normalization.std)[:, None, None]
            + torch.tensor(fusion.meta.normalization.mean)[:, None, None]) * 255
    for c, value in enumerate(MISSING_HHA):
        assert torch.allclose(grey[c], torch.full_like(grey[c], float(value)), atol=1e-3)
