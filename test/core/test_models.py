# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""Models: shapes against timm's feature_info, any input size, gradients, FRM/FFM/SE maths."""

from __future__ import annotations

import math

import pytest
from safetensors.torch import save_file
import timm
import torch
import torch.nn.functional as F

from rgbd_seg_ros.core.models import (
    KNOWN_ARCHS,
    KNOWN_DECODERS,
    KNOWN_FUSIONS,
    Encoder,
    ModelConfig,
    create_model,
)
from rgbd_seg_ros.core.models.decoder import _DECODERS
from rgbd_seg_ros.core.models.fusion import (
    _FUSIONS,
    CrossAttention,
    CrossPath,
    FeatureRectify,
    SEAddFusion,
    ffm_num_heads,
)
from rgbd_seg_ros.core.models.segmentor import _ARCHS

CHANNELS = {'rgb': 3, 'hha': 3, 'depth': 1}


def _inputs(cfg: ModelConfig, h: int, w: int, batch: int = 2) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return {m: torch.randn(batch, CHANNELS[m], h, w, generator=gen) for m in cfg.modalities}


class _ModelTester:
    """Shared checks; subclasses set ``cfg`` (tiny: resnet18, small embed dims, 64x80)."""

    cfg: ModelConfig
    size = (64, 80)

    @pytest.fixture(scope='class')
    @classmethod
    def model(cls):
        torch.manual_seed(0)
        return create_model(cls.cfg).eval()

    def test_logits_at_input_size(self, model):
        h, w = self.size
        logits = model(_inputs(self.cfg, h, w))
        assert logits.shape == (2, self.cfg.num_classes, h, w)
        assert torch.isfinite(logits).all()

    def test_odd_resolution(self, model):
        logits = model(_inputs(self.cfg, 61, 83, batch=1))
        assert logits.shape == (1, self.cfg.num_classes, 61, 83)

    def test_features_follow_timm_feature_info(self, model):
        info = timm.create_model(self.cfg.backbone, features_only=True).feature_info
        channels = info.channels()[-self.cfg.num_stages:]
        reductions = info.reduction()[-self.cfg.num_stages:]
        assert model.feature_channels == tuple(channels)
        assert model.feature_reductions == tuple(reductions)
        h, w = 61, 83
        ph, pw = math.ceil(h / 32) * 32, math.ceil(w / 32) * 32  # padded to the stride
        feats = model.forward_features(_inputs(self.cfg, h, w, batch=1))
        assert [tuple(f.shape) for f in feats] == [
            (1, c, ph // r, pw // r) for c, r in zip(channels, reductions)
        ]
        logits = model.decode(feats, (h, w))
        assert logits.shape[-2:] == (h, w)

    def test_forward_backward(self, model):
        model.train()
        try:
            x = _inputs(self.cfg, *self.size)
            target = torch.randint(0, self.cfg.num_classes, (2, *self.size))
            F.cross_entropy(model(x), target).backward()
            for name, p in model.named_parameters():
                if p.requires_grad:
                    assert p.grad is not None, f'no gradient for {name}'
            assert any(p.grad.abs().sum() > 0 for p in model.encoder.parameters())
        finally:
            model.zero_grad(set_to_none=True)
            model.eval()

    def test_missing_input_is_named(self, model):
        with pytest.raises(ValueError, match=self.cfg.modalities[-1]):
            model({'nothing': torch.zeros(1, 3, 32, 32)})


class TestSingleRGB(_ModelTester):
    cfg = ModelConfig(backbone='resnet18', modality='rgb', num_classes=5, embed_dim=32)


class TestSingleDepthLight(_ModelTester):
    cfg = ModelConfig(backbone='resnet18', modality='depth', num_classes=4, embed_dim=16,
                      decoder='light')


class TestSingleHHA(_ModelTester):
    cfg = ModelConfig(backbone='resnet18', modality='hha', num_classes=3, embed_dim=16)


class TestFusionCMX(_ModelTester):
    cfg = ModelConfig(arch='fusion', backbone='resnet18', num_classes=5, embed_dim=32)


class TestFusionSEAddLight(_ModelTester):
    cfg = ModelConfig(arch='fusion', backbone='resnet18', fusion='se_add', decoder='light',
                      num_classes=5, embed_dim=16)


class TestFusionRawDepth(_ModelTester):
    cfg = ModelConfig(arch='fusion', backbone='resnet18', depth_modality='depth', num_classes=2,
                      embed_dim=16)


def _check_staged_encoder(name: str) -> None:
    """Running stage by stage must equal timm's own forward (what fusion relies on)."""
    torch.manual_seed(0)
    enc = Encoder(name).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        whole = enc(x)
        y, staged = x, []
        for i in range(enc.num_stages):
            y = enc.forward_stage(i, y)
            staged.append(y)
    for a, b in zip(whole, staged):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize(
    'backbone', ['convnext_atto', 'mobilenetv3_large_100', 'efficientnet_b0', 'pvt_v2_b0']
)
def test_other_backbones_one_fusion_forward(backbone):
    _check_staged_encoder(backbone)
    cfg = ModelConfig(arch='fusion', backbone=backbone, num_classes=3, embed_dim=16)
    model = create_model(cfg).eval()
    with torch.no_grad():
        logits = model(_inputs(cfg, 40, 56, batch=1))
    assert logits.shape == (1, 3, 40, 56)


@pytest.mark.slow
@pytest.mark.parametrize('backbone', ['resnet34', 'resnet50', 'pvt_v2_b2', 'mambaout_femto'])
def test_large_backbones(backbone):
    _check_staged_encoder(backbone)
    for arch in KNOWN_ARCHS:
        cfg = ModelConfig(arch=arch, backbone=backbone, num_classes=3, embed_dim=64)
        model = create_model(cfg).eval()
        with torch.no_grad():
            assert model(_inputs(cfg, 61, 83, batch=1)).shape == (1, 3, 61, 83)


def test_builder_dicts_match_known_names():
    assert set(_ARCHS) == set(KNOWN_ARCHS)
    assert set(_DECODERS) == set(KNOWN_DECODERS)
    assert set(_FUSIONS) == set(KNOWN_FUSIONS)


@pytest.mark.parametrize('field,value', [('arch', 'triple'), ('decoder', 'unet'),
                                         ('fusion', 'concat'), ('modality', 'thermal')])
def test_unknown_names_list_valid_ones(field, value):
    with pytest.raises(ValueError, match=r'expected one of \('):
        ModelConfig(**{field: value})


def test_unknown_backbone_suggests_close_names():
    with pytest.raises(ValueError, match='resnet18'):
        create_model(ModelConfig(backbone='resnet1_8'))


def test_config_from_dict_is_strict():
    cfg = ModelConfig(arch='fusion', backbone='pvt_v2_b0', embed_dim=64)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match='embed_dims'):
        ModelConfig.from_dict({'embed_dims': 3})
    with pytest.raises(ValueError, match='depth_modality'):
        ModelConfig(arch='fusion', modality='hha')


# ----------------------------------------------------------------------------- pretrained


def test_pretrained_from_local_safetensors(tmp_path):
    torch.manual_seed(1)
    source = timm.create_model('resnet18', pretrained=False)  # a classification model
    path = tmp_path / 'resnet18.safetensors'
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(path))
    enc = Encoder('resnet18', in_chans=3, pretrained=str(path))
    torch.testing.assert_close(enc.backbone.layer3[1].conv2.weight, source.layer3[1].conv2.weight)
    depth_enc = Encoder('resnet18', in_chans=1, pretrained=str(path))
    # One input channel: the RGB filters summed over their input channels.
    torch.testing.assert_close(depth_enc.backbone.conv1.weight,
                               source.conv1.weight.sum(dim=1, keepdim=True))


def test_pretrained_renamed_sequential_stages(tmp_path):
    source = timm.create_model('convnext_atto', pretrained=False)
    path = tmp_path / 'convnext.safetensors'
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(path))
    enc = Encoder('convnext_atto', pretrained=str(path))
    torch.testing.assert_close(enc.backbone.stages_2.blocks[0].conv_dw.weight,
                               source.stages[2].blocks[0].conv_dw.weight)


def test_pretrained_refuses_pickles_and_incomplete_files(tmp_path):
    source = timm.create_model('resnet18', pretrained=False)
    pickled = tmp_path / 'resnet18.pth'
    torch.save(source.state_dict(), pickled)
    with pytest.raises(ValueError, match='pickle'):
        Encoder('resnet18', pretrained=str(pickled))
    partial = tmp_path / 'partial.safetensors'
    state = {k: v.contiguous() for k, v in source.state_dict().items() if 'layer4' not in k}
    save_file(state, str(partial))
    with pytest.raises(ValueError, match='missing'):
        Encoder('resnet18', pretrained=str(partial))
    with pytest.raises(ValueError, match='not found'):
        Encoder('resnet18', pretrained=str(tmp_path / 'absent.safetensors'))



def test_pretrained_reads_a_safetensors_file_whose_header_length_starts_like_a_pickle(tmp_path):
    """A header length with low byte 0x80 (a pickle's first byte) is still safetensors."""
    source = timm.create_model('resnet18', pretrained=False)
    state = {k: v.contiguous() for k, v in source.state_dict().items()}
    path = tmp_path / 'r18.safetensors'
    for pad in range(300):  # metadata of growing length until the 8-byte length ends in 0x80
        save_file(state, str(path), metadata={'pad': 'x' * pad})
        if path.read_bytes()[0] == 0x80:
            break
    assert path.read_bytes()[0] == 0x80 and path.read_bytes()[8:9] == b'{'
    enc = Encoder('resnet18', pretrained=str(path))
    torch.testing.assert_close(enc.backbone.conv1.weight, source.conv1.weight)

# ----------------------------------------------------------------------------- fusion maths


def _set_final(frm: FeatureRectify, channel_bias: torch.Tensor, spatial_bias: torch.Tensor):
    """Zero the last layers' weights so the sigmoid outputs are sigmoid(bias)."""
    last_linear = frm.channel_weights.mlp[2]
    last_conv = frm.spatial_weights.mlp[2]
    with torch.no_grad():
        last_linear.weight.zero_()
        last_linear.bias.copy_(channel_bias)
        last_conv.weight.zero_()
        last_conv.bias.copy_(spatial_bias)


def test_frm_all_half_weights():
    c = 4
    frm = FeatureRectify(c)
    _set_final(frm, torch.zeros(2 * c), torch.zeros(2))  # every weight = sigmoid(0) = 0.5
    rgb, depth = torch.randn(2, c, 5, 6), torch.randn(2, c, 5, 6)
    rgb_out, depth_out = frm(rgb, depth)
    # rgb + 0.5 * 0.5 * d + 0.5 * 0.5 * d
    torch.testing.assert_close(rgb_out, rgb + 0.5 * depth)
    torch.testing.assert_close(depth_out, depth + 0.5 * rgb)


def test_frm_weight_order():
    """wc0/ws0 (first halves) weight rgb into depth'; wc1/ws1 weight depth into rgb'."""
    c, big = 3, 40.0
    rgb, depth = torch.randn(1, c, 4, 4), torch.randn(1, c, 4, 4)
    frm = FeatureRectify(c)
    # wc0 = 1, wc1 = 0; ws0 = ws1 = 1.
    _set_final(frm, torch.cat([torch.full((c,), big), torch.full((c,), -big)]),
               torch.tensor([big, big]))
    rgb_out, depth_out = frm(rgb, depth)
    torch.testing.assert_close(rgb_out, rgb + 0.5 * depth)
    torch.testing.assert_close(depth_out, depth + rgb)
    # wc0 = wc1 = 0; ws0 = 1, ws1 = 0.
    _set_final(frm, torch.full((2 * c,), -big), torch.tensor([big, -big]))
    rgb_out, depth_out = frm(rgb, depth)
    torch.testing.assert_close(rgb_out, rgb)
    torch.testing.assert_close(depth_out, depth + 0.5 * rgb)


def test_cross_attention_matches_per_head_reference():
    torch.manual_seed(3)
    b, n, c, heads = 2, 7, 8, 2
    d = c // heads
    attn = CrossAttention(c, heads)
    u_rgb, u_depth = torch.randn(b, n, c), torch.randn(b, n, c)
    v_rgb, v_depth = attn(u_rgb, u_depth)

    def context(u, kv):
        k, v = u @ kv.weight[:c].T, u @ kv.weight[c:].T
        out = []
        for h in range(heads):
            kh, vh = k[..., h * d:(h + 1) * d], v[..., h * d:(h + 1) * d]
            scores = kh.transpose(1, 2) @ vh / math.sqrt(d)  # [B, d_key, d_value]
            out.append(torch.softmax(scores, dim=1))  # normalised over the key index
        return out

    g_rgb, g_depth = context(u_rgb, attn.kv_rgb), context(u_depth, attn.kv_depth)
    for h in range(heads):
        sl = slice(h * d, (h + 1) * d)
        torch.testing.assert_close(v_rgb[..., sl], u_rgb[..., sl] @ g_depth[h])
        torch.testing.assert_close(v_depth[..., sl], u_depth[..., sl] @ g_rgb[h])


def test_cross_path_is_layer_norm_when_projection_is_zero():
    c = 8
    path = CrossPath(c, 2)
    with torch.no_grad():
        for proj in (path.end_proj_rgb, path.end_proj_depth):
            proj.weight.zero_()
            proj.bias.zero_()
    rgb, depth = torch.randn(2, 5, c), torch.randn(2, 5, c)
    rgb_out, depth_out = path(rgb, depth)
    torch.testing.assert_close(rgb_out, F.layer_norm(rgb, (c,)))
    torch.testing.assert_close(depth_out, F.layer_norm(depth, (c,)))


def test_ffm_heads_follow_cmx():
    # head_dim 64 reproduces CMX's heads (1, 2, 5, 8) for MiT-B2 channels (64, 128, 320, 512).
    assert [ffm_num_heads(c, 64) for c in (64, 128, 320, 512)] == [1, 2, 5, 8]
    assert ffm_num_heads(40, 64) == 1
    assert ffm_num_heads(96, 64) == 1
    assert ffm_num_heads(960, 64) == 15


def test_se_add_half_gates():
    c = 32
    fusion = SEAddFusion(c)
    with torch.no_grad():
        for se in (fusion.se_rgb, fusion.se_depth):
            se.fc[2].weight.zero_()
            se.fc[2].bias.zero_()
    rgb, depth = torch.randn(2, c, 3, 3), torch.randn(2, c, 3, 3)
    rgb_next, depth_next, fused = fusion(rgb, depth)
    torch.testing.assert_close(fused, 0.5 * rgb + 0.5 * depth)
    torch.testing.assert_close(rgb_next, fused)
    assert depth_next is depth
