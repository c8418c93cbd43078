# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""Losses against values computed by hand on tiny tensors."""

import math

import pytest
import torch

from training.losses import (
    coarse_segmentation_ce,
    feature_mse,
    info_nce,
    invariance_distance,
    kl_distillation,
    orthogonality,
    pooled_cosine,
    segmentation_ce,
    stage_feature_loss,
)


def _logits(*pixels):
    """Class logits per pixel -> [1, K, 1, P]."""
    return torch.tensor(pixels, dtype=torch.float64).t().reshape(1, len(pixels[0]), 1, -1)


def test_kl_distillation_closed_form():
    # pixel 0: teacher (1/2, 1/2), student (1/4, 3/4); pixel 1: identical distributions.
    student = _logits([0.0, math.log(3.0)], [1.0, 2.0])
    teacher = _logits([0.0, 0.0], [1.0, 2.0])
    kl0 = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    assert kl_distillation(student, teacher).item() == pytest.approx(kl0 / 2, rel=1e-6)
    valid = torch.tensor([[[True, False]]])
    assert kl_distillation(student, teacher, valid_mask=valid).item() == pytest.approx(
        kl0, rel=1e-6)
    none = torch.zeros(1, 1, 2, dtype=torch.bool)
    assert kl_distillation(student, teacher, valid_mask=none).item() == 0.0


def test_kl_distillation_temperature_scales_by_t_squared():
    # T = 2: teacher logits (0, 2 ln 3) -> (1/4, 3/4); student (0, 0) -> (1/2, 1/2).
    teacher = _logits([0.0, 2 * math.log(3.0)])
    student = _logits([0.0, 0.0])
    kl = 0.25 * math.log(0.25 / 0.5) + 0.75 * math.log(0.75 / 0.5)
    assert kl_distillation(student, teacher, temperature=2.0).item() == pytest.approx(
        4 * kl, rel=1e-6)


def test_kl_distillation_gradient_only_reaches_student():
    student = torch.zeros(1, 3, 2, 2, requires_grad=True)
    teacher = torch.randn(1, 3, 2, 2, requires_grad=True)
    kl_distillation(student, teacher).backward()
    assert student.grad is not None and student.grad.abs().sum() > 0
    assert teacher.grad is None


def test_kl_distillation_rejects_shape_mismatch():
    with pytest.raises(ValueError, match='same shape'):
        kl_distillation(torch.zeros(1, 3, 2, 2), torch.zeros(1, 3, 4, 4))


def _stage_pair():
    # Stage 1 [2, 1, 1, 2]: sample 0 differs by (1, 1) -> MSE 1; sample 1 equal -> 0.
    # Stage 2 [2, 2, 1, 1]: sample 0 equal -> 0; sample 1 differs by (2, 0) -> MSE 2.
    s1 = torch.tensor([[[[1.0, 1.0]]], [[[0.0, 0.0]]]])
    s2 = torch.tensor([[[[0.0]], [[0.0]]], [[[2.0]], [[0.0]]]])
    return [s1, s2], [torch.zeros_like(s1), torch.zeros_like(s2)]


@pytest.mark.parametrize('select, expected', [
    ('max', (1.0 + 2.0) / 2),  # per sample max: 1, 2
    ('min', 0.0),  # per sample min: 0, 0
    ('mean', (0.5 + 1.0) / 2),  # per sample mean: 0.5, 1
    ('stage:1', 0.5),
    ('stage:2', 1.0),
])
def test_stage_feature_loss_selection_per_sample(select, expected):
    student, teacher = _stage_pair()
    assert stage_feature_loss(student, teacher, select).item() == pytest.approx(expected)


def test_stage_feature_loss_selection_is_per_sample_not_per_batch():
    # A per-batch max would pick stage 2 (batch mean 1 vs 0.5) and give 1.0, not 1.5.
    student, teacher = _stage_pair()
    assert stage_feature_loss(student, teacher, 'max').item() != pytest.approx(1.0)


def test_stage_feature_loss_bad_selection():
    student, teacher = _stage_pair()
    with pytest.raises(ValueError, match='stage:K'):
        stage_feature_loss(student, teacher, 'median')
    with pytest.raises(ValueError, match='1..2'):
        stage_feature_loss(student, teacher, 'stage:3')
    with pytest.raises(ValueError, match='align it first'):
        stage_feature_loss([torch.zeros(1, 2, 2, 2)], [torch.zeros(1, 3, 2, 2)])


def test_info_nce_closed_form():
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # cos similarities = identity; each row: -log(e^(1/T) / (e^(1/T) + e^0)).
    assert info_nce(a, a.clone(), temperature=1.0).item() == pytest.approx(
        math.log(1 + math.exp(-1.0)), rel=1e-6)
    assert info_nce(a, a.clone(), temperature=0.5).item() == pytest.approx(
        math.log(1 + math.exp(-2.0)), rel=1e-6)
    # Embeddings are L2-normalised: scaling a row changes nothing.
    assert info_nce(3 * a, a, temperature=0.5).item() == pytest.approx(
        math.log(1 + math.exp(-2.0)), rel=1e-6)


def test_info_nce_is_symmetric_with_asymmetric_similarities():
    # a0.b0 = 1, a0.b1 = 0, a1.b0 = 0.6, a1.b1 = 0.8 (all unit vectors), T = 1.
    a = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    b = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    row = (-math.log(math.e / (math.e + 1)) - math.log(math.exp(0.8) / (math.exp(0.6)
           + math.exp(0.8)))) / 2
    col = (-math.log(math.e / (math.e + math.exp(0.6))) - math.log(math.exp(0.8) / (1
           + math.exp(0.8)))) / 2
    assert info_nce(a, b, temperature=1.0).item() == pytest.approx((row + col) / 2, rel=1e-6)


def test_orthogonality_closed_form():
    # position 0: inv (1, 0), spec (0, 1) -> cos 0; position 1: inv (1, 1), spec (1, 0) ->
    # cos 1/sqrt(2) -> cos^2 = 1/2. Mean over the two positions: 1/4.
    inv = torch.tensor([[1.0, 1.0], [0.0, 1.0]]).reshape(1, 2, 1, 2)
    spec = torch.tensor([[0.0, 1.0], [1.0, 0.0]]).reshape(1, 2, 1, 2)
    assert orthogonality(inv, spec).item() == pytest.approx(0.25, rel=1e-6)
    assert orthogonality(inv, inv).item() == pytest.approx(1.0, rel=1e-6)
    assert orthogonality(inv, -inv).item() == pytest.approx(1.0, rel=1e-6)


def test_pooled_cosine_closed_form():
    # pooled inv (1, 0), pooled spec (1, 1)/... -> |cos| = 1/sqrt(2)
    inv = torch.tensor([1.0, 0.0]).reshape(1, 2, 1, 1).expand(1, 2, 2, 2)
    spec = torch.tensor([3.0, 3.0]).reshape(1, 2, 1, 1).expand(1, 2, 2, 2)
    assert pooled_cosine(inv, spec).item() == pytest.approx(1 / math.sqrt(2), rel=1e-6)


def test_segmentation_ce_ignores_and_upsamples():
    # Two pixels, K = 2, logits (0, ln 3) -> p(class 1) = 3/4; second pixel ignored.
    logits = _logits([0.0, math.log(3.0)], [5.0, -5.0]).float()
    label = torch.tensor([[[1, 255]]])
    assert segmentation_ce(logits, label).item() == pytest.approx(-math.log(0.75), rel=1e-6)
    all_ignored = torch.full((1, 1, 2), 255)
    assert segmentation_ce(logits, all_ignored).item() == 0.0
    # Logits at half resolution are upsampled to the label size.
    small = torch.zeros(1, 3, 2, 2)
    assert segmentation_ce(small, torch.zeros(1, 4, 4, dtype=torch.long)).item() == (
        pytest.approx(math.log(3.0), rel=1e-6))


@pytest.mark.parametrize('temperature', [1.0, 2.0])
def test_kl_distillation_gradient_is_t_times_probability_gap(temperature):
    # d/dz_s [T^2 KL(p_t || softmax(z_s / T))] = T (softmax(z_s / T) - p_t), per pixel, / N.
    g = torch.Generator().manual_seed(1)
    student = torch.randn(2, 4, 3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    teacher = torch.randn(2, 4, 3, 3, generator=g, dtype=torch.float64)
    kl_distillation(student, teacher, temperature).backward()
    n = 2 * 3 * 3
    expected = temperature * (torch.softmax(student.detach() / temperature, 1)
                              - torch.softmax(teacher / temperature, 1)) / n
    assert torch.allclose(student.grad, expected, rtol=1e-5, atol=1e-8)  # fp32 softmax


def test_feature_mse_normalisations_closed_form():
    # C = 2, one position: teacher (3, 1), student (1, 3).
    teacher = torch.tensor([3.0, 1.0]).reshape(1, 2, 1, 1)
    student = torch.tensor([1.0, 3.0]).reshape(1, 2, 1, 1)
    assert feature_mse(student, teacher).item() == pytest.approx(4.0)  # ((2)^2 + (2)^2) / 2
    # relative: 4 / mean(9, 1) = 0.8
    assert feature_mse(student, teacher, 'teacher_ms').item() == pytest.approx(0.8)
    # per-position standardisation: teacher -> (1, -1), student -> (-1, 1): MSE 4
    assert feature_mse(student, teacher, 'layernorm').item() == pytest.approx(4.0, rel=1e-4)


def test_feature_mse_normalised_scales_are_backbone_independent():
    g = torch.Generator().manual_seed(0)
    teacher = torch.randn(3, 8, 4, 4, generator=g)
    student = torch.randn(3, 8, 4, 4, generator=g)
    for mode in ('teacher_ms', 'layernorm'):
        a = feature_mse(student, teacher, mode)
        b = feature_mse(10.0 * student, 10.0 * teacher, mode)
        assert torch.allclose(a, b, rtol=1e-4), mode
    # a student predicting zeros: relative error exactly 1 per sample
    zeros = feature_mse(torch.zeros_like(teacher), teacher, 'teacher_ms')
    assert torch.allclose(zeros, torch.ones(3))
    # the student under an affine map per position is perfect after layer norm
    assert feature_mse(3.0 * teacher + 2.0, teacher, 'layernorm').max().item() < 1e-6
    with pytest.raises(ValueError, match='normalisation'):
        feature_mse(student, teacher, 'batch')


def test_stage_feature_loss_uses_the_normalisation():
    # stage 1 per sample: teacher ones, student 0 or 1 -> relative errors 1, 0.
    teacher = [torch.ones(2, 2, 1, 1), 2.0 * torch.ones(2, 2, 1, 1)]
    student = [torch.tensor([0.0, 1.0]).reshape(2, 1, 1, 1).expand(2, 2, 1, 1),
               torch.zeros(2, 2, 1, 1)]
    # stage 2: relative error 1 for both samples; 'none' would be 4.
    assert stage_feature_loss(student, teacher, 'max', 'teacher_ms').item() == pytest.approx(1.0)
    assert stage_feature_loss(student, teacher, 'max').item() == pytest.approx(4.0)


def test_invariance_distance_closed_form_and_gradients():
    # position 0: a (1, 0), b (1, 1); position 1: a (0, 2), b (0, 2).
    a = torch.tensor([[1.0, 0.0], [0.0, 2.0]]).reshape(1, 2, 1, 2).requires_grad_(True)
    b = torch.tensor([[1.0, 0.0], [1.0, 2.0]]).reshape(1, 2, 1, 2).requires_grad_(True)
    mse = invariance_distance(a, b, 'mse')
    assert mse.item() == pytest.approx(1.0 / 4)  # one unit difference among 4 values
    cos = invariance_distance(a, b, 'cos')
    assert cos.item() == pytest.approx(((1 - 1 / math.sqrt(2)) + 0.0) / 2, rel=1e-6)
    (mse + cos).backward()
    assert a.grad.abs().sum() > 0 and b.grad.abs().sum() > 0  # both encoders are pulled
    with pytest.raises(ValueError, match='distance'):
        invariance_distance(a, b, 'l1')


def test_coarse_segmentation_ce_uses_cell_class_fractions():
    # One 2x2 cell (reduction 2), labels 0, 0, 1, ignore -> target (2/3, 1/3).
    label = torch.tensor([[[0, 0], [1, 255]]])
    zeros = torch.zeros(1, 2, 1, 1)
    assert coarse_segmentation_ce(zeros, label, 2).item() == pytest.approx(math.log(2.0))
    logits = torch.tensor([0.0, math.log(2.0)]).reshape(1, 2, 1, 1)  # q = (1/3, 2/3)
    expected = -(2 / 3 * math.log(1 / 3) + 1 / 3 * math.log(2 / 3))
    assert coarse_segmentation_ce(logits, label, 2).item() == pytest.approx(expected, rel=1e-6)
    # A 3-pixel-wide label padded to 2 cells of 2: the second cell holds one labelled pixel
    # (class 1) and its padding; an all-ignored cell would be left out.
    label = torch.tensor([[[0, 0, 1], [0, 0, 255]]])
    logits = torch.zeros(1, 2, 1, 2)
    logits[0, 1, 0, 1] = math.log(3.0)  # cell 2: q(1) = 3/4; cell 1: target class 0, q = 1/2
    expected = (math.log(2.0) - math.log(0.75)) / 2
    assert coarse_segmentation_ce(logits, label, 2).item() == pytest.approx(expected, rel=1e-6)
    ignored = torch.full((1, 2, 3), 255)
    assert coarse_segmentation_ce(logits, ignored, 2).item() == 0.0
    with pytest.raises(ValueError, match='not covered'):
        coarse_segmentation_ce(torch.zeros(1, 2, 1, 1), torch.zeros(1, 4, 4, dtype=torch.long), 2)


def test_orthogonality_before_and_after_relu():
    # Pre-activation halves of opposite signs: inv (1, -1), spec (-1, 1) -> cos^2 = 1. After
    # ReLU they become (1, 0) and (0, 1): disjoint channels, cos^2 = 0, although the
    # pre-activation halves are anti-parallel.
    inv_pre = torch.tensor([1.0, -1.0]).reshape(1, 2, 1, 1)
    spec_pre = -inv_pre
    assert orthogonality(inv_pre, spec_pre).item() == pytest.approx(1.0)
    assert orthogonality(torch.relu(inv_pre), torch.relu(spec_pre)).item() == 0.0
