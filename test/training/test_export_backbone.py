# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""training.export_backbone: a trained stream's backbone initialises other models exactly."""

import pytest
import torch

from rgbd_seg_ros.core.checkpoint import save_checkpoint
from rgbd_seg_ros.core.models import ModelConfig, create_model
from rgbd_seg_ros.sim import SYNTHETIC_LABELS
from training.export_backbone import export_backbone, main

K = SYNTHETIC_LABELS.num_classes


def _checkpoint(tmp_path, name, **model):
    cfg = ModelConfig(backbone='test_convnext', num_classes=K, decoder='light', embed_dim=16,
                      ffm_head_dim=8, **model)
    torch.manual_seed(len(name))
    net = create_model(cfg)
    path = tmp_path / f'{name}.safetensors'
    save_checkpoint(path, net, {'labels': SYNTHETIC_LABELS, 'input_size': (32, 40)})
    return path, net


def _backbone(net, prefix):
    return {k[len(prefix):]: v for k, v in net.state_dict().items() if k.startswith(prefix)}


@pytest.mark.parametrize('stream,prefix', [('rgb', 'encoder.rgb_encoder.backbone.'),
                                           ('depth', 'encoder.depth_encoder.backbone.')])
def test_fusion_stream_initialises_single_and_fusion_models(tmp_path, stream, prefix):
    src, net = _checkpoint(tmp_path, 'fusion', arch='fusion')
    out = tmp_path / 'backbone.safetensors'
    expected = _backbone(net, prefix)
    assert export_backbone(src, out, stream) == len(expected)
    cfg = dict(backbone='test_convnext', num_classes=K, decoder='light', embed_dim=16,
               ffm_head_dim=8, pretrained=str(out))
    single = create_model(ModelConfig(modality='hha' if stream == 'depth' else 'rgb', **cfg))
    fused = create_model(ModelConfig(arch='fusion', **cfg))
    for got in (_backbone(single, 'encoder.backbone.'),
                _backbone(fused, 'encoder.rgb_encoder.backbone.'),
                _backbone(fused, 'encoder.depth_encoder.backbone.')):
        assert set(got) == set(expected)
        for k, v in expected.items():
            assert torch.equal(got[k], v), k


def test_single_model_has_only_its_own_stream(tmp_path):
    src, net = _checkpoint(tmp_path, 'rgb', modality='rgb')
    out = tmp_path / 'b.safetensors'
    export_backbone(src, out, 'rgb')
    depth_model = create_model(ModelConfig(backbone='test_convnext', num_classes=K,
                                           decoder='light', embed_dim=16, modality='depth',
                                           pretrained=str(out)))
    first = 'stem_0.weight'  # test_convnext's first convolution in features_only naming
    src_w = net.state_dict()[f'encoder.backbone.{first}']
    got = depth_model.state_dict()[f'encoder.backbone.{first}']
    assert got.shape[1] == 1  # 1-channel depth: the RGB filters summed over the input channels
    assert torch.allclose(got[:, 0], src_w.sum(dim=1), atol=1e-6)
    with pytest.raises(ValueError, match="no 'depth' stream"):
        export_backbone(src, tmp_path / 'x.safetensors', 'depth')
    assert main(['--checkpoint', str(src), '--out', str(tmp_path / 'y.safetensors'),
                 '--stream', 'depth']) == 2
    assert not (tmp_path / 'y.safetensors').exists()


def test_depth_stream_starts_from_its_own_backbone_when_given(tmp_path):
    src_rgb, net_rgb = _checkpoint(tmp_path, 'rgb_model', modality='rgb')  # another seed
    src_hha, net_hha = _checkpoint(tmp_path, 'hha', modality='hha')
    rgb_file, hha_file = tmp_path / 'rgb.safetensors', tmp_path / 'hha.safetensors'
    export_backbone(src_rgb, rgb_file, 'rgb')
    export_backbone(src_hha, hha_file, 'depth')
    want_rgb = _backbone(net_rgb, 'encoder.backbone.')
    want_hha = _backbone(net_hha, 'encoder.backbone.')
    assert any(not torch.equal(want_rgb[k], want_hha[k]) for k in want_rgb)  # two different nets
    cfg = dict(backbone='test_convnext', num_classes=K, decoder='light', embed_dim=16,
               ffm_head_dim=8, pretrained=str(rgb_file), pretrained_depth=str(hha_file))
    fused = create_model(ModelConfig(arch='fusion', **cfg))
    single_hha = create_model(ModelConfig(modality='hha', **cfg))
    single_rgb = create_model(ModelConfig(modality='rgb', **cfg))
    for model, prefix, want in ((fused, 'encoder.rgb_encoder.backbone.', want_rgb),
                                (fused, 'encoder.depth_encoder.backbone.', want_hha),
                                (single_hha, 'encoder.backbone.', want_hha),
                                (single_rgb, 'encoder.backbone.', want_rgb)):
        got = _backbone(model, prefix)
        assert set(got) == set(want)
        for k, v in want.items():
            assert torch.equal(got[k], v), (prefix, k)
