# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
CroDiNo-KD (Ferrod et al., ECML-PKDD 2025): teacher-free joint training of an RGB-only and a
depth-only model with disentangled features (METHODS.md §4).

Certain from the paper's abstract, README and overview figure: no teacher; the two
single-modality encoder-decoders are trained jointly; each encoder output is split into a
modality-invariant and a modality-specific part; an orthogonality constraint between the two parts
within each modality; a cross-modal contrastive loss on the invariant parts (the two views of one
scene are positives, the other scenes of the batch negatives); a MixUp of the two invariant parts
before each decoder; one shared auxiliary decoder applied to the four parts; decoupled
augmentation.

RECONSTRUCTION (the paper's details were not available; every choice is a ``crodino.*`` switch):

- split: the deepest stage's channels in halves, invariant first; shallower stages pass through.
  Because the decoder sees ``concat(inv, spec)`` -- the unchanged stage output -- at test time,
  each exported model is a plain single-modality ``Segmentor`` that uses its own invariant part.
- MixUp (``crodino.mixup``): in training the decoder sees ``concat(inv_mix, spec)`` with
  ``inv_mix = lam * inv_own + (1 - lam) * inv_other``, ``lam ~ U(0, 1)`` per sample and model;
  only with shared geometric augmentation (aligned feature maps).
- orthogonality (``crodino.ortho_mode``): mean over positions of cos^2(inv, spec) per modality,
  or the absolute cosine of the pooled vectors (DisCoM-KD).
- contrastive: global average pool of inv -> 2-layer MLP (``proj_dim``) -> symmetric InfoNCE with
  temperature ``contrast_temperature``; negatives are the other samples on this rank.
- auxiliary decoder: one light head (3x3 conv, BN, ReLU, 1x1 conv) shared by inv-RGB, inv-D,
  spec-RGB and spec-D, cross-entropy against the label of the part's own modality.
- decoupled augmentation comes from the data pipeline (``data`` config): photometric/noise ops
  always independent; geometry shared or independent (``data.decoupled_geometry``); when
  independent, the depth branch has its own label map (``depth_label``) and intrinsics
  (``depth_K``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from training.config import CrodinoConfig
from training.losses import info_nce, orthogonality, pooled_cosine, segmentation_ce
from training.methods.base import Task, make_inputs, pool, weighted


def split_parts(feature: Tensor) -> tuple[Tensor, Tensor]:
    """Deepest-stage map ``[B, C, H, W]`` -> (invariant, specific), ``C/2`` channels each."""
    c = feature.shape[1]
    if c % 2:
        raise ValueError(f'CroDiNo-KD splits the deepest stage in halves; it has {c} channels')
    return feature[:, : c // 2], feature[:, c // 2:]


class AuxDecoder(nn.Module):
    """Shared auxiliary head: ``[B, C/2, h, w] -> [B, K, h, w]``."""

    def __init__(self, in_channels: int, hidden: int, num_classes: int) -> None:
        super().__init__()
        self.head = nn.Sequential(
            nn.Conv2d(in_channels, hidden, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, num_classes, kernel_size=1),
        )

    def forward(self, x: Tensor) -> Tensor:
        """Logits at the part's resolution (upsampled by the loss)."""
        return self.head(x)


def _projection(in_dim: int, out_dim: int) -> nn.Module:
    return nn.Sequential(nn.Linear(in_dim, out_dim), nn.ReLU(inplace=True),
                         nn.Linear(out_dim, out_dim))


class CrodinoTask(Task):
    """Joint training of ``rgb_model`` and ``depth_model``; exports ``rgb`` and ``depth``."""

    def __init__(self, rgb_model: nn.Module, depth_model: nn.Module, cfg: CrodinoConfig) -> None:
        super().__init__()
        if tuple(rgb_model.modalities) != ('rgb',) or len(depth_model.modalities) != 1 or (
            depth_model.modalities[0] == 'rgb'
        ):
            raise ValueError(
                'CroDiNo-KD needs an RGB-only and a depth-only model, got '
                f'{tuple(rgb_model.modalities)} and {tuple(depth_model.modalities)}'
            )
        c_rgb, c_depth = rgb_model.feature_channels[-1], depth_model.feature_channels[-1]
        if c_rgb != c_depth:
            raise ValueError(
                f'the two models must share the deepest width; RGB {c_rgb}, depth {c_depth}'
            )
        if rgb_model.cfg.num_classes != depth_model.cfg.num_classes:
            raise ValueError('the RGB and depth models must predict the same classes')
        self.cfg = cfg
        self.rgb_model = rgb_model
        self.depth_model = depth_model
        half = c_rgb // 2
        if cfg.contrast_weight > 0:
            self.rgb_projection = _projection(half, cfg.proj_dim)
            self.depth_projection = (
                self.rgb_projection if cfg.shared_projection else _projection(half, cfg.proj_dim)
            )
        if cfg.aux_weight > 0:
            self.aux_decoder = AuxDecoder(half, cfg.aux_channels, rgb_model.cfg.num_classes)

    def students(self) -> dict[str, nn.Module]:
        """Both models are exported, as ``rgb`` and ``depth``."""
        return {'rgb': self.rgb_model, 'depth': self.depth_model}

    def _mix(self, own: Tensor, other: Tensor) -> Tensor:
        lam = torch.rand(own.shape[0], 1, 1, 1, device=own.device, dtype=own.dtype)
        return lam * own + (1.0 - lam) * other

    def forward(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """Segmentation CE of both models + orthogonality + InfoNCE + auxiliary CE."""
        cfg = self.cfg
        label_rgb = batch['label']
        label_depth = batch.get('depth_label', label_rgb)
        depth_k = 'depth_K' if 'depth_K' in batch else 'K'
        size_rgb = tuple(label_rgb.shape[-2:])
        size_depth = tuple(label_depth.shape[-2:])
        rgb_feats = self.rgb_model.forward_features(make_inputs(batch, ('rgb',)))
        depth_feats = self.depth_model.forward_features(
            make_inputs(batch, self.depth_model.modalities, k_key=depth_k)
        )
        inv_rgb, spec_rgb = split_parts(rgb_feats[-1])
        inv_depth, spec_depth = split_parts(depth_feats[-1])
        if cfg.mixup:
            if inv_rgb.shape != inv_depth.shape:
                raise ValueError(
                    'crodino.mixup needs RGB and depth features of the same shape, got '
                    f'{tuple(inv_rgb.shape)} and {tuple(inv_depth.shape)}'
                )
            rgb_top = torch.cat([self._mix(inv_rgb, inv_depth), spec_rgb], dim=1)
            depth_top = torch.cat([self._mix(inv_depth, inv_rgb), spec_depth], dim=1)
        else:
            rgb_top, depth_top = rgb_feats[-1], depth_feats[-1]
        rgb_logits = self.rgb_model.decode(list(rgb_feats[:-1]) + [rgb_top], size_rgb)
        depth_logits = self.depth_model.decode(list(depth_feats[:-1]) + [depth_top], size_depth)
        parts = {
            'ce_rgb': segmentation_ce(rgb_logits, label_rgb),
            'ce_depth': segmentation_ce(depth_logits, label_depth),
        }
        weights = {'ce_rgb': cfg.seg_weight, 'ce_depth': cfg.seg_weight,
                   'ortho': cfg.ortho_weight, 'contrast': cfg.contrast_weight,
                   'aux': cfg.aux_weight}
        if cfg.ortho_weight > 0:
            measure = orthogonality if cfg.ortho_mode == 'cos2_pixel' else pooled_cosine
            parts['ortho'] = measure(inv_rgb, spec_rgb) + measure(inv_depth, spec_depth)
        if cfg.contrast_weight > 0:
            parts['contrast'] = info_nce(
                self.rgb_projection(pool(inv_rgb)), self.depth_projection(pool(inv_depth)),
                cfg.contrast_temperature,
            )
        if cfg.aux_weight > 0:
            parts['aux'] = (
                segmentation_ce(self.aux_decoder(inv_rgb), label_rgb)
                + segmentation_ce(self.aux_decoder(spec_rgb), label_rgb)
                + segmentation_ce(self.aux_decoder(inv_depth), label_depth)
                + segmentation_ce(self.aux_decoder(spec_depth), label_depth)
            )
        return weighted(parts, weights)
