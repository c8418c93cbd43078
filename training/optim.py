# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Optimiser and learning-rate schedule of the training loop.

AdamW with a no-decay group (biases, norms) and a per-iteration warm-up + poly schedule.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from training.config import OptimConfig


def param_groups(module: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """
    AdamW groups: decay on conv/linear weights (ndim >= 2), none on biases and norm parameters.

    Frozen parameters (teachers) are left out.
    """
    decay, no_decay = [], []
    for _, p in module.named_parameters():
        if not p.requires_grad:
            continue
        (decay if p.ndim >= 2 else no_decay).append(p)
    return [
        {'params': decay, 'weight_decay': weight_decay},
        {'params': no_decay, 'weight_decay': 0.0},
    ]


def create_optimizer(module: nn.Module, cfg: OptimConfig) -> torch.optim.AdamW:
    """AdamW over the trainable parameters of ``module`` (the fused kernel: ~2x faster on CPU)."""
    groups = param_groups(module, cfg.weight_decay)
    try:
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, fused=True)
    except (RuntimeError, TypeError):  # a device without the fused kernel
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps)


def lr_at(step: int, cfg: OptimConfig, max_iters: int) -> float:
    """
    Learning rate of iteration ``step`` (0-based).

    Linear warm-up from ``warmup_start * lr`` to ``lr`` over ``warmup_iters`` steps, then
    ``min_lr + (lr - min_lr) * (1 - progress) ** poly_power`` with progress 0 -> 1 over the rest.
    """
    if step < cfg.warmup_iters:
        factor = cfg.warmup_start + (1.0 - cfg.warmup_start) * step / cfg.warmup_iters
        return cfg.lr * factor
    span = max(1, max_iters - cfg.warmup_iters)
    progress = min(1.0, (step - cfg.warmup_iters) / span)
    return cfg.min_lr + (cfg.lr - cfg.min_lr) * (1.0 - progress) ** cfg.poly_power


