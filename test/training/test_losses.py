# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""Losses against values computed by hand on tiny tensors."""

import math

import pytest
import torch

from training.losses import (
    info_nce,
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
