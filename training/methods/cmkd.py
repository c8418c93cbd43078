# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Cross-modal teacher/student distillation (docs/training.md), CroDiNo-KD's baselines.

A frozen RGB-D fusion ``teacher`` distils into a single-modality ``student`` (RGB-only or
depth-only). Three switchable terms, each with its own weight (0 removes the term and its
computation):

- logit KD: ``T^2 * KL(teacher_T || student_T)`` per pixel (``kl_distillation``), over labelled
  pixels when ``distill.kl_exclude_ignore`` is set (the usual choice here);
- feature KD (FitNets): per stage a 1x1 (or masked) aligner maps the student's feature onto the
  teacher's fused feature, MSE per stage, combined by ``distill.feat_select`` (``mean`` sums the
  stages evenly, as FitNets-style baselines do);
- MGD (Yang et al., ECCV 2022): on ``distill.mgd_stages`` the student map is randomly masked
  (``mgd_mask_ratio`` of its pixels) and a generator (1x1 align, 3x3 conv, ReLU, 3x3 conv)
  reconstructs the teacher map; MSE.

``distill.feat_normalize`` sets the scale of the feature and MGD MSEs (``losses.feature_mse``):
``'none'`` (plain MSE), ``'layernorm'`` (per-position normalised maps) or ``'teacher_ms'``
(relative to the teacher map's mean square). ``distill.temperature``: the KL is computed on
``softmax(z / T)`` and multiplied by ``T^2`` (Hinton et al.), so that its gradient keeps the
scale of T = 1; T = 1 is the plain KL.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from training.config import DistillConfig
from training.losses import feature_mse, segmentation_ce
from training.methods.aligners import MaskedGenerator, create_aligner
from training.methods.base import (
    Task,
    check_same_classes,
    freeze,
    make_inputs,
    normalization_of,
    weighted,
)
from training.methods.primkd import logit_and_feature_terms, resolve_selection, resolve_stages


class CrossModalKDTask(Task):
    """Single-modality ``student`` trained with a frozen RGB-D ``teacher``."""

    def __init__(
        self, student: nn.Module, teacher: nn.Module, cfg: DistillConfig, teacher_path: str = ''
    ) -> None:
        super().__init__()
        if len(student.modalities) != 1:
            raise ValueError(
                'cross-modal KD trains a single-modality student; model reads '
                f'{tuple(student.modalities)}'
            )
        if student.modalities[0] not in teacher.modalities or len(teacher.modalities) < 2:
            raise ValueError(
                f'the cmkd teacher must be an RGB-D model reading the student modality '
                f'{student.modalities[0]!r}; {teacher_path or "the teacher"} reads '
                f'{tuple(teacher.modalities)}'
            )
        check_same_classes(student, teacher, teacher_path)
        self.cfg = cfg
        self.student = student
        self.teacher = freeze(teacher)
        n_student, n_teacher = len(student.feature_channels), len(teacher.feature_channels)
        needs_stages = cfg.feat_weight > 0 or cfg.mgd_weight > 0
        if needs_stages and n_student != n_teacher:
            raise ValueError(f'teacher has {n_teacher} stages, student {n_student}')
        self.feat_stages, self.select = resolve_selection(cfg.feat_select, cfg.feat_stages,
                                                          n_student)
        self.aligners = None
        if cfg.feat_weight > 0:
            self.aligners = nn.ModuleList(
                create_aligner(cfg.aligner, student.feature_channels[i],
                               teacher.feature_channels[i], cfg.aligner_keep)
                for i in self.feat_stages
            )
            self.find_unused_parameters = self.select != 'mean' and len(self.feat_stages) > 1
        self.mgd_stages = resolve_stages(cfg.mgd_stages, n_student, 'distill.mgd_stages')
        self.generators = None
        if cfg.mgd_weight > 0:
            self.generators = nn.ModuleList(
                MaskedGenerator(student.feature_channels[i], teacher.feature_channels[i],
                                keep=1.0 - cfg.mgd_mask_ratio)
                for i in self.mgd_stages
            )

    def students(self) -> dict[str, nn.Module]:
        """The single-modality student is the exported model."""
        return {'model': self.student}

    def teachers(self) -> list[nn.Module]:
        """The frozen RGB-D teacher."""
        return [self.teacher]

    def forward(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """CE + logit KD + feature KD + MGD (each only when its weight is > 0)."""
        cfg = self.cfg
        label = batch['label']
        size = tuple(label.shape[-2:])
        modalities = tuple(dict.fromkeys(self.teacher.modalities + self.student.modalities))
        norm, teacher_norm = normalization_of(self.student), normalization_of(self.teacher)
        inputs = make_inputs(batch, modalities, normalization=norm)
        student_feats = self.student.forward_features(inputs)
        student_logits = self.student.decode(student_feats, size)
        parts = {'ce': segmentation_ce(student_logits, label)}
        weights = {'ce': 1.0, 'kl': cfg.logit_weight, 'feat': cfg.feat_weight,
                   'mgd': cfg.mgd_weight}
        if cfg.logit_weight > 0 or cfg.feat_weight > 0 or cfg.mgd_weight > 0:
            with torch.no_grad():
                teacher_in = (inputs if teacher_norm == norm else  # a teacher keeps its own
                              make_inputs(batch, self.teacher.modalities,
                                          normalization=teacher_norm))
                teacher_feats = self.teacher.forward_features(teacher_in)
                teacher_logits = (
                    self.teacher.decode(teacher_feats, size) if cfg.logit_weight > 0 else None
                )
            parts.update(logit_and_feature_terms(
                cfg, label, student_logits, student_feats, teacher_logits, teacher_feats,
                self.aligners, self.feat_stages, self.select))
            if self.generators is not None:
                mgd = [
                    feature_mse(gen(student_feats[i], tuple(teacher_feats[i].shape[-2:])),
                                teacher_feats[i], cfg.feat_normalize).mean()
                    for gen, i in zip(self.generators, self.mgd_stages)
                ]
                parts['mgd'] = torch.stack(mgd).mean()
        return weighted(parts, weights)
