# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""Plain supervised training of one model (RGB, depth/HHA or RGB-D fusion) with cross-entropy."""

from __future__ import annotations

from torch import Tensor, nn

from training.losses import segmentation_ce
from training.methods.base import Task, make_inputs, normalization_of


class SupervisedTask(Task):
    """``loss = CE(student(inputs), label)``; the inputs are the student's own modalities."""

    def __init__(self, student: nn.Module) -> None:
        super().__init__()
        self.student = student

    def students(self) -> dict[str, nn.Module]:
        """The one exported model."""
        return {'model': self.student}

    def forward(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """Cross-entropy of the student's logits against ``batch['label']``."""
        inputs = make_inputs(batch, self.student.modalities,
                             normalization=normalization_of(self.student))
        ce = segmentation_ce(self.student(inputs), batch['label'])
        return {'loss': ce, 'ce': ce}
