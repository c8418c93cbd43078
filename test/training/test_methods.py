# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""Every method through ``training.train.main`` on tiny settings, and the tasks' contracts."""

from dataclasses import replace

import pytest
import torch

from rgbd_seg_ros.core.checkpoint import inspect_checkpoint, load_checkpoint, save_checkpoint
from rgbd_seg_ros.core.models import ModelConfig, create_model
from rgbd_seg_ros.sim import SYNTHETIC_LABELS
from training.config import CrodinoConfig, DistillConfig
from training.methods import CrodinoTask, CrossModalKDTask, PrimKDTask
from training.train import main

K = SYNTHETIC_LABELS.num_classes
TINY = [
    f'model.num_classes={K}', 'model.backbone=test_convnext', 'model.decoder=light',
    'model.embed_dim=16', 'model.decoder_dropout=0.0', 'model.ffm_head_dim=8',
    'data.size=(64, 80)', 'data.crop_size=(64, 80)', 'data.scales=(0.75, 1.0)',
    'data.synthetic_val_length=2', 'train.batch_size=2', 'train.num_workers=0',
    'train.val_batch_size=2', 'train.max_iters=2', 'train.eval_every=2',
    'train.checkpoint_every=0',
]
SMALL = dict(backbone='test_convnext', num_classes=K, decoder='light', embed_dim=16,
             decoder_dropout=0.0, ffm_head_dim=8)


def _run(out, *sets):
    argv = ['--out', str(out)]
    for item in TINY + list(sets):
        argv += ['--set', item]
    return main(argv)


def _teacher(tmp_path, name, **cfg):
    """An untrained teacher checkpoint (distillation only needs its outputs)."""
    model = create_model(ModelConfig(**{**SMALL, **cfg}))
    path = tmp_path / f'{name}.safetensors'
    save_checkpoint(path, model, {'labels': SYNTHETIC_LABELS, 'input_size': (64, 80),
                                  'provenance': {}})
    return path


def _batch(b=2, h=64, w=80, decoupled=False):
    g = torch.Generator().manual_seed(0)
    k = torch.tensor([[60.0, 0, 39.5], [0, 60.0, 31.5], [0, 0, 1]]).expand(b, 3, 3)
    batch = {
        'rgb': torch.randint(0, 256, (b, 3, h, w), dtype=torch.uint8, generator=g),
        'depth_m': 1.0 + 3.0 * torch.rand(b, 1, h, w, generator=g),
        'valid': torch.ones(b, 1, h, w, dtype=torch.bool),
        'label': torch.randint(0, K, (b, h, w), generator=g),
        'K': k.clone(),
    }
    if decoupled:
        batch['depth_label'] = batch['label'].flip(-1)
        batch['depth_K'] = k.clone()
    return batch


@pytest.mark.parametrize('modality', ['rgb', 'hha'])
def test_supervised_single(tmp_path, modality):
    assert _run(tmp_path, 'method=supervised', f'model.modality={modality}') == 0
    model, meta = load_checkpoint(tmp_path / 'model.safetensors')
    assert meta.modalities == (modality,)
    assert meta.provenance['method'] == 'supervised'
    assert 0.0 <= meta.provenance['metrics']['val_miou'] <= 1.0
    for name in ('config.yaml', 'metrics.csv', 'train.log', 'last.safetensors'):
        assert (tmp_path / name).exists(), name


def test_supervised_fusion(tmp_path):
    assert _run(tmp_path, 'model.arch=fusion', 'train.max_iters=1', 'train.eval_every=1') == 0
    _, meta = load_checkpoint(tmp_path / 'model.safetensors')
    assert meta.modalities == ('rgb', 'hha')


def test_primkd_run(tmp_path):
    teacher = _teacher(tmp_path, 'teacher_rgb')
    assert _run(tmp_path / 'run', 'method=primkd', 'model.arch=fusion',
                f'distill.teacher={teacher}', 'distill.aligner=masked') == 0
    _, meta = load_checkpoint(tmp_path / 'run' / 'model.safetensors')
    assert meta.modalities == ('rgb', 'hha')
    text = (tmp_path / 'run' / 'metrics.csv').read_text()
    assert ',train,kl,' in text and ',train,feat,' in text


@pytest.mark.parametrize('modality', ['rgb', 'hha'])
def test_cmkd_run(tmp_path, modality):
    teacher = _teacher(tmp_path, 'teacher_rgbd', arch='fusion')
    assert _run(tmp_path / 'run', 'method=cmkd', f'model.modality={modality}',
                f'distill.teacher={teacher}', 'distill.temperature=2.0',
                'distill.mgd_weight=0.5', 'distill.kl_exclude_ignore=True',
                'distill.feat_select=mean') == 0
    _, meta = load_checkpoint(tmp_path / 'run' / 'model.safetensors')
    assert meta.modalities == (modality,)
    text = (tmp_path / 'run' / 'metrics.csv').read_text()
    assert ',train,kl,' in text and ',train,feat,' in text and ',train,mgd,' in text


@pytest.mark.parametrize('geometry, mixup', [('shared', True), ('independent', False)])
def test_crodino_run(tmp_path, geometry, mixup):
    assert _run(tmp_path, 'method=crodino', 'data.decoupled=True',
                f"data.decoupled_geometry='{geometry}'", f'crodino.mixup={mixup}') == 0
    rgb, rgb_meta = load_checkpoint(tmp_path / 'rgb.safetensors')
    depth, depth_meta = load_checkpoint(tmp_path / 'depth.safetensors')
    assert rgb_meta.modalities == ('rgb',) and depth_meta.modalities == ('hha',)
    assert not (tmp_path / 'model.safetensors').exists()
    text = (tmp_path / 'metrics.csv').read_text()
    for part in ('ce_rgb', 'ce_depth', 'ortho', 'contrast', 'aux'):
        assert f',train,{part},' in text, part
    assert 'val/rgb,miou' in text and 'val/depth,miou' in text


def test_missing_teacher_is_a_clear_error(tmp_path, capsys):
    assert _run(tmp_path, 'method=primkd', 'model.arch=fusion') == 2
    assert 'distill.teacher=PATH' in capsys.readouterr().err


def test_wrong_teacher_modality_is_refused(tmp_path):
    rgbd = _teacher(tmp_path, 'rgbd', arch='fusion')
    student = create_model(ModelConfig(**SMALL, arch='fusion'))
    teacher, _ = load_checkpoint(rgbd)
    with pytest.raises(ValueError, match='single-modality teacher'):
        PrimKDTask(student, teacher, DistillConfig(), str(rgbd))
    depth_only = create_model(ModelConfig(**SMALL, modality='depth'))  # not a student input
    with pytest.raises(ValueError, match='single-modality teacher'):
        PrimKDTask(student, depth_only, DistillConfig())
    rgb_teacher = create_model(ModelConfig(**SMALL))
    with pytest.raises(ValueError, match='RGB-D'):
        CrossModalKDTask(create_model(ModelConfig(**SMALL)), rgb_teacher, DistillConfig())
    other = create_model(ModelConfig(**{**SMALL, 'num_classes': 3}))
    with pytest.raises(ValueError, match='classes'):
        PrimKDTask(student, other, DistillConfig())


class _CountingTeacher(torch.nn.Module):
    """Wraps a model and counts forward_features calls."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.calls = 0
        self.modalities = model.modalities
        self.feature_channels = model.feature_channels
        self.cfg = model.cfg

    def forward_features(self, inputs):
        self.calls += 1
        return self.model.forward_features(inputs)

    def decode(self, feats, size):
        return self.model.decode(feats, size)


def test_zero_weights_skip_teacher_and_branches():
    teacher = _CountingTeacher(create_model(ModelConfig(**SMALL, arch='fusion')))
    cfg = DistillConfig(logit_weight=0.0, feat_weight=0.0, mgd_weight=0.0)
    task = CrossModalKDTask(create_model(ModelConfig(**SMALL)), teacher, cfg)
    assert task.aligners is None and task.generators is None
    out = task(_batch())
    assert teacher.calls == 0 and set(out) == {'loss', 'ce'}
    rgb_teacher = _CountingTeacher(create_model(ModelConfig(**SMALL)))
    task = PrimKDTask(create_model(ModelConfig(**SMALL, arch='fusion')), rgb_teacher,
                      DistillConfig(logit_weight=0.0, feat_weight=0.1, feat_select='stage:2'))
    out = task(_batch())
    assert rgb_teacher.calls == 1 and set(out) == {'loss', 'ce', 'feat'}
    assert len(task.aligners) == 1  # a fixed stage builds only its own aligner


def test_primkd_accepts_a_depth_teacher():
    # PrimKD Table 1: the teacher may be trained on depth; it reads the student's HHA stream.
    teacher = _CountingTeacher(create_model(ModelConfig(**SMALL, modality='hha')))
    task = PrimKDTask(create_model(ModelConfig(**SMALL, arch='fusion')), teacher,
                      DistillConfig())
    out = task(_batch())
    assert teacher.calls == 1 and set(out) == {'loss', 'ce', 'kl', 'feat'}


def test_teacher_frozen_in_eval_and_parts_add_up():
    teacher = create_model(ModelConfig(**SMALL))
    task = PrimKDTask(create_model(ModelConfig(**SMALL, arch='fusion')), teacher,
                      DistillConfig(logit_weight=1.0, feat_weight=0.1))
    task.train()
    assert task.training and task.student.training and not task.teacher.training
    out = task(_batch())
    assert out['loss'].item() == pytest.approx(
        (out['ce'] + out['kl'] + out['feat']).item(), rel=1e-6)
    out['loss'].backward()
    assert all(p.grad is None for p in task.teacher.parameters())
    assert any(p.grad is not None for p in task.student.parameters())
    assert not any(k.startswith('teacher.') for k in task.trainable_state_dict())


def test_crodino_exported_model_is_plain_segmentor():
    rgb = create_model(ModelConfig(**SMALL))
    depth = create_model(ModelConfig(**SMALL, modality='hha'))
    task = CrodinoTask(rgb, depth, CrodinoConfig())
    batch = _batch(decoupled=True)
    out = task(batch)
    assert set(out) == {'loss', 'ce_rgb', 'ce_depth', 'ortho', 'contrast', 'aux'}
    total = sum(v for k, v in out.items() if k != 'loss')
    assert out['loss'].item() == pytest.approx(total.item(), rel=1e-6)
    # At test time each model uses its own invariant part: decode(concat(inv, spec)) is the
    # plain forward, so the exported checkpoint needs no CroDiNo code.
    from training.methods.base import make_inputs
    from training.methods.crodino import split_parts

    task.eval()
    with torch.no_grad():
        inputs = make_inputs(batch, ('rgb',))
        feats = rgb.forward_features(inputs)
        inv, spec = split_parts(feats[-1])
        rebuilt = rgb.decode(feats[:-1] + [torch.cat([inv, spec], 1)], (64, 80))
        assert torch.equal(rebuilt, rgb(inputs))


def test_crodino_weights_zero_skip_branches():
    rgb = create_model(ModelConfig(**SMALL))
    depth = create_model(ModelConfig(**SMALL, modality='hha'))
    cfg = replace(CrodinoConfig(), ortho_weight=0.0, contrast_weight=0.0, aux_weight=0.0,
                  mixup=False)
    task = CrodinoTask(rgb, depth, cfg)
    assert not hasattr(task, 'aux_decoder') and not hasattr(task, 'rgb_projection')
    assert set(task(_batch(decoupled=True))) == {'loss', 'ce_rgb', 'ce_depth'}


def test_last_checkpoint_is_inspectable(tmp_path):
    assert _run(tmp_path, 'train.max_iters=1', 'train.eval_every=0') == 0
    info = inspect_checkpoint(tmp_path / 'last.safetensors')
    assert info['metadata']['provenance']['resume']['step'] == 1
    assert any(n.startswith('extra/optimizer/') for n in info['extra_tensors'])
