# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""Tiny checkpoints (random resnet18 + light decoder) shared by the ROS tests of one session."""

from pathlib import Path

import pytest
from ros_test_helpers import CAMERA_HEIGHT, CAMERA_WIDTH


def _save(path: Path, labels, **model_kwargs) -> Path:
    from rgbd_seg_ros.core.checkpoint import save_checkpoint
    from rgbd_seg_ros.core.models import ModelConfig, create_model

    cfg = ModelConfig(backbone='resnet18', num_classes=labels.num_classes, decoder='light',
                      embed_dim=32, **model_kwargs)
    meta = {'labels': labels, 'input_size': (CAMERA_HEIGHT, CAMERA_WIDTH),
            'provenance': {'method': 'random-init test model'}}
    return save_checkpoint(path, create_model(cfg), meta)


@pytest.fixture(scope='session')
def tiny_checkpoints(tmp_path_factory) -> dict[str, Path]:
    """Paths of 'fusion' (rgb+hha), 'rgb', 'depth' (hha) and 'rgb_other_classes' checkpoints."""
    import torch

    from rgbd_seg_ros.core.labels import LabelSet
    from rgbd_seg_ros.sim import SYNTHETIC_LABELS

    torch.manual_seed(0)
    root = tmp_path_factory.mktemp('checkpoints')
    other = LabelSet('other', ('a', 'b', 'c'), ((1, 2, 3), (4, 5, 6), (7, 8, 9)))
    return {
        'fusion': _save(root / 'fusion.safetensors', SYNTHETIC_LABELS, arch='fusion',
                        fusion='se_add', depth_modality='hha'),
        'rgb': _save(root / 'rgb.safetensors', SYNTHETIC_LABELS, modality='rgb'),
        'depth': _save(root / 'depth.safetensors', SYNTHETIC_LABELS, modality='hha'),
        'rgb_other_classes': _save(root / 'rgb_other.safetensors', other, modality='rgb'),
    }
