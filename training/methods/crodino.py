# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
CroDiNo-KD (Ferrod et al., ECML-PKDD 2025): teacher-free joint training of an RGB-only and a
depth-only model with disentangled features (docs/training.md, CroDiNo-KD).

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
  each exported model is a plain single-modality ``SegmentationNet`` using its own invariant
  part.
- MixUp (``crodino.mixup``): in training the decoder sees ``concat(inv_mix, spec)`` with
  ``inv_mix = lam * inv_own + (1 - lam) * inv_other``, ``lam ~ U(mixup_lambda_min, 1)`` per
  sample and model (``U(0, 1)`` by default); only with shared geometric augmentation (aligned
  feature maps). ``mixup_detach_other`` detaches ``inv_other`` in the mix, so each decoder's CE
  reaches only its own encoder.
- orthogonality (``crodino.ortho_mode``): mean over positions of cos^2(inv, spec) per modality,
  or the absolute cosine of the pooled vectors (DisCoM-KD). ``ortho_preact`` takes the halves
  of the deepest stage *before* its final activation (ResNet's last ReLU), where cos^2 = 0 is
  not reachable by merely disjoint non-negative channels; the pre-activation is read with a
  forward pre-hook that exists only during ``CrodinoTask.forward``.
- invariance (``crodino.invariance_weight``, default off): an explicit per-position distance
  (``invariance_distance``: MSE or 1 - cosine) between ``inv_rgb`` and ``inv_depth``.
- contrastive: global average pool of inv -> 2-layer MLP (``proj_dim``) -> symmetric InfoNCE with
  temperature ``contrast_temperature``; negatives are the other samples on this rank.
- auxiliary decoder: one light head (3x3 conv, BN, ReLU, 1x1 conv) shared by inv-RGB, inv-D,
  spec-RGB and spec-D, cross-entropy against the label of the part's own modality: its
  deepest-stage-scale logits upsampled to the label (``aux_resolution='label'``) or scored at
  their own scale against each cell's class fractions (``'feature'``).
- decoupled augmentation comes from the data pipeline (``data`` config): photometric/noise ops
  always independent; geometry shared or independent (``data.decoupled_geometry``); when
  independent, the depth branch has its own label map (``depth_label``) and intrinsics
  (``depth_K``).
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import logging

import torch
from torch import Tensor, nn
import torch.nn.functional as F

from rgbd_seg_ros.core.models.encoder import Encoder
from training.config import CrodinoConfig
from training.losses import (
    coarse_segmentation_ce,
    info_nce,
    invariance_distance,
    orthogonality,
    pooled_cosine,
    segmentation_ce,
)
from training.methods.base import Task, make_inputs, normalization_of, pool, weighted

LOG = logging.getLogger(__name__)

# Elementwise activations a stage may end with (torch's and timm's class names, lower case).
_ACTIVATION_NAMES = frozenset({
    'relu', 'relu6', 'leakyrelu', 'prelu', 'elu', 'celu', 'selu', 'gelu', 'gelutanh',
    'quickgelu', 'silu', 'swish', 'mish', 'hardswish', 'hardsigmoid', 'sigmoid', 'tanh',
})


def split_parts(feature: Tensor) -> tuple[Tensor, Tensor]:
    """Deepest-stage map ``[B, C, H, W]`` -> (invariant, specific), ``C/2`` channels each."""
    c = feature.shape[1]
    if c % 2:
        raise ValueError(f'CroDiNo-KD splits the deepest stage in halves; it has {c} channels')
    return feature[:, : c // 2], feature[:, c // 2:]


def find_final_activation(encoder: nn.Module) -> nn.Module | None:
    """
    The activation module whose output is the deepest stage's feature, or None.

    Runs one probe forward (eval mode, no gradient, a zero image of twice the largest stride)
    with forward hooks on every leaf module of the backbone, and takes the last leaf whose output
    shares storage with the deepest returned level (an in-place ReLU returns its input tensor).
    None when that leaf is not an elementwise activation or no leaf produced it (e.g. ConvNeXt
    or PVTv2 stages end in a residual sum or a norm: their output is already pre-activation).
    """
    if not isinstance(encoder, Encoder):
        raise ValueError(
            'crodino.ortho_preact reads the pre-activation of a single-stream Encoder; got '
            f'{type(encoder).__name__}'
        )
    calls: list[tuple[nn.Module, Tensor]] = []

    def record(module: nn.Module, _inputs: tuple, output: object) -> None:
        if isinstance(output, Tensor):
            calls.append((module, output))  # kept alive, so no storage is reused

    leaves = [m for m in encoder.backbone.modules() if not list(m.children())]
    handles = [m.register_forward_hook(record) for m in leaves]
    was_training = encoder.training
    size = 2 * encoder.max_reduction
    try:
        encoder.eval()
        with torch.no_grad():
            param = next(encoder.parameters())
            image = torch.zeros(1, encoder.in_chans, size, size, device=param.device,
                                dtype=param.dtype)
            deepest = encoder.backbone(image)[encoder.levels[-1]]
    finally:
        for handle in handles:
            handle.remove()
        encoder.train(was_training)
    last = None
    for module, output in calls:
        if output.data_ptr() == deepest.data_ptr() and output.numel() == deepest.numel():
            last = module
    if last is None or type(last).__name__.lower() not in _ACTIVATION_NAMES:
        return None
    return last


@contextlib.contextmanager
def _capture_input(module: nn.Module | None, store: list[Tensor]) -> Iterator[None]:
    """While active, append a copy of ``module``'s input (before an in-place op) to ``store``."""
    if module is None:
        yield
        return

    def grab(_module: nn.Module, inputs: tuple) -> None:
        store.append(inputs[0].clone())

    handle = module.register_forward_pre_hook(grab)
    try:
        yield
    finally:
        handle.remove()


def position_cosine(a: Tensor, b: Tensor) -> Tensor:
    """Cosine over channels at every position of two ``[B, C, H, W]`` maps: ``[B, H, W]``."""
    if a.dim() != 4 or a.shape != b.shape:
        raise ValueError(
            f'position_cosine expects two [B, C, H, W] maps of the same shape, got '
            f'{tuple(a.shape)} and {tuple(b.shape)}'
        )
    return F.cosine_similarity(a.float(), b.float(), dim=1, eps=1e-8)


@torch.no_grad()
def invariant_similarity(
    rgb_model: nn.Module, depth_model: nn.Module, batch: dict[str, Tensor],
    train_mode: bool = False,
) -> dict[str, float]:
    """
    Diagnostic: how invariant are the "invariant" halves of a CroDiNo-KD pair on one batch.

    Runs both models (eval mode unless ``train_mode``; their modes are restored) and returns the
    mean over positions of the RGB/depth cosine of the invariant halves (``inv_cos``), of the
    specific halves (``spec_cos``, a reference), of the pooled invariant vectors
    (``inv_cos_pooled``), and of the invariant halves of *different* scenes (``inv_cos_other``:
    RGB of sample i against depth of sample i+1, the level of unrelated scenes; nan for a batch
    of one). Needs shared geometry (maps of one shape). ``batch`` is a training batch (``rgb``,
    ``depth_m``, ``K``, and for a decoupled depth branch ``depth_K``).
    """
    modes = (rgb_model.training, depth_model.training)
    rgb_model.train(train_mode)
    depth_model.train(train_mode)
    try:
        depth_k = 'depth_K' if 'depth_K' in batch else 'K'
        inv_rgb, spec_rgb = split_parts(
            rgb_model.forward_features(make_inputs(
                batch, ('rgb',), normalization=normalization_of(rgb_model)))[-1])
        inv_depth, spec_depth = split_parts(depth_model.forward_features(
            make_inputs(batch, depth_model.modalities, k_key=depth_k,
                        normalization=normalization_of(depth_model)))[-1])
    finally:
        rgb_model.train(modes[0])
        depth_model.train(modes[1])
    if inv_rgb.shape != inv_depth.shape:
        raise ValueError(
            'invariant_similarity compares positions and needs shared geometry; maps are '
            f'{tuple(inv_rgb.shape)} and {tuple(inv_depth.shape)}'
        )
    other = (position_cosine(inv_rgb, inv_depth.roll(1, dims=0)).mean().item()
             if inv_rgb.shape[0] > 1 else float('nan'))
    return {
        'inv_cos': position_cosine(inv_rgb, inv_depth).mean().item(),
        'spec_cos': position_cosine(spec_rgb, spec_depth).mean().item(),
        'inv_cos_pooled': F.cosine_similarity(pool(inv_rgb), pool(inv_depth), dim=1).mean().item(),
        'inv_cos_other': other,
    }


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
        # Not registered as submodules: they belong to the models already.
        self._final_acts: tuple[nn.Module | None, nn.Module | None] = (None, None)
        if cfg.ortho_preact and cfg.ortho_weight > 0:
            self._final_acts = (find_final_activation(rgb_model.encoder),
                                find_final_activation(depth_model.encoder))
            for name, act in zip(('RGB', 'depth'), self._final_acts):
                if act is None:
                    LOG.info("crodino.ortho_preact: the %s encoder's deepest stage does not end "
                             'in an activation; its output is the pre-activation', name)

    def students(self) -> dict[str, nn.Module]:
        """Both models are exported, as ``rgb`` and ``depth``."""
        return {'rgb': self.rgb_model, 'depth': self.depth_model}

    def _mix(self, own: Tensor, other: Tensor) -> Tensor:
        """``lam * own + (1 - lam) * other``, ``lam ~ U(mixup_lambda_min, 1)`` per sample."""
        lam = torch.rand(own.shape[0], 1, 1, 1, device=own.device, dtype=own.dtype)
        low = self.cfg.mixup_lambda_min
        if low > 0:
            lam = low + (1.0 - low) * lam
        if self.cfg.mixup_detach_other:
            other = other.detach()
        return lam * own + (1.0 - lam) * other

    def _aux_ce(self, part: Tensor, label: Tensor, reduction: int) -> Tensor:
        logits = self.aux_decoder(part)
        if self.cfg.aux_resolution == 'feature':
            return coarse_segmentation_ce(logits, label, reduction)
        return segmentation_ce(logits, label)

    def forward(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """Both models' segmentation CE + orthogonality + InfoNCE + aux CE (+ invariance)."""
        cfg = self.cfg
        label_rgb = batch['label']
        label_depth = batch.get('depth_label', label_rgb)
        depth_k = 'depth_K' if 'depth_K' in batch else 'K'
        size_rgb = tuple(label_rgb.shape[-2:])
        size_depth = tuple(label_depth.shape[-2:])
        pre_rgb: list[Tensor] = []
        pre_depth: list[Tensor] = []
        with _capture_input(self._final_acts[0], pre_rgb):
            rgb_feats = self.rgb_model.forward_features(make_inputs(
                batch, ('rgb',), normalization=normalization_of(self.rgb_model)))
        with _capture_input(self._final_acts[1], pre_depth):
            depth_feats = self.depth_model.forward_features(
                make_inputs(batch, self.depth_model.modalities, k_key=depth_k,
                            normalization=normalization_of(self.depth_model))
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
                   'aux': cfg.aux_weight, 'invariance': cfg.invariance_weight}
        if cfg.ortho_weight > 0:
            measure = orthogonality if cfg.ortho_mode == 'cos2_pixel' else pooled_cosine
            ortho_rgb = (self._preactivation(pre_rgb, self.rgb_model, rgb_feats[-1])
                         if cfg.ortho_preact else rgb_feats[-1])
            ortho_depth = (self._preactivation(pre_depth, self.depth_model, depth_feats[-1])
                           if cfg.ortho_preact else depth_feats[-1])
            parts['ortho'] = (measure(*split_parts(ortho_rgb))
                              + measure(*split_parts(ortho_depth)))
        if cfg.invariance_weight > 0:
            if inv_rgb.shape != inv_depth.shape:
                raise ValueError(
                    'crodino.invariance_weight needs RGB and depth features of the same shape '
                    f'(shared geometry), got {tuple(inv_rgb.shape)} and {tuple(inv_depth.shape)}'
                )
            parts['invariance'] = invariance_distance(inv_rgb, inv_depth,
                                                      cfg.invariance_distance)
        if cfg.contrast_weight > 0:
            parts['contrast'] = info_nce(
                self.rgb_projection(pool(inv_rgb)), self.depth_projection(pool(inv_depth)),
                cfg.contrast_temperature,
            )
        if cfg.aux_weight > 0:
            r_rgb = self.rgb_model.feature_reductions[-1]
            r_depth = self.depth_model.feature_reductions[-1]
            parts['aux'] = (
                self._aux_ce(inv_rgb, label_rgb, r_rgb)
                + self._aux_ce(spec_rgb, label_rgb, r_rgb)
                + self._aux_ce(inv_depth, label_depth, r_depth)
                + self._aux_ce(spec_depth, label_depth, r_depth)
            )
        return weighted(parts, weights)

    @staticmethod
    def _preactivation(captured: list[Tensor], model: nn.Module, feature: Tensor) -> Tensor:
        """The deepest stage before its final activation (``feature`` itself when it has none)."""
        if not captured:
            return feature
        pre = model.encoder._to_nchw(captured[-1])
        if pre.shape != feature.shape:
            raise ValueError(
                f'crodino.ortho_preact: captured pre-activation {tuple(pre.shape)} does not match '
                f'the deepest feature {tuple(feature.shape)}'
            )
        return pre
