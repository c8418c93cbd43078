# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""Baseline and distilled runs of one seed start from the same student weights (issue 12)."""

import torch

from rgbd_seg_ros.core.checkpoint import save_checkpoint
from rgbd_seg_ros.core.models import ModelConfig, create_model
from rgbd_seg_ros.sim import SYNTHETIC_LABELS
from training.config_io import load_config
from training.methods import create_task

K = SYNTHETIC_LABELS.num_classes
TINY = [f'model.num_classes={K}', 'model.backbone=test_convnext', 'model.decoder=light',
        'model.embed_dim=16', 'model.ffm_head_dim=8', 'train.seed=3']


def _cfg(name, *sets):
    return load_config(f'training/configs/{name}.yaml', TINY + list(sets))


def _teacher(tmp_path, **model):
    torch.manual_seed(123)  # any weights: only the student's init is compared
    cfg = ModelConfig(backbone='test_convnext', num_classes=K, decoder='light', embed_dim=16,
                      ffm_head_dim=8, **model)
    path = tmp_path / 'teacher.safetensors'
    save_checkpoint(path, create_model(cfg), {'labels': SYNTHETIC_LABELS,
                                              'input_size': (64, 80), 'provenance': {}})
    return path


def _same(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    return all(torch.equal(sa[k], sb[k]) for k in sa)


def test_distilled_students_start_where_their_baselines_start(tmp_path):
    rgb = create_task(_cfg('synthetic_rgb')).students()['model']
    rgbd = create_task(_cfg('synthetic_rgbd')).students()['model']
    depth = create_task(_cfg('synthetic_depth')).students()['model']
    torch.manual_seed(999)  # whatever ran before must not matter
    fusion_teacher = _teacher(tmp_path, arch='fusion')
    cmkd = create_task(_cfg('synthetic_cmkd_rgb', f'distill.teacher={fusion_teacher}'))
    assert _same(cmkd.students()['model'], rgb)
    rgb_teacher = _teacher(tmp_path)
    primkd = create_task(_cfg('synthetic_primkd', f'distill.teacher={rgb_teacher}'))
    assert _same(primkd.students()['model'], rgbd)
    crodino = create_task(_cfg('synthetic_crodino')).students()
    assert _same(crodino['rgb'], rgb) and _same(crodino['depth'], depth)


def test_another_seed_gives_other_weights():
    a = create_task(_cfg('synthetic_rgb')).students()['model']
    b = create_task(_cfg('synthetic_rgb', 'train.seed=4')).students()['model']
    assert not _same(a, b)
