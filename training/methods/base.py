# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The training-task interface shared by all methods.

A task is an ``nn.Module`` that owns the trained models (``students``), any frozen ``teacher``
and the loss-only side branches (aligners, projection heads, auxiliary decoders). Its
``forward(batch)`` returns a dict with the total ``'loss'`` and the named, weighted parts, the
shape of timm's distillation ``TrainingTask``. Models themselves return logits and features only;
every loss is computed here.
"""

from __future__ import annotations

from collections.abc import Sequence
import logging

import torch
from torch import Tensor, nn

from rgbd_seg_ros.core.preprocess import Normalization, build_inputs, normalize_image

LOG = logging.getLogger(__name__)


class Task(nn.Module):
    """Base class: students are trained, teachers stay frozen in eval mode."""

    #: DDP must tolerate parameters without gradient in a step (e.g. unselected aligners).
    find_unused_parameters: bool = False

    def students(self) -> dict[str, nn.Module]:
        """Trained models to export, by checkpoint name (``'model'``, or ``'rgb'``/``'depth'``)."""
        raise NotImplementedError

    def teachers(self) -> list[nn.Module]:
        """Frozen models (never trained, never exported)."""
        return []

    def train(self, mode: bool = True) -> Task:
        """Set training mode on everything except the teachers, which stay in eval mode."""
        super().train(mode)
        for teacher in self.teachers():
            teacher.eval()
        return self

    def trainable_state_dict(self) -> dict[str, Tensor]:
        """State of everything but the teachers (what a resume needs)."""
        skip = tuple(f'{name}.' for name, mod in self.named_children() if mod in self.teachers())
        return {k: v for k, v in self.state_dict().items() if not k.startswith(skip)}

    def forward(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """Losses of one batch: ``{'loss': total, '<part>': weighted part, ...}``."""
        raise NotImplementedError


def freeze(model: nn.Module) -> nn.Module:
    """Teacher set-up: no gradients, eval mode."""
    model.requires_grad_(False)
    return model.eval()


def normalization_of(model: nn.Module) -> Normalization:
    """A model's input normalisation (``SegmentationNet.normalization``; else ImageNet)."""
    norm = getattr(model, 'normalization', None)
    return norm if isinstance(norm, Normalization) else Normalization()


def make_inputs(
    batch: dict[str, Tensor], modalities: Sequence[str], depth_key: str = 'depth_m',
    k_key: str = 'K', normalization: Normalization | None = None,
) -> dict[str, Tensor]:
    """
    Network inputs for ``modalities`` through ``core.preprocess.build_inputs``.

    ``normalization`` is the model's own (``model.normalization``: its initial weights'
    mean/std); default ImageNet mean/std.

    ``depth_key``/``k_key`` pick the depth map and intrinsics (CroDiNo-KD's decoupled depth
    branch uses ``depth_m`` with ``depth_K``).
    A cached HHA image in the batch (``data.hha_cache``) is normalised instead of recomputed.
    """
    modalities = tuple(modalities)
    cached = 'hha' in modalities and 'hha' in batch
    computed = tuple(m for m in modalities if not (cached and m == 'hha'))
    norm = normalization or Normalization()
    inputs = build_inputs(batch['rgb'], batch.get(depth_key), batch.get(k_key), computed,
                          valid=batch.get('valid'), normalization=norm)
    if cached:
        inputs['hha'] = normalize_image(batch['hha'], norm)
    return inputs


def weighted(parts: dict[str, Tensor], weights: dict[str, float]) -> dict[str, Tensor]:
    """Scale each computed part by its weight and add the sum as ``'loss'``."""
    out: dict[str, Tensor] = {}
    total: Tensor | None = None
    for name, value in parts.items():
        term = value * float(weights.get(name, 1.0))
        out[name] = term
        total = term if total is None else total + term
    if total is None:
        raise ValueError('a task produced no loss term; at least one weight must be > 0')
    out['loss'] = total
    return out


def check_same_classes(student: nn.Module, teacher: nn.Module, teacher_path: str) -> None:
    """Raise when the teacher predicts another number of classes than the student."""
    s = getattr(getattr(student, 'cfg', None), 'num_classes', None)
    t = getattr(getattr(teacher, 'cfg', None), 'num_classes', None)
    if s is not None and t is not None and s != t:
        raise ValueError(
            f'teacher {teacher_path} predicts {t} classes but the student {s}; train the teacher '
            'on the same label set'
        )


def pool(x: Tensor) -> Tensor:
    """Global average pooling ``[B, C, H, W] -> [B, C]``."""
    return torch.flatten(x.mean(dim=(2, 3)), 1)
