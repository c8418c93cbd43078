# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Segmentation heads over multi-scale features.

A head maps features ``[B, C_i, H / r_i, W / r_i]`` (shallow to deep) to logits
``[B, K, H / r_0, W / r_0]`` at the shallowest feature's resolution; the segmentor upsamples.

- ``segformer``: SegFormer's all-MLP head (as in CMX/PrimKD): per stage a linear C_i -> E,
  upsample to stride r_0, concat (deep to shallow), 1x1 conv 4E -> E + BN + ReLU, dropout, 1x1
  conv E -> K. The per-token linears are 1x1 convolutions (the same maths, NCHW).
- ``light``: an FPN-lite head for small CPU models: 1x1 lateral convs to E, top-down
  upsample-and-add, one depthwise-separable 3x3 block, classifier.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
import torch.nn.functional as F


def _conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int = 1,
                  groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2,
                  groups=groups, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class SegFormerHead(nn.Module):
    """SegFormer all-MLP decoder with embedding dimension ``embed_dim``."""

    def __init__(self, in_channels: Sequence[int], embed_dim: int, num_classes: int,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.linear = nn.ModuleList(nn.Conv2d(c, embed_dim, kernel_size=1) for c in in_channels)
        self.fuse = _conv_bn_relu(len(in_channels) * embed_dim, embed_dim)
        self.dropout = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()
        self.classifier = nn.Conv2d(embed_dim, num_classes, kernel_size=1)

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        """Features shallow to deep -> logits ``[B, K, H_0, W_0]``."""
        size = features[0].shape[-2:]
        embedded = []
        for feature, linear in zip(features, self.linear):
            x = linear(feature)
            if x.shape[-2:] != size:
                x = F.interpolate(x, size=size, mode='bilinear', align_corners=False)
            embedded.append(x)
        x = self.fuse(torch.cat(embedded[::-1], dim=1))
        return self.classifier(self.dropout(x))


class LightHead(nn.Module):
    """FPN-lite decoder: lateral 1x1 convs, top-down sum, a depthwise-separable block."""

    def __init__(self, in_channels: Sequence[int], embed_dim: int, num_classes: int,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.lateral = nn.ModuleList(_conv_bn_relu(c, embed_dim) for c in in_channels)
        self.refine = nn.Sequential(
            _conv_bn_relu(embed_dim, embed_dim, kernel_size=3, groups=embed_dim),
            _conv_bn_relu(embed_dim, embed_dim),
        )
        self.dropout = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()
        self.classifier = nn.Conv2d(embed_dim, num_classes, kernel_size=1)

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        """Features shallow to deep -> logits ``[B, K, H_0, W_0]``."""
        x = self.lateral[-1](features[-1])
        for i in range(len(features) - 2, -1, -1):
            lateral = self.lateral[i](features[i])
            x = F.interpolate(x, size=lateral.shape[-2:], mode='bilinear', align_corners=False)
            x = x + lateral
        return self.classifier(self.dropout(self.refine(x)))


_DECODERS = {'segformer': SegFormerHead, 'light': LightHead}


def create_decoder(name: str, in_channels: Sequence[int], embed_dim: int, num_classes: int,
                   dropout: float = 0.1) -> nn.Module:
    """Build a head by name (``segformer`` or ``light``)."""
    if name not in _DECODERS:
        raise ValueError(f'unknown decoder {name!r}; expected one of {tuple(_DECODERS)}')
    return _DECODERS[name](in_channels, embed_dim, num_classes, dropout)
