# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Training methods as task objects: supervised, primkd, cmkd, crodino.

``create_task(cfg)`` builds the models of a ``TrainConfig`` (student(s), frozen teacher, side
branches) into one ``Task``; ``task(batch)`` returns ``{'loss': ..., <named parts>}``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
import logging

from torch import nn

from training.config import TrainConfig
from training.methods.base import Task
from training.methods.cmkd import CrossModalKDTask
from training.methods.crodino import CrodinoTask
from training.methods.primkd import PrimKDTask
from training.methods.supervised import SupervisedTask

LOG = logging.getLogger(__name__)

__all__ = ['CrodinoTask', 'CrossModalKDTask', 'PrimKDTask', 'SupervisedTask', 'Task',
           'create_task', 'load_teacher']


def load_teacher(path: str, method: str) -> nn.Module:
    """Load a frozen teacher checkpoint on the CPU; a clear error when it is not set or found."""
    from rgbd_seg_ros.core.checkpoint import load_checkpoint

    if not path:
        raise ValueError(
            f'method {method!r} needs a teacher checkpoint: add --set distill.teacher=PATH '
            '(a model.safetensors written by an earlier training run)'
        )
    model, _ = load_checkpoint(path, 'cpu')
    LOG.info('teacher %s reads %s', path, tuple(model.modalities))
    return model


def _supervised(cfg: TrainConfig) -> Task:
    from rgbd_seg_ros.core.models import create_model

    return SupervisedTask(create_model(cfg.model))


def _primkd(cfg: TrainConfig) -> Task:
    from rgbd_seg_ros.core.models import create_model

    teacher = load_teacher(cfg.distill.teacher, 'primkd')
    return PrimKDTask(create_model(cfg.model), teacher, cfg.distill, cfg.distill.teacher)


def _cmkd(cfg: TrainConfig) -> Task:
    from rgbd_seg_ros.core.models import create_model

    teacher = load_teacher(cfg.distill.teacher, 'cmkd')
    return CrossModalKDTask(create_model(cfg.model), teacher, cfg.distill, cfg.distill.teacher)


def _crodino(cfg: TrainConfig) -> Task:
    from rgbd_seg_ros.core.models import create_model

    rgb_model = create_model(replace(cfg.model, modality='rgb'))
    depth_model = create_model(replace(cfg.model, modality=cfg.model.depth_modality))
    return CrodinoTask(rgb_model, depth_model, cfg.crodino)


_BUILDERS: dict[str, Callable[[TrainConfig], Task]] = {
    'supervised': _supervised,
    'primkd': _primkd,
    'cmkd': _cmkd,
    'crodino': _crodino,
}


def create_task(cfg: TrainConfig) -> Task:
    """Build the task of ``cfg.method`` (models on the CPU, in training mode)."""
    if cfg.method not in _BUILDERS:
        raise ValueError(f'unknown method {cfg.method!r}; expected one of {tuple(_BUILDERS)}')
    return _BUILDERS[cfg.method](cfg).train()
