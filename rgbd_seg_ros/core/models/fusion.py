# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
RGB-D fusion: per-stage fusion modules and the dual-stream encoder.

``cmx``: CMX (Zhang et al., "CMX: Cross-Modal Fusion for RGB-X Semantic Segmentation with
Transformers"), as used by PrimKD's student: after each stage a feature-rectify module (FRM)
exchanges channel- and spatially-weighted features between the streams, and a feature-fusion
module (FFM) fuses the rectified streams with efficient cross attention and a channel embedding.
The rectified streams feed the next stage; the fused maps go to the decoder.

``se_add``: ESANet's squeeze-and-excitation add (Seichter et al., ICRA 2021): fused =
SE_rgb(rgb) + SE_depth(depth); the fused map continues the RGB stream and goes to the decoder,
the depth stream continues unchanged. Cheap enough for CPU robots.

Every fusion module maps ``(rgb [B, C, H, W], depth [B, C, H, W])`` to
``(rgb_next, depth_next, fused)``, all ``[B, C, H, W]``.
"""

from __future__ import annotations

import math

import torch
from torch import nn
import torch.nn.functional as F

from .encoder import Encoder


def _init_cmx_weights(module: nn.Module) -> None:
    """CMX's initialisation: truncated-normal linears, He-style (fan-out) convolutions."""
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Conv2d):
        fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels
        fan_out //= module.groups
        nn.init.normal_(module.weight, 0.0, math.sqrt(2.0 / fan_out))
        if module.bias is not None:
            nn.init.zeros_(module.bias)


class ChannelWeights(nn.Module):
    """FRM channel weights: concat -> [avg ; max] pool (4C) -> MLP 4C->4C->2C -> sigmoid."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.mlp = nn.Sequential(
            nn.Linear(4 * channels, 4 * channels),
            nn.ReLU(inplace=True),
            nn.Linear(4 * channels, 2 * channels),
            nn.Sigmoid(),
        )

    def forward(self, rgb: torch.Tensor, depth: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:returns: (wc0, wc1), each ``[B, C, 1, 1]``; wc0 weights rgb, wc1 weights depth."""
        x = torch.cat((rgb, depth), dim=1)
        pooled = torch.cat((x.mean(dim=(2, 3)), x.amax(dim=(2, 3))), dim=1)  # [B, 4C]
        w = self.mlp(pooled)[:, :, None, None]  # [B, 2C, 1, 1]
        return w[:, : self.channels], w[:, self.channels:]


class SpatialWeights(nn.Module):
    """FRM spatial weights: concat -> 1x1 conv 2C->C -> ReLU -> 1x1 conv C->2 -> sigmoid."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Conv2d(2 * channels, channels, kernel_size=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, 2, kernel_size=1),
            nn.Sigmoid(),
        )

    def forward(self, rgb: torch.Tensor, depth: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:returns: (ws0, ws1), each ``[B, 1, H, W]``; ws0 weights rgb, ws1 weights depth."""
        w = self.mlp(torch.cat((rgb, depth), dim=1))
        return w[:, 0:1], w[:, 1:2]


class FeatureRectify(nn.Module):
    """
    CMX feature-rectify module (FRM), lambda_c = lambda_s = 0.5.

    rgb' = rgb + lc * wc1 * depth + ls * ws1 * depth;
    depth' = depth + lc * wc0 * rgb + ls * ws0 * rgb.
    """

    def __init__(self, channels: int, lambda_c: float = 0.5, lambda_s: float = 0.5) -> None:
        super().__init__()
        self.lambda_c = lambda_c
        self.lambda_s = lambda_s
        self.channel_weights = ChannelWeights(channels)
        self.spatial_weights = SpatialWeights(channels)

    def forward(self, rgb: torch.Tensor, depth: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``[B, C, H, W]`` twice -> rectified (rgb', depth')."""
        wc0, wc1 = self.channel_weights(rgb, depth)
        ws0, ws1 = self.spatial_weights(rgb, depth)
        rgb_out = rgb + self.lambda_c * wc1 * depth + self.lambda_s * ws1 * depth
        depth_out = depth + self.lambda_c * wc0 * rgb + self.lambda_s * ws0 * rgb
        return rgb_out, depth_out


def ffm_num_heads(channels: int, head_dim: int) -> int:
    """
    Attention heads of an FFM stage: ``channels // head_dim``, at least 1.

    When that does not divide ``channels`` the next smaller divisor is used (deterministic, so a
    checkpoint rebuilds the same model). head_dim 64 gives CMX's heads for MiT-B1..B5.
    """
    heads = max(1, channels // head_dim)
    while channels % heads:
        heads -= 1
    return heads


class CrossAttention(nn.Module):
    """
    CMX efficient cross attention between the attention halves u of the two streams.

    Per stream k, v = Linear(u); context G = softmax over keys of (k^T v * d_head^-0.5), one
    ``[d, d]`` matrix per head; then the streams exchange contexts: v_rgb' = u_rgb G_depth,
    v_depth' = u_depth G_rgb. Cost is linear in the number of tokens.
    """

    def __init__(self, channels: int, num_heads: int) -> None:
        super().__init__()
        if channels % num_heads:
            raise ValueError(f'FFM: {channels} channels are not divisible by {num_heads} heads')
        self.num_heads = num_heads
        self.scale = (channels // num_heads) ** -0.5
        self.kv_rgb = nn.Linear(channels, 2 * channels, bias=False)
        self.kv_depth = nn.Linear(channels, 2 * channels, bias=False)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        return x.reshape(b, n, self.num_heads, c // self.num_heads).transpose(1, 2)

    def _context(self, u: torch.Tensor, kv: nn.Linear) -> torch.Tensor:
        k, v = kv(u).chunk(2, dim=-1)
        k, v = self._heads(k), self._heads(v)  # [B, h, N, d]
        return ((k.transpose(-2, -1) @ v) * self.scale).softmax(dim=-2)  # [B, h, d, d]

    def forward(
        self, u_rgb: torch.Tensor, u_depth: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Tokens ``[B, N, C]`` twice -> exchanged values ``[B, N, C]`` twice."""
        b, n, c = u_rgb.shape
        g_rgb = self._context(u_rgb, self.kv_rgb)
        g_depth = self._context(u_depth, self.kv_depth)
        v_rgb = (self._heads(u_rgb) @ g_depth).transpose(1, 2).reshape(b, n, c)
        v_depth = (self._heads(u_depth) @ g_rgb).transpose(1, 2).reshape(b, n, c)
        return v_rgb, v_depth


class CrossPath(nn.Module):
    """
    FFM stage 1: per stream Linear C->2C + ReLU split into residual half y and attention half u;
    cross attention on u; concat(y, v') -> Linear 2C->C, residual, LayerNorm.
    """

    def __init__(self, channels: int, num_heads: int) -> None:
        super().__init__()
        self.proj_rgb = nn.Linear(channels, 2 * channels)
        self.proj_depth = nn.Linear(channels, 2 * channels)
        self.cross_attn = CrossAttention(channels, num_heads)
        self.end_proj_rgb = nn.Linear(2 * channels, channels)
        self.end_proj_depth = nn.Linear(2 * channels, channels)
        self.norm_rgb = nn.LayerNorm(channels)
        self.norm_depth = nn.LayerNorm(channels)

    def forward(self, rgb: torch.Tensor, depth: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Tokens ``[B, N, C]`` twice -> ``[B, N, C]`` twice."""
        y_rgb, u_rgb = F.relu(self.proj_rgb(rgb)).chunk(2, dim=-1)
        y_depth, u_depth = F.relu(self.proj_depth(depth)).chunk(2, dim=-1)
        v_rgb, v_depth = self.cross_attn(u_rgb, u_depth)
        rgb = self.norm_rgb(rgb + self.end_proj_rgb(torch.cat((y_rgb, v_rgb), dim=-1)))
        depth = self.norm_depth(depth + self.end_proj_depth(torch.cat((y_depth, v_depth), dim=-1)))
        return rgb, depth


class ChannelEmbed(nn.Module):
    """
    FFM stage 2: 2C -> C by a 1x1-conv residual plus [1x1, 3x3 depthwise, ReLU, 1x1, BN].

    As in the CMX code, the sum is batch-normalised once more.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.residual = nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False)
        self.channel_embed = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size=1),
            nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1, groups=out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, kernel_size=1),
            nn.BatchNorm2d(out_channels),
        )
        self.norm = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, 2C, H, W]`` -> ``[B, C, H, W]``."""
        return self.norm(self.residual(x) + self.channel_embed(x))


class FeatureFusion(nn.Module):
    """CMX feature-fusion module (FFM): cross path on tokens, then channel embedding."""

    def __init__(self, channels: int, num_heads: int) -> None:
        super().__init__()
        self.cross = CrossPath(channels, num_heads)
        self.channel_embed = ChannelEmbed(2 * channels, channels)

    def forward(self, rgb: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        """``[B, C, H, W]`` twice -> fused ``[B, C, H, W]``."""
        b, c, h, w = rgb.shape
        rgb_t = rgb.flatten(2).transpose(1, 2)  # [B, N, C]
        depth_t = depth.flatten(2).transpose(1, 2)
        rgb_t, depth_t = self.cross(rgb_t, depth_t)
        merged = torch.cat((rgb_t, depth_t), dim=-1).transpose(1, 2).reshape(b, 2 * c, h, w)
        return self.channel_embed(merged)


class CMXFusion(nn.Module):
    """One CMX stage: FRM, then FFM on the rectified streams."""

    def __init__(self, channels: int, head_dim: int = 64) -> None:
        super().__init__()
        self.rectify = FeatureRectify(channels)
        self.fuse = FeatureFusion(channels, ffm_num_heads(channels, head_dim))
        self.apply(_init_cmx_weights)

    def forward(
        self, rgb: torch.Tensor, depth: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:returns: (rgb', depth') for the next stage, fused map for the decoder."""
        rgb, depth = self.rectify(rgb, depth)
        return rgb, depth, self.fuse(rgb, depth)


class SqueezeExcite(nn.Module):
    """Channel attention: x * sigmoid(conv(relu(conv(avgpool(x)))))."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc = nn.Sequential(
            nn.Conv2d(channels, hidden, kernel_size=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, kernel_size=1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, H, W]`` -> ``[B, C, H, W]``."""
        return x * self.fc(x.mean(dim=(2, 3), keepdim=True))


class SEAddFusion(nn.Module):
    """ESANet fusion: fused = SE_rgb(rgb) + SE_depth(depth); fused continues the RGB stream."""

    def __init__(self, channels: int, head_dim: int = 64) -> None:
        super().__init__()
        del head_dim  # uniform constructor signature with CMXFusion
        self.se_rgb = SqueezeExcite(channels)
        self.se_depth = SqueezeExcite(channels)

    def forward(
        self, rgb: torch.Tensor, depth: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:returns: (fused, depth, fused)."""
        fused = self.se_rgb(rgb) + self.se_depth(depth)
        return fused, depth, fused


_FUSIONS = {'cmx': CMXFusion, 'se_add': SEAddFusion}


def create_fusion(name: str, channels: int, head_dim: int = 64) -> nn.Module:
    """Build one stage's fusion module by name (``cmx`` or ``se_add``)."""
    if name not in _FUSIONS:
        raise ValueError(f'unknown fusion {name!r}; expected one of {tuple(_FUSIONS)}')
    return _FUSIONS[name](channels, head_dim)


class FusionEncoder(nn.Module):
    """
    Two encoders of one backbone family run stage by stage with fusion after every stage.

    ``forward(rgb [B, 3, H, W], depth [B, C_d, H, W]) -> fused features``, one per stage, with
    the same channels and reductions as a single encoder of that backbone.
    """

    def __init__(
        self,
        backbone: str,
        depth_in_chans: int = 3,
        fusion: str = 'cmx',
        pretrained: str = '',
        num_stages: int = 4,
        head_dim: int = 64,
        pretrained_depth: str | None = None,
    ) -> None:
        super().__init__()
        self.rgb_encoder = Encoder(backbone, 3, pretrained, num_stages)
        if not self.rgb_encoder.supports_stages:
            raise ValueError(
                f'backbone {backbone!r} cannot be split into stages, so it cannot be used in a '
                'fusion model; tested fusion backbones: resnet*, convnext*, pvt_v2_*, '
                'efficientnet_*, mobilenetv3_*'
            )
        depth_weights = pretrained if pretrained_depth is None else pretrained_depth
        self.depth_encoder = Encoder(backbone, depth_in_chans, depth_weights, num_stages)
        self.fusions = nn.ModuleList(
            create_fusion(fusion, c, head_dim) for c in self.rgb_encoder.channels
        )
        self.channels = self.rgb_encoder.channels
        self.reductions = self.rgb_encoder.reductions

    @property
    def max_reduction(self) -> int:
        """Largest stride; inputs are padded to a multiple of it."""
        return self.rgb_encoder.max_reduction

    def forward(self, rgb: torch.Tensor, depth: torch.Tensor) -> list[torch.Tensor]:
        """Fused NCHW features, shallow to deep."""
        fused = []
        for i, fuse in enumerate(self.fusions):
            rgb = self.rgb_encoder.forward_stage(i, rgb)
            depth = self.depth_encoder.forward_stage(i, depth)
            rgb, depth, f = fuse(rgb, depth)
            fused.append(f)
        return fused
