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
