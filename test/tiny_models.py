# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Tiny random-init checkpoints for tests: the one builder (``save_tiny_checkpoint``); conftest's
``tiny_checkpoint`` / ``tiny_checkpoints`` fixtures share them across a session.
"""

from pathlib import Path


def save_tiny_checkpoint(path: Path, labels=None, input_size=(48, 64), seed: int = 0,
                         backbone: str = 'resnet18', embed_dim: int = 32, provenance=None,
                         **model_kwargs) -> Path:
    """
    A random-init checkpoint (``backbone`` + light decoder, no training) of ``labels``
    (default ``SYNTHETIC_LABELS``) at ``input_size`` (H, W); ``model_kwargs`` go to
    ``ModelConfig`` (``modality='rgb'``, ``arch='fusion', fusion='se_add'``, ...).
    """
    import torch

    from rgbd_seg_ros.core.checkpoint import save_checkpoint
    from rgbd_seg_ros.core.models import ModelConfig, create_model
    from rgbd_seg_ros.sim import SYNTHETIC_LABELS

    labels = SYNTHETIC_LABELS if labels is None else labels
    torch.manual_seed(seed)
    cfg = ModelConfig(backbone=backbone, num_classes=labels.num_classes, decoder='light',
                      embed_dim=embed_dim, **model_kwargs)
    meta = {'labels': labels, 'input_size': tuple(input_size),
            'provenance': {'method': 'random-init test model'} if provenance is None
            else provenance}
    return save_checkpoint(path, create_model(cfg), meta)
