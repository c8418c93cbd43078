# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
``dropout_sd``: one fusion model trained to work with and without depth, the full-input
prediction teaching the missing-depth one (self-distillation, as in MaskMentor-style modality
dropout training; no separate teacher).

Every batch runs twice through the same student: with its depth, and with depth missing
(``core.depth.missing_depth``: every pixel invalid; a cached HHA image becomes
``core.hha.MISSING_HHA``), the input the node's one-model fallback feeds it::

    loss = CE(full) + CE(missing) + w * T^2 * KL(softmax(full / T) || softmax(missing / T))

with the full-input distribution detached (``w`` = ``distill.logit_weight``, ``T`` =
``distill.temperature``). The checkpoint's method says that it was trained for missing depth
(``core.model_set.trained_without_depth``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rgbd_seg_ros.core.hha import MISSING_HHA
from training.config import DistillConfig
from training.losses import kl_distillation, segmentation_ce
from training.methods.base import Task, make_inputs, normalization_of


def without_depth(batch: dict[str, Tensor]) -> dict[str, Tensor]:
    """``batch`` with depth missing: ``depth_m`` 0, ``valid`` false, a cached ``hha`` constant."""
    out = dict(batch)
    out['depth_m'] = torch.zeros_like(batch['depth_m'])
    if 'valid' in batch:
        out['valid'] = torch.zeros_like(batch['valid'])
    if 'hha' in batch:
        value = torch.tensor(MISSING_HHA, dtype=batch['hha'].dtype, device=batch['hha'].device)
        out['hha'] = value.view(1, 3, 1, 1).expand_as(batch['hha']).clone()
    return out


class DepthDropoutSDTask(Task):
    """A fusion student, with and without depth, self-distilled (see the module docstring)."""

    def __init__(self, student: nn.Module, cfg: DistillConfig) -> None:
        super().__init__()
        if 'hha' not in student.modalities and 'depth' not in student.modalities:
            raise ValueError(f'dropout_sd trains a model that reads depth, got '
                             f'{tuple(student.modalities)}')
        self.student = student
        self.weight = float(cfg.logit_weight)
        self.temperature = float(cfg.temperature)

    def students(self) -> dict[str, nn.Module]:
        """The one exported model."""
        return {'model': self.student}

    def forward(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """The loss of both passes and the self-distillation term (module docstring)."""
        norm = normalization_of(self.student)
        mods = self.student.modalities
        full = self.student(make_inputs(batch, mods, normalization=norm))
        missing = self.student(make_inputs(without_depth(batch), mods, normalization=norm))
        ce_full = segmentation_ce(full, batch['label'])
        ce_missing = segmentation_ce(missing, batch['label'])
        sd = kl_distillation(missing, full.detach(), self.temperature)
        loss = ce_full + ce_missing + self.weight * sd
        return {'loss': loss, 'ce': ce_full, 'ce_missing': ce_missing, 'sd': sd}
