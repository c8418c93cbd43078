# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""Every method through ``training.train.main`` on tiny settings, and the tasks' contracts."""

from dataclasses import replace
import math

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


# --------------------------------------------------------------------------------------------
# Issue 12 design switches


def _crodino(cfg=None, backbone='test_convnext'):
    small = {**SMALL, 'backbone': backbone}
    torch.manual_seed(0)
    rgb = create_model(ModelConfig(**small))
    depth = create_model(ModelConfig(**small, modality='hha'))
    return CrodinoTask(rgb, depth, cfg or CrodinoConfig())


def _grads(loss, module):
    params = [p for p in module.parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    return sum(0.0 if g is None else g.abs().sum().item() for g in grads)


@pytest.mark.parametrize('detach', [False, True])
def test_crodino_mixup_detach_other_stops_the_cross_gradient(detach):
    cfg = replace(CrodinoConfig(), mixup_detach_other=detach, ortho_weight=0.0,
                  contrast_weight=0.0, aux_weight=0.0)
    task = _crodino(cfg)
    out = task(_batch(decoupled=True))
    # The RGB CE reaches the depth encoder only through the mixed-in depth invariant half.
    cross = _grads(out['ce_rgb'], task.depth_model.encoder)
    assert (cross == 0.0) if detach else (cross > 0.0)
    assert _grads(out['ce_rgb'], task.rgb_model.encoder) > 0.0
    assert _grads(out['ce_depth'], task.depth_model.encoder) > 0.0


def test_crodino_mixup_lambda_floor():
    own, other = torch.ones(4000, 1, 1, 1), torch.zeros(4000, 1, 1, 1)
    task = _crodino(replace(CrodinoConfig(), mixup_lambda_min=0.5))
    lam = task._mix(own, other).flatten()  # = lambda itself
    assert lam.min().item() >= 0.5 and lam.max().item() <= 1.0
    assert lam.mean().item() == pytest.approx(0.75, abs=0.01)  # U(0.5, 1)
    assert torch.equal(_crodino(replace(CrodinoConfig(), mixup_lambda_min=1.0))._mix(own, other),
                       own)
    # The default floor 0 draws lambda ~ U(0, 1) with the same random numbers as before.
    task = _crodino()
    torch.manual_seed(3)
    expected = torch.rand(5, 1, 1, 1)
    torch.manual_seed(3)
    assert torch.equal(task._mix(torch.ones(5, 1, 1, 1), torch.zeros(5, 1, 1, 1)), expected)
    with pytest.raises(ValueError, match='mixup_lambda_min'):
        CrodinoConfig(mixup_lambda_min=1.5)


@pytest.mark.parametrize('distance', ['mse', 'cos'])
def test_crodino_invariance_term_pulls_both_encoders(distance):
    cfg = replace(CrodinoConfig(), invariance_weight=2.0, invariance_distance=distance)
    task = _crodino(cfg)
    out = task(_batch(decoupled=True))
    assert 'invariance' in out and out['invariance'].item() > 0.0
    assert _grads(out['invariance'], task.rgb_model.encoder) > 0.0
    assert _grads(out['invariance'], task.depth_model.encoder) > 0.0
    assert _grads(out['invariance'], task.rgb_model.decoder) == 0.0
    assert 'invariance' not in _crodino()(_batch(decoupled=True))  # off by default


def test_crodino_invariance_needs_shared_geometry():
    from training.config_io import load_config

    with pytest.raises(ValueError, match='invariance_weight'):
        load_config(None, ['method=crodino', 'model.arch=single', 'data.decoupled=True',
                           "data.decoupled_geometry='independent'", 'crodino.mixup=False',
                           'crodino.invariance_weight=1.0'])


def test_crodino_aux_resolution_feature_scores_cells():
    cfg = replace(CrodinoConfig(), aux_resolution='feature', ortho_weight=0.0,
                  contrast_weight=0.0)
    task = _crodino(cfg)
    batch = _batch(decoupled=True)
    # A label constant over each 32x32 cell of the 64x80 (padded 64x96) input: at the feature
    # scale the targets are one-hot, so zero aux logits give exactly 4 * ln(K).
    r = task.rgb_model.feature_reductions[-1]
    cells = torch.arange(2 * 3).reshape(1, 2, 3) % K
    label = cells.repeat_interleave(r, 1).repeat_interleave(r, 2)[:, :64, :80].expand(2, -1, -1)
    batch['label'] = label.contiguous()
    batch['depth_label'] = label.contiguous()
    head = task.aux_decoder.head[-1]
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
    out = task(batch)
    assert out['aux'].item() == pytest.approx(4 * math.log(K), rel=1e-5)
    with pytest.raises(ValueError, match='aux_resolution'):
        CrodinoConfig(aux_resolution='input')


def test_crodino_ortho_preact_reads_the_last_relu_input():
    from training.losses import orthogonality
    from training.methods.crodino import find_final_activation

    task = _crodino(replace(CrodinoConfig(), ortho_preact=True), backbone='test_resnet')
    rgb, depth = task.rgb_model, task.depth_model
    acts = [m.encoder.backbone.layer4[-1].act2 for m in (rgb, depth)]  # timm BasicBlock
    assert find_final_activation(rgb.encoder) is acts[0]
    assert task._final_acts == tuple(acts)
    # The test's own capture of the ReLU inputs and outputs, independent of the task's hooks.
    seen, outputs = [], []
    handles = [a.register_forward_pre_hook(lambda m, x: seen.append(x[0].clone()))
               for a in acts]
    handles += [a.register_forward_hook(lambda m, x, y: outputs.append(y.detach().clone()))
                for a in acts]
    batch = _batch(decoupled=True)
    out = task(batch)
    for h in handles:
        h.remove()
    pre_rgb, pre_depth = seen
    assert (pre_rgb < 0).any() and (pre_depth < 0).any()  # really before the ReLU
    # The deepest features the decoders saw are the ReLU of these inputs.
    assert torch.equal(torch.relu(pre_rgb), outputs[0])
    assert torch.equal(torch.relu(pre_depth), outputs[1])
    half = pre_rgb.shape[1] // 2
    expected = (orthogonality(pre_rgb[:, :half], pre_rgb[:, half:])
                + orthogonality(pre_depth[:, :half], pre_depth[:, half:]))
    assert out['ortho'].item() == pytest.approx(expected.item(), rel=1e-5)
    post_relu = (orthogonality(outputs[0][:, :half], outputs[0][:, half:])
                 + orthogonality(outputs[1][:, :half], outputs[1][:, half:]))
    assert out['ortho'].item() != pytest.approx(post_relu.item(), rel=1e-3)
    out['ortho'].backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in rgb.encoder.backbone.layer4.parameters())
    # The hooks exist only during the task's forward: the exported model carries none.
    assert all(not a._forward_pre_hooks and not a._forward_hooks for a in acts)


def test_crodino_ortho_preact_construction_leaves_the_models_unchanged():
    torch.manual_seed(0)
    rgb = create_model(ModelConfig(**{**SMALL, 'backbone': 'test_resnet'}))
    depth = create_model(ModelConfig(**{**SMALL, 'backbone': 'test_resnet'}, modality='hha'))
    before = {k: v.clone() for k, v in rgb.state_dict().items()}
    rgb.train()
    CrodinoTask(rgb, depth, replace(CrodinoConfig(), ortho_preact=True))
    assert rgb.training
    after = rgb.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # probe ran in eval mode


def test_crodino_ortho_preact_without_final_activation_is_the_default():
    # ConvNeXt stages end in a residual sum: the output is already pre-activation.
    batch = _batch(decoupled=True)
    torch.manual_seed(5)
    pre = _crodino(replace(CrodinoConfig(), ortho_preact=True))
    assert pre._final_acts == (None, None)
    torch.manual_seed(5)
    a = pre(batch)['ortho']
    torch.manual_seed(5)
    b = _crodino()(batch)['ortho']
    assert a.item() == pytest.approx(b.item(), rel=1e-6)


class _FixedFeatures(torch.nn.Module):
    """A stand-in model whose deepest feature is a given tensor."""

    def __init__(self, modality, deepest):
        super().__init__()
        self.modalities = (modality,)
        self.deepest = deepest

    def forward_features(self, inputs):
        return [self.deepest]


def test_invariant_similarity_closed_form():
    from training.methods.crodino import invariant_similarity

    # C = 4 (inv = channels 0-1, spec = 2-3), 2 samples, one position each.
    # inv_rgb: s0 (1, 0), s1 (0, 1); inv_depth: s0 (1, 1), s1 (0, 1)
    # spec_rgb: (1, 0) both; spec_depth: (0, 1) both -> cos 0.
    rgb = torch.tensor([[1.0, 0, 1, 0], [0, 1, 1, 0]]).reshape(2, 4, 1, 1)
    depth = torch.tensor([[1.0, 1, 0, 1], [0, 1, 0, 1]]).reshape(2, 4, 1, 1)
    rgb_model, depth_model = _FixedFeatures('rgb', rgb), _FixedFeatures('hha', depth)
    rgb_model.train()
    depth_model.eval()
    stats = invariant_similarity(rgb_model, depth_model, _batch())
    s = 1 / math.sqrt(2)
    assert stats['inv_cos'] == pytest.approx((s + 1) / 2, rel=1e-6)
    assert stats['spec_cos'] == pytest.approx(0.0, abs=1e-7)
    assert stats['inv_cos_pooled'] == pytest.approx((s + 1) / 2, rel=1e-6)
    # other scenes: s0 rgb (1, 0) vs s1 depth (0, 1) -> 0; s1 rgb (0, 1) vs s0 depth (1, 1)
    assert stats['inv_cos_other'] == pytest.approx(s / 2, rel=1e-6)
    assert rgb_model.training and not depth_model.training  # modes restored


def test_invariant_similarity_on_real_models():
    from training.methods.crodino import invariant_similarity

    task = _crodino()
    task.train()
    stats = invariant_similarity(task.rgb_model, task.depth_model, _batch(decoupled=True))
    assert set(stats) == {'inv_cos', 'spec_cos', 'inv_cos_pooled', 'inv_cos_other'}
    assert all(-1.0 <= v <= 1.0 for v in stats.values())
    assert task.rgb_model.training and task.depth_model.training


def _zero_conv(conv):
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.zero_()


def _standardised_mean_square(t, eps=1e-5):
    """Mean square of a per-position layer-normed map: mean of var / (var + eps)."""
    var = t.double().var(dim=1, unbiased=False)
    return (var / (var + eps)).mean().item()


@pytest.mark.parametrize('mode', ['teacher_ms', 'layernorm'])
def test_feat_normalize_gives_the_relative_scale(mode):
    # An aligner/generator that outputs zeros: relative squared error 1 ('teacher_ms'); under
    # layer norm a zero map stays zero, so the loss is the standardised teacher's mean square
    # (var / (var + eps) per position, ~1 whatever the feature scale).
    from training.methods.base import make_inputs

    teacher = create_model(ModelConfig(**SMALL, arch='fusion'))
    cfg = DistillConfig(logit_weight=0.0, feat_weight=1.0, mgd_weight=1.0, feat_select='mean',
                        feat_normalize=mode, mgd_mask_ratio=0.5)
    task = CrossModalKDTask(create_model(ModelConfig(**SMALL)), teacher, cfg)
    for aligner in task.aligners:
        _zero_conv(aligner.proj)
    for gen in task.generators:
        _zero_conv(gen.generate[-1])
    batch = _batch()
    with torch.no_grad():
        feats = teacher.forward_features(make_inputs(batch, teacher.modalities))
    if mode == 'teacher_ms':
        expected_feat = expected_mgd = 1.0
    else:
        per_stage = [_standardised_mean_square(t) for t in feats]
        expected_feat, expected_mgd = sum(per_stage) / len(per_stage), per_stage[-1]
    out = task(batch)
    assert out['feat'].item() == pytest.approx(expected_feat, rel=1e-4)
    assert out['mgd'].item() == pytest.approx(expected_mgd, rel=1e-4)
    rgb_teacher = create_model(ModelConfig(**SMALL))
    primkd = PrimKDTask(create_model(ModelConfig(**SMALL, arch='fusion')), rgb_teacher,
                        replace(cfg, mgd_weight=0.0, feat_select='max'))
    for aligner in primkd.aligners:
        _zero_conv(aligner.proj)
    with torch.no_grad():
        t_feats = rgb_teacher.forward_features(make_inputs(batch, ('rgb',)))
    if mode == 'teacher_ms':
        expected = 1.0
    else:  # per sample, the stage with the largest value; then the batch mean
        table = torch.tensor([[_standardised_mean_square(t[b:b + 1]) for t in t_feats]
                              for b in range(2)])
        expected = table.max(dim=1).values.mean().item()
    assert primkd(batch)['feat'].item() == pytest.approx(expected, rel=1e-4)


def test_feat_normalize_none_is_the_plain_mse():
    teacher = create_model(ModelConfig(**SMALL, arch='fusion'))
    cfg = DistillConfig(logit_weight=0.0, feat_weight=1.0, feat_select='stage:4')
    task = CrossModalKDTask(create_model(ModelConfig(**SMALL)), teacher, cfg)
    _zero_conv(task.aligners[0].proj)
    batch = _batch()
    from training.methods.base import make_inputs

    with torch.no_grad():
        t = teacher.forward_features(make_inputs(batch, teacher.modalities))[-1]
    # zero student map: the plain MSE is the teacher's mean square
    assert task(batch)['feat'].item() == pytest.approx(t.pow(2).mean().item(), rel=1e-5)
    with pytest.raises(ValueError, match='feat_normalize'):
        DistillConfig(feat_normalize='channel')


class _RecordingTeacher(_CountingTeacher):
    """Records the inputs the teacher is fed."""

    def forward_features(self, inputs):
        self.seen = {k: v.clone() for k, v in inputs.items()}
        return super().forward_features(inputs)


def test_a_teacher_keeps_its_own_normalization():
    from rgbd_seg_ros.core.preprocess import Normalization

    tf = Normalization(mean=(0.5,) * 3, std=(0.5,) * 3)
    batch = _batch()
    rgb01 = batch['rgb'].float() / 255.0
    teacher = _RecordingTeacher(create_model(ModelConfig(**SMALL)))
    teacher.normalization = tf  # e.g. an EfficientNet-Lite teacher from ImageNet
    task = PrimKDTask(create_model(ModelConfig(**SMALL, arch='fusion')), teacher,
                      DistillConfig(logit_weight=1.0, feat_weight=0.0))
    task(batch)
    assert torch.allclose(teacher.seen['rgb'], (rgb01 - 0.5) / 0.5, atol=1e-5)
    rgbd_teacher = _RecordingTeacher(create_model(ModelConfig(**SMALL, arch='fusion')))
    student = create_model(ModelConfig(**SMALL))
    student.normalization = tf
    CrossModalKDTask(student, rgbd_teacher, DistillConfig(logit_weight=1.0))(batch)
    mean = torch.tensor((0.485, 0.456, 0.406)).view(1, 3, 1, 1)
    std = torch.tensor((0.229, 0.224, 0.225)).view(1, 3, 1, 1)
    assert torch.allclose(rgbd_teacher.seen['rgb'], (rgb01 - mean) / std, atol=1e-4)


def test_a_missing_teacher_names_the_key_and_the_command(tmp_path, capsys):
    from training.train import main as train_main

    argv = ['--config', 'training/configs/synthetic_primkd.yaml', '--max-iters', '1',
            '--out', str(tmp_path / 'p'), '--set',
            f'distill.teacher={tmp_path / "synthetic" / "rgb" / "model.safetensors"}']
    assert train_main(argv) == 2
    err = capsys.readouterr().err
    assert 'distill.teacher: no checkpoint at' in err
    assert ('python -m training.train --config training/configs/synthetic_rgb.yaml --out '
            f'{tmp_path / "synthetic" / "rgb"}') in err


# ------------------------------------------------------------- dropout_sd (issue 40 item 2)

def test_dropout_sd_run_is_accepted_as_its_own_fallback(tmp_path, capsys):
    from rgbd_seg_ros.core.model_set import ModelSet

    assert _run(tmp_path, 'method=dropout_sd', 'model.arch=fusion') == 0
    text = (tmp_path / 'metrics.csv').read_text()
    assert ',train,ce_missing,' in text and ',train,sd,' in text
    models = ModelSet.from_paths(str(tmp_path / 'model.safetensors'), '',
                                 rgb_fallback='fusion_model')
    assert models.same_model_fallback
    assert _run(tmp_path / 'single', 'method=dropout_sd') == 2  # a single-modality model
    assert 'trains a fusion student' in capsys.readouterr().err


def test_dropout_sd_loss_in_closed_form():
    """loss = CE(full) + CE(missing) + w * KL(full || missing); the missing pass sees no depth."""
    from training.losses import kl_distillation, segmentation_ce
    from training.methods import DepthDropoutSDTask
    from training.methods.base import make_inputs
    from training.methods.selfdistill import without_depth

    torch.manual_seed(0)
    student = create_model(ModelConfig(**SMALL, arch='fusion'))
    task = DepthDropoutSDTask(student, DistillConfig(logit_weight=0.7, temperature=2.0)).eval()
    batch = _batch()
    out = task(batch)
    full = student(make_inputs(batch, student.modalities))
    missing_batch = without_depth(batch)
    assert not missing_batch['depth_m'].any() and not missing_batch['valid'].any()
    assert batch['depth_m'].all()  # the input batch is left as it was
    missing = student(make_inputs(missing_batch, student.modalities))
    expected = (segmentation_ce(full, batch['label']) + segmentation_ce(missing, batch['label'])
                + 0.7 * kl_distillation(missing, full, 2.0))
    torch.testing.assert_close(out['loss'], expected)
    # the full-input prediction is the teacher: no gradient flows into it through the KL term
    task.zero_grad()
    out['sd'].backward()
    grads = [p.grad for p in student.parameters() if p.grad is not None]
    assert grads  # the missing-depth pass gets the gradient
    cached = dict(batch, hha=torch.full((2, 3, 64, 80), 7, dtype=torch.uint8))
    assert (without_depth(cached)['hha'][:, 0] == 255).all()
