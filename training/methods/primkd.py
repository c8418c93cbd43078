# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
PrimKD (Hao et al., ACM MM 2024): a single-modality teacher guides an RGB-D fusion student.

The teacher is trained on the *primary* modality: RGB in the paper (its Table 1 also tries a
depth teacher, which helped less on NYU). Either is accepted here; the teacher reads its own
stream of the student's inputs.

``L = CE + alpha * KL(teacher || student) + beta * select_i(L_i)`` (docs/training.md, PrimKD):

- the teacher is a frozen single-stream model in eval mode, fed the student's augmented input of
  its modality (RGB by default);
- KL: per pixel over classes at the input resolution, temperature 1 in the paper (configurable),
  averaged over all ``B * H * W`` pixels as in the released code (``kl_exclude_ignore`` option);
- feature term: per stage an aligner maps the student's *fused* feature to the teacher's stage
  feature; ``L_i`` is the MSE over ``C, H, W`` per sample, the stage is selected per sample
  (``max`` by default) and the result averaged over the batch. Aligners are a side branch: the
  decoder consumes the un-aligned fused features. ``distill.feat_normalize`` rescales ``L_i``
  so that beta keeps the paper's meaning on backbones whose features are not LayerNorm-ed
  (``'layernorm'``: MSE of per-position normalised maps, as MiT's stage outputs are;
  ``'teacher_ms'``: relative squared error); ``'none'`` is the released code's plain MSE.

A weight of 0 removes its term, and the teacher is not run when no term needs it.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rgbd_seg_ros.core.labels import IGNORE_INDEX
from training.config import DistillConfig
from training.losses import kl_distillation, segmentation_ce, stage_feature_loss
from training.methods.aligners import create_aligner
from training.methods.base import (
    Task,
    check_same_classes,
    freeze,
    make_inputs,
    normalization_of,
    weighted,
)


def resolve_stages(stages: tuple[int, ...], num_stages: int, field: str) -> list[int]:
    """1-based stage numbers from the config -> sorted 0-based indices (all when empty)."""
    if not stages:
        return list(range(num_stages))
    bad = [s for s in stages if not 1 <= s <= num_stages]
    if bad:
        raise ValueError(f'{field}: stages {bad} outside 1..{num_stages}')
    return sorted({s - 1 for s in stages})


def resolve_selection(
    select: str, stages: tuple[int, ...], num_stages: int
) -> tuple[list[int], str]:
    """
    Stages that need an aligner and the selection rule over them.

    A fixed ``'stage:K'`` keeps only stage K (no aligner is built for the others); otherwise the
    configured stages (all when empty) with ``select`` as given.
    """
    if select.startswith('stage:'):
        k = int(select[6:])
        if not 1 <= k <= num_stages or (stages and k not in stages):
            raise ValueError(
                f'distill.feat_select {select!r}: stage {k} is not among the used stages '
                f'{list(stages) or list(range(1, num_stages + 1))}'
            )
        return [k - 1], 'mean'
    return resolve_stages(stages, num_stages, 'distill.feat_stages'), select


def logit_and_feature_terms(
    cfg: DistillConfig, label: Tensor, student_logits: Tensor, student_feats: list[Tensor],
    teacher_logits: Tensor | None, teacher_feats: list[Tensor], aligners: nn.ModuleList | None,
    stages: list[int], select: str,
) -> dict[str, Tensor]:
    """
    The ``'kl'`` and ``'feat'`` terms shared by PrimKD and cross-modal KD (unweighted).

    ``kl``: ``kl_distillation`` of ``[B, K, H, W]`` logits (labelled pixels only when
    ``cfg.kl_exclude_ignore``), when ``teacher_logits`` is given; ``feat``: each stage in
    ``stages`` aligned onto the teacher's map of that stage, combined by ``select``, when
    ``aligners`` is given; ``cfg.feat_normalize`` sets the scale of each stage's MSE.
    """
    out: dict[str, Tensor] = {}
    if teacher_logits is not None:
        valid = (label != IGNORE_INDEX) if cfg.kl_exclude_ignore else None
        out['kl'] = kl_distillation(student_logits, teacher_logits, cfg.temperature, valid)
    if aligners is not None:
        aligned = [
            aligner(student_feats[i], tuple(teacher_feats[i].shape[-2:]))
            for aligner, i in zip(aligners, stages)
        ]
        out['feat'] = stage_feature_loss(aligned, [teacher_feats[i] for i in stages], select,
                                         cfg.feat_normalize)
    return out


class PrimKDTask(Task):
    """Fusion ``student`` trained with a frozen single-modality (primary) ``teacher``."""

    def __init__(
        self, student: nn.Module, teacher: nn.Module, cfg: DistillConfig, teacher_path: str = ''
    ) -> None:
        super().__init__()
        if len(student.modalities) < 2:
            raise ValueError(
                f'PrimKD trains a fusion student; model reads only {tuple(student.modalities)}'
            )
        if len(teacher.modalities) != 1 or teacher.modalities[0] not in student.modalities:
            raise ValueError(
                'PrimKD needs a single-modality teacher (RGB-only, the primary modality) reading '
                f'one of the student inputs {tuple(student.modalities)}; '
                f'{teacher_path or "the teacher"} reads {tuple(teacher.modalities)}'
            )
        check_same_classes(student, teacher, teacher_path)
        self.cfg = cfg
        self.student = student
        self.teacher = freeze(teacher)
        self.stages, self.select = resolve_selection(
            cfg.feat_select, cfg.feat_stages, len(student.feature_channels)
        )
        if cfg.feat_weight > 0:
            if len(teacher.feature_channels) != len(student.feature_channels):
                raise ValueError(
                    f'teacher has {len(teacher.feature_channels)} stages, student '
                    f'{len(student.feature_channels)}'
                )
            self.aligners = nn.ModuleList(
                create_aligner(cfg.aligner, student.feature_channels[i],
                               teacher.feature_channels[i], cfg.aligner_keep)
                for i in self.stages
            )
            # Only the selected stage's aligner gets a gradient in a step.
            self.find_unused_parameters = self.select != 'mean' and len(self.stages) > 1
        else:
            self.aligners = None

    def students(self) -> dict[str, nn.Module]:
        """The fusion student is the exported model."""
        return {'model': self.student}

    def teachers(self) -> list[nn.Module]:
        """The frozen RGB teacher."""
        return [self.teacher]

    def forward(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """CE + alpha * KL + beta * selected stage MSE."""
        cfg = self.cfg
        label = batch['label']
        size = tuple(label.shape[-2:])
        norm, teacher_norm = normalization_of(self.student), normalization_of(self.teacher)
        inputs = make_inputs(batch, self.student.modalities, normalization=norm)
        student_feats = self.student.forward_features(inputs)
        student_logits = self.student.decode(student_feats, size)
        parts = {'ce': segmentation_ce(student_logits, label)}
        weights = {'ce': 1.0, 'kl': cfg.logit_weight, 'feat': cfg.feat_weight}
        if cfg.logit_weight > 0 or cfg.feat_weight > 0:
            with torch.no_grad():
                primary = self.teacher.modalities[0]
                teacher_in = (inputs if teacher_norm == norm else  # a teacher keeps its own
                              make_inputs(batch, (primary,), normalization=teacher_norm))
                teacher_feats = self.teacher.forward_features({primary: teacher_in[primary]})
                teacher_logits = (
                    self.teacher.decode(teacher_feats, size) if cfg.logit_weight > 0 else None
                )
            parts.update(logit_and_feature_terms(
                cfg, label, student_logits, student_feats, teacher_logits, teacher_feats,
                self.aligners, self.stages, self.select))
        return weighted(parts, weights)
