# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Side branches that map a student's stage feature onto a teacher's stage feature.

They are used only in the loss (the student's decoder consumes the un-aligned features) and are
dropped when the student is exported.

- ``conv1x1``: a 1x1 convolution ``C_s -> C_t`` (PrimKD's default aligner; FitNets' regressor).
- ``masked``: 1x1 convolution, a random per-pixel keep mask, then 3x3 conv, ReLU, 3x3 conv
  (PrimKD Table 5 "multilayer"). With ``keep = 1 - mask_ratio`` the same module is the MGD
  generator (Yang et al., "Masked Generative Distillation", ECCV 2022).

When the student map has another spatial size than the teacher's, the output is resized
bilinearly to the teacher's ``(H, W)``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
import torch.nn.functional as F

from training.config import KNOWN_ALIGNERS


class Conv1x1Aligner(nn.Module):
    """``[B, C_s, h, w] -> [B, C_t, H, W]`` by a 1x1 convolution (and resize when needed)."""

    def __init__(self, student_channels: int, teacher_channels: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(student_channels, teacher_channels, kernel_size=1)

    def forward(self, x: Tensor, size: tuple[int, int] | None = None) -> Tensor:
        """Align ``x``; ``size`` is the teacher map's ``(H, W)`` (default: keep)."""
        y = self.proj(x)
        if size is not None and tuple(y.shape[-2:]) != tuple(size):
            y = F.interpolate(y, size=size, mode='bilinear', align_corners=False)
        return y


class MaskedGenerator(nn.Module):
    """
    1x1 conv, random pixel mask (training only), 3x3 conv, ReLU, 3x3 conv.

    ``keep`` is the probability that a pixel survives the mask (PrimKD multilayer: 0.75; MGD:
    ``1 - mask_ratio``). In eval mode nothing is masked.
    """

    def __init__(self, student_channels: int, teacher_channels: int, keep: float = 0.75) -> None:
        super().__init__()
        if not 0.0 < keep <= 1.0:
            raise ValueError(f'keep must be in (0, 1], got {keep}')
        self.keep = float(keep)
        self.proj = nn.Conv2d(student_channels, teacher_channels, kernel_size=1)
        self.generate = nn.Sequential(
            nn.Conv2d(teacher_channels, teacher_channels, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(teacher_channels, teacher_channels, kernel_size=3, padding=1),
        )

    def forward(self, x: Tensor, size: tuple[int, int] | None = None) -> Tensor:
        """Reconstruct the teacher map ``[B, C_t, H, W]`` from the masked student map."""
        y = self.proj(x)
        if size is not None and tuple(y.shape[-2:]) != tuple(size):
            y = F.interpolate(y, size=size, mode='bilinear', align_corners=False)
        if self.training and self.keep < 1.0:
            b, _, h, w = y.shape
            mask = (torch.rand(b, 1, h, w, device=y.device) < self.keep).to(y.dtype)
            y = y * mask
        return self.generate(y)


def create_aligner(
    kind: str, student_channels: int, teacher_channels: int, keep: float = 0.75
) -> nn.Module:
    """Build an aligner by name (``KNOWN_ALIGNERS``, owned by ``training/config.py``)."""
    if kind == 'conv1x1':
        return Conv1x1Aligner(student_channels, teacher_channels)
    if kind == 'masked':
        return MaskedGenerator(student_channels, teacher_channels, keep)
    assert kind not in KNOWN_ALIGNERS, f'aligner {kind!r} is known but has no builder'
    raise ValueError(f'unknown aligner {kind!r}; expected one of {KNOWN_ALIGNERS}')
