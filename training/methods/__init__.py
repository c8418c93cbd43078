# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Training methods as task objects: supervised, primkd, cmkd, crodino, dropout_sd.

``create_task(cfg)`` builds the models of a ``TrainConfig`` (student(s), frozen teacher, side
branches) into one ``Task``; ``task(batch)`` returns ``{'loss': ..., <named parts>}``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
import logging
from pathlib import Path

import torch
from torch import nn

from rgbd_seg_ros.core.models import ModelConfig
from training.config import TrainConfig
from training.methods.base import Task
from training.methods.cmkd import CrossModalKDTask
from training.methods.crodino import CrodinoTask
from training.methods.primkd import PrimKDTask
from training.methods.selfdistill import DepthDropoutSDTask
from training.methods.supervised import SupervisedTask

LOG = logging.getLogger(__name__)
CONFIGS = Path(__file__).resolve().parents[1] / 'configs'

__all__ = ['CrodinoTask', 'CrossModalKDTask', 'DepthDropoutSDTask', 'PrimKDTask',
           'SupervisedTask', 'Task', 'create_task', 'load_teacher', 'student_model']


def _teacher_hint(path: str) -> str:
    """How to get the teacher ``path`` names: the command of the config that writes it."""
    p = Path(path)
    # runs/<dataset>/<name>/model.safetensors is what training/configs/<dataset>_<name>.yaml
    # writes with --out runs/<dataset>/<name>
    config = CONFIGS / f'{p.parent.parent.name}_{p.parent.name}.yaml'
    if p.name == 'model.safetensors' and config.is_file():
        return (f'Train the teacher first: python -m training.train --config '
                f'training/configs/{config.name} --out {p.parent}, or point '
                '--set distill.teacher=PATH at a checkpoint you have.')
    return ('Train the teacher first (python -m training.train --config ... --out DIR writes '
            'DIR/model.safetensors), then --set distill.teacher=DIR/model.safetensors.')


def load_teacher(path: str, method: str) -> nn.Module:
    """Load a frozen teacher checkpoint on the CPU; a clear error when it is not set or found."""
    from rgbd_seg_ros.core.checkpoint import load_checkpoint

    if not path:
        raise ValueError(
            f'method {method!r} needs a teacher checkpoint: add --set distill.teacher=PATH '
            '(a model.safetensors written by an earlier training run)'
        )
    if not Path(path).is_file():
        raise ValueError(f'distill.teacher: no checkpoint at {path}. {_teacher_hint(path)}')
    model, _ = load_checkpoint(path, 'cpu')
    LOG.info('teacher %s reads %s', path, tuple(model.modalities))
    return model


def student_model(model_cfg: ModelConfig, seed: int) -> nn.Module:
    """
    A student whose initial weights depend only on ``(model_cfg, seed)``.

    The model is built under its own seeded RNG (the global RNG is left as it was), so the
    baseline and every distilled run of one seed start from the same weights, whatever is built
    before it (a teacher loaded first, the other CroDiNo-KD model, aligners).
    """
    from rgbd_seg_ros.core.models import create_model
    from training.imagenet import resolve_pretrained

    resolved, normalization, _ = resolve_pretrained(model_cfg)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        model = create_model(resolved)
    # the checkpoint keeps 'imagenet' (provenance names the package), not a local cache path
    model.cfg = model_cfg
    model.normalization = normalization
    return model


def _supervised(cfg: TrainConfig) -> Task:
    return SupervisedTask(student_model(cfg.model, cfg.train.seed))


def _primkd(cfg: TrainConfig) -> Task:
    teacher = load_teacher(cfg.distill.teacher, 'primkd')
    return PrimKDTask(student_model(cfg.model, cfg.train.seed), teacher, cfg.distill,
                      cfg.distill.teacher)


def _cmkd(cfg: TrainConfig) -> Task:
    teacher = load_teacher(cfg.distill.teacher, 'cmkd')
    return CrossModalKDTask(student_model(cfg.model, cfg.train.seed), teacher, cfg.distill,
                            cfg.distill.teacher)


def _crodino(cfg: TrainConfig) -> Task:
    rgb_model = student_model(replace(cfg.model, modality='rgb'), cfg.train.seed)
    depth_model = student_model(replace(cfg.model, modality=cfg.model.depth_modality),
                                cfg.train.seed)
    return CrodinoTask(rgb_model, depth_model, cfg.crodino)


def _dropout_sd(cfg: TrainConfig) -> Task:
    return DepthDropoutSDTask(student_model(cfg.model, cfg.train.seed), cfg.distill)


_BUILDERS: dict[str, Callable[[TrainConfig], Task]] = {
    'supervised': _supervised,
    'primkd': _primkd,
    'cmkd': _cmkd,
    'crodino': _crodino,
    'dropout_sd': _dropout_sd,
}


def create_task(cfg: TrainConfig) -> Task:
    """Build the task of ``cfg.method`` (models on the CPU, in training mode)."""
    if cfg.method not in _BUILDERS:
        raise ValueError(f'unknown method {cfg.method!r}; expected one of {tuple(_BUILDERS)}')
    return _BUILDERS[cfg.method](cfg).train()
