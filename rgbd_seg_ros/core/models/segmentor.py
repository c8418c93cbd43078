# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Segmentors: encoder (single or dual-stream fusion) + decoder, and ``create_model``.

Inputs of any size work: they are zero-padded on the right and bottom to a multiple of the
backbone's largest stride (zero is the mean after normalisation), and the logits are cropped
back to the input size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn
import torch.nn.functional as F

from ..preprocess import Normalization
from .config import ModelConfig
from .decoder import create_decoder
from .encoder import Encoder
from .fusion import FusionEncoder

MODALITY_CHANNELS = {'rgb': 3, 'hha': 3, 'depth': 1}


class SegmentationNet(nn.Module):
    """
    Semantic segmentation model over one or two input modalities.

    ``forward(inputs) -> logits [B, K, H, W]`` where ``inputs`` maps each name in
    ``modalities`` to a normalised float tensor ``[B, C_m, H, W]`` (see
    ``core/preprocess.py: build_inputs``) with the model's ``normalization``: ImageNet mean/std
    by default, the initial weights' own when they expect another (``tf_efficientnet_lite*``:
    0.5/0.5); a checkpoint records it and ``load_checkpoint`` restores it.
    """

    def __init__(self, cfg: ModelConfig, encoder: nn.Module, decoder: nn.Module) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = encoder
        self.decoder = decoder
        self.modalities: tuple[str, ...] = cfg.modalities
        self.feature_channels: tuple[int, ...] = tuple(encoder.channels)
        self.feature_reductions: tuple[int, ...] = tuple(encoder.reductions)
        self.stride = int(encoder.max_reduction)
        self.normalization = Normalization()

    @property
    def num_classes(self) -> int:
        """Number of output classes K."""
        return self.cfg.num_classes

    def _check_inputs(self, inputs: Mapping[str, torch.Tensor]) -> tuple[int, int]:
        if not isinstance(inputs, Mapping):
            raise ValueError(
                f'inputs must be a dict with keys {self.modalities}, got {type(inputs).__name__}'
            )
        missing = [m for m in self.modalities if m not in inputs]
        if missing:
            raise ValueError(
                f'model needs inputs {self.modalities}; missing {missing} (got {sorted(inputs)})'
            )
        size = None
        for m in self.modalities:
            x = inputs[m]
            if not isinstance(x, torch.Tensor) or x.ndim != 4 or not x.is_floating_point():
                desc = f'{tuple(x.shape)} {x.dtype}' if isinstance(x, torch.Tensor) else type(x)
                raise ValueError(
                    f'input {m!r} must be a float tensor [B, {MODALITY_CHANNELS[m]}, H, W], '
                    f'got {desc}'
                )
            if x.shape[1] != MODALITY_CHANNELS[m]:
                raise ValueError(
                    f'input {m!r} must have {MODALITY_CHANNELS[m]} channels, got shape '
                    f'{tuple(x.shape)}'
                )
            if size is None:
                size = tuple(x.shape[-2:])
            elif tuple(x.shape[-2:]) != size:
                raise ValueError(
                    f'inputs differ in size: {self.modalities[0]} {size}, {m} '
                    f'{tuple(x.shape[-2:])}'
                )
        return size  # type: ignore[return-value]

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        pad_h = (-h) % self.stride
        pad_w = (-w) % self.stride
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h))
        return x

    def forward_features(self, inputs: Mapping[str, torch.Tensor]) -> list[torch.Tensor]:
        """
        Per-stage features (fusion: the fused stage outputs), shallow to deep.

        :param inputs: modality name -> ``[B, C_m, H, W]``; padded here to the stride.
        :returns: ``[B, C_i, ceil(H / s) * s / r_i, ...]`` with s = ``stride`` and r_i =
            ``feature_reductions[i]``.
        """
        self._check_inputs(inputs)
        streams = [self._pad(inputs[m]) for m in self.modalities]
        return self.encoder(*streams)

    def decode(self, features: Sequence[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
        """
        Logits for the input that gave ``features``.

        :param features: output of ``forward_features``.
        :param size: (H, W) of that input (before padding).
        :returns: ``[B, K, H, W]``.
        """
        h, w = int(size[0]), int(size[1])
        r0 = self.feature_reductions[0]
        padded = (features[0].shape[-2] * r0, features[0].shape[-1] * r0)
        if padded != (h + (-h) % self.stride, w + (-w) % self.stride):
            raise ValueError(
                f'decode: size {(h, w)} does not match features of a {padded} (padded) input'
            )
        logits = self.decoder(features)
        logits = F.interpolate(logits, size=padded, mode='bilinear', align_corners=False)
        return logits[:, :, :h, :w]

    def forward(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Normalised inputs -> logits ``[B, K, H, W]`` at the input size."""
        size = self._check_inputs(inputs)
        return self.decode(self.forward_features(inputs), size)


def _build_single(cfg: ModelConfig) -> SegmentationNet:
    weights = cfg.pretrained if cfg.modality == 'rgb' else cfg.depth_weights
    encoder = Encoder(cfg.backbone, MODALITY_CHANNELS[cfg.modality], weights, cfg.num_stages)
    decoder = create_decoder(cfg.decoder, encoder.channels, cfg.embed_dim, cfg.num_classes,
                             cfg.decoder_dropout)
    return SegmentationNet(cfg, encoder, decoder)


def _build_fusion(cfg: ModelConfig) -> SegmentationNet:
    encoder = FusionEncoder(cfg.backbone, MODALITY_CHANNELS[cfg.depth_modality], cfg.fusion,
                            cfg.pretrained, cfg.num_stages, cfg.ffm_head_dim,
                            cfg.depth_weights)
    decoder = create_decoder(cfg.decoder, encoder.channels, cfg.embed_dim, cfg.num_classes,
                             cfg.decoder_dropout)
    return SegmentationNet(cfg, encoder, decoder)


_ARCHS = {'single': _build_single, 'fusion': _build_fusion}


def create_model(cfg: ModelConfig) -> SegmentationNet:
    """
    Build a segmentation model from its config.

    :param cfg: architecture; ``cfg.pretrained`` (a local .safetensors file) initialises the
        backbone(s), ``cfg.pretrained_depth`` (when set) the depth stream instead.
    :returns: a ``SegmentationNet`` in training mode on the CPU.
    """
    if not isinstance(cfg, ModelConfig):
        raise ValueError(f'create_model needs a ModelConfig, got {type(cfg).__name__}')
    if cfg.arch not in _ARCHS:
        raise ValueError(f'unknown arch {cfg.arch!r}; expected one of {tuple(_ARCHS)}')
    return _ARCHS[cfg.arch](cfg)
