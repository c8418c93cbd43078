# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Loss functions of the training methods, as pure functions of tensors.

Nothing here owns parameters: aligners, projection heads and decoders live in
``training/methods``; these functions only compare tensors. Teacher-side tensors are treated as
constants (detached), so a loss never sends gradients into a frozen teacher.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
import torch.nn.functional as F

from rgbd_seg_ros.core.labels import IGNORE_INDEX

KNOWN_STAGE_SELECTIONS = ('max', 'min', 'mean', 'stage:K')
KNOWN_FEATURE_NORMS = ('none', 'layernorm', 'teacher_ms')
KNOWN_INVARIANCE_DISTANCES = ('mse', 'cos')


def segmentation_ce(logits: Tensor, label: Tensor, ignore_index: int = IGNORE_INDEX) -> Tensor:
    """
    Pixel-wise cross-entropy, averaged over labelled pixels.

    ``logits`` ``[B, K, h, w]`` are upsampled bilinearly to the label size ``[B, H, W]`` when the
    sizes differ. A batch without any labelled pixel gives 0 (still connected to the graph).
    """
    if logits.dim() != 4 or label.dim() != 3:
        raise ValueError(
            f'segmentation_ce expects logits [B, K, H, W] and label [B, H, W], got '
            f'{tuple(logits.shape)} and {tuple(label.shape)}'
        )
    if logits.shape[-2:] != label.shape[-2:]:
        logits = F.interpolate(logits, size=label.shape[-2:], mode='bilinear', align_corners=False)
    valid = label != ignore_index
    if not bool(valid.any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits.float(), label.long(), ignore_index=ignore_index)


def kl_distillation(
    student_logits: Tensor,
    teacher_logits: Tensor,
    temperature: float = 1.0,
    valid_mask: Tensor | None = None,
) -> Tensor:
    """
    Per-pixel KL(teacher || student) over classes, averaged over pixels, times ``temperature**2``.

    Both logits are ``[B, K, H, W]`` of the same shape. Class probabilities are softmaxes of
    ``logits / temperature``. ``valid_mask`` (bool ``[B, H, W]``) restricts the average to its
    true pixels; without it all ``B * H * W`` pixels count (PrimKD's released code). With
    ``temperature=1`` the T² factor is 1, which is PrimKD's loss exactly. No valid pixel gives 0.
    """
    if student_logits.shape != teacher_logits.shape or student_logits.dim() != 4:
        raise ValueError(
            'kl_distillation expects student and teacher logits of the same shape [B, K, H, W], '
            f'got {tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}'
        )
    if temperature <= 0:
        raise ValueError(f'temperature must be positive, got {temperature}')
    t = float(temperature)
    log_p_student = F.log_softmax(student_logits.float() / t, dim=1)
    log_p_teacher = F.log_softmax(teacher_logits.detach().float() / t, dim=1)
    kl = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(dim=1)  # [B, H, W]
    if valid_mask is None:
        return kl.mean() * (t * t)
    if valid_mask.shape != kl.shape:
        raise ValueError(
            f'valid_mask must be [B, H, W] = {tuple(kl.shape)}, got {tuple(valid_mask.shape)}'
        )
    valid = valid_mask.to(torch.bool)
    count = valid.sum()
    if int(count) == 0:
        return student_logits.sum() * 0.0
    return (kl * valid).sum() / count * (t * t)


def _parse_selection(select: str, num_stages: int) -> int | None:
    """Return the 0-based fixed stage for ``'stage:K'`` (K 1-based), else None; validate names."""
    if select in ('max', 'min', 'mean'):
        return None
    if select.startswith('stage:'):
        try:
            k = int(select.split(':', 1)[1])
        except ValueError:
            k = 0
        if not 1 <= k <= num_stages:
            raise ValueError(
                f'feature selection {select!r}: K must be an integer in 1..{num_stages} '
                '(stages are counted from 1, shallowest first)'
            )
        return k - 1
    raise ValueError(
        f'unknown feature selection {select!r}; expected one of {KNOWN_STAGE_SELECTIONS}'
    )


def feature_mse(student: Tensor, teacher: Tensor, normalize: str = 'none') -> Tensor:
    """
    Per-sample squared error of two ``[B, C, H, W]`` maps, averaged over ``C, H, W``: ``[B]``.

    ``normalize`` sets the scale (``distill.feat_normalize``):

    - ``'none'``: the plain MSE (PrimKD's released code);
    - ``'layernorm'``: both maps are normalised per position over channels to zero mean and unit
      variance (a LayerNorm without affine, eps 1e-5) before the MSE, as the MiT/SegFormer
      stage outputs PrimKD's beta was tuned on are LayerNorm-ed tokens; the value lies in
      ``[0, 4]`` whatever the backbone's feature scale;
    - ``'teacher_ms'``: the MSE divided by the teacher map's mean square (per sample), i.e. the
      relative squared error: 1 for a student predicting zeros, invariant to a common rescale.

    The teacher map is detached.
    """
    if student.shape != teacher.shape or student.dim() != 4:
        raise ValueError(
            f'feature_mse expects two [B, C, H, W] maps of the same shape, got '
            f'{tuple(student.shape)} and {tuple(teacher.shape)}'
        )
    s, t = student.float(), teacher.detach().float()
    if normalize == 'layernorm':
        s = F.layer_norm(s.movedim(1, -1), (s.shape[1],)).movedim(-1, 1)
        t = F.layer_norm(t.movedim(1, -1), (t.shape[1],)).movedim(-1, 1)
    elif normalize not in ('none', 'teacher_ms'):
        raise ValueError(
            f'unknown feature normalisation {normalize!r}; expected one of {KNOWN_FEATURE_NORMS}'
        )
    mse = (s - t).pow(2).flatten(1).mean(dim=1)
    if normalize == 'teacher_ms':
        mse = mse / t.pow(2).flatten(1).mean(dim=1).clamp_min(1e-12)
    return mse


def per_stage_mse(
    student_feats: Sequence[Tensor], teacher_feats: Sequence[Tensor], normalize: str = 'none'
) -> Tensor:
    """
    Mean squared error over ``C, H, W`` for every sample and stage: ``[B, S]``.

    Stage ``i`` tensors are ``[B, C_i, H_i, W_i]`` and must match in shape (align the student
    first). Teacher features are detached. ``normalize`` as in ``feature_mse``.
    """
    if len(student_feats) != len(teacher_feats) or not student_feats:
        raise ValueError(
            f'need the same non-zero number of student and teacher stages, got '
            f'{len(student_feats)} and {len(teacher_feats)}'
        )
    losses = []
    for i, (s, t) in enumerate(zip(student_feats, teacher_feats)):
        if s.shape != t.shape:
            raise ValueError(
                f'stage {i + 1}: student feature {tuple(s.shape)} does not match teacher '
                f'{tuple(t.shape)}; align it first'
            )
        losses.append(feature_mse(s, t, normalize))
    return torch.stack(losses, dim=1)


def stage_feature_loss(
    student_feats: Sequence[Tensor],
    teacher_feats: Sequence[Tensor],
    select: str = 'max',
    normalize: str = 'none',
) -> Tensor:
    """
    PrimKD's selective feature loss.

    For each sample, ``L_i`` is the MSE over ``C, H, W`` between the (aligned) student and the
    teacher feature of stage ``i``. ``select`` picks per sample: ``'max'`` (PrimKD), ``'min'``,
    ``'mean'`` over stages, or ``'stage:K'`` (stage K, counted from 1). The picked values are
    averaged over the batch. ``normalize`` sets the scale of ``L_i`` (``feature_mse``). Returns a
    scalar.
    """
    per_sample = per_stage_mse(student_feats, teacher_feats, normalize)  # [B, S]
    fixed = _parse_selection(select, per_sample.shape[1])
    if fixed is not None:
        picked = per_sample[:, fixed]
    elif select == 'max':
        picked = per_sample.max(dim=1).values
    elif select == 'min':
        picked = per_sample.min(dim=1).values
    else:
        picked = per_sample.mean(dim=1)
    return picked.mean()


def info_nce(a: Tensor, b: Tensor, temperature: float = 0.1) -> Tensor:
    """
    Symmetric InfoNCE between row-paired embeddings ``a``, ``b`` ``[B, D]``.

    Rows are L2-normalised; similarities are cosines divided by ``temperature``. Row ``i`` of
    ``a`` is the positive of row ``i`` of ``b``; the other rows of the batch are negatives. The
    result is the mean of the a->b and b->a cross-entropies.
    """
    if a.dim() != 2 or a.shape != b.shape:
        raise ValueError(
            f'info_nce expects two [B, D] tensors of the same shape, got {tuple(a.shape)} and '
            f'{tuple(b.shape)}'
        )
    if temperature <= 0:
        raise ValueError(f'temperature must be positive, got {temperature}')
    a_n = F.normalize(a.float(), dim=1)
    b_n = F.normalize(b.float(), dim=1)
    logits = a_n @ b_n.t() / float(temperature)
    target = torch.arange(a.shape[0], device=a.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))


def orthogonality(inv: Tensor, spec: Tensor) -> Tensor:
    """
    Mean over positions of the squared cosine between two ``[B, C, H, W]`` feature maps.

    The cosine is taken over channels at each ``(b, y, x)``; 0 when the invariant and specific
    parts are orthogonal everywhere, 1 when parallel.
    """
    if inv.dim() != 4 or inv.shape != spec.shape:
        raise ValueError(
            f'orthogonality expects two [B, C, H, W] maps of the same shape, got '
            f'{tuple(inv.shape)} and {tuple(spec.shape)}'
        )
    cos = F.cosine_similarity(inv.float(), spec.float(), dim=1, eps=1e-8)
    return cos.pow(2).mean()


def pooled_cosine(inv: Tensor, spec: Tensor) -> Tensor:
    """
    Absolute cosine between globally average-pooled ``[B, C, H, W]`` maps, averaged over batch.

    DisCoM-KD's variant of the orthogonality constraint (an option in CroDiNo-KD's
    reconstruction): the pooled vectors, not every position, are pushed to be orthogonal.
    """
    if inv.dim() != 4 or inv.shape != spec.shape:
        raise ValueError(
            f'pooled_cosine expects two [B, C, H, W] maps of the same shape, got '
            f'{tuple(inv.shape)} and {tuple(spec.shape)}'
        )
    cos = F.cosine_similarity(inv.float().mean(dim=(2, 3)), spec.float().mean(dim=(2, 3)), dim=1)
    return cos.abs().mean()


def invariance_distance(a: Tensor, b: Tensor, distance: str = 'mse') -> Tensor:
    """
    Per-position distance between two ``[B, C, H, W]`` maps, averaged: a scalar.

    ``'mse'``: mean over ``B, C, H, W`` of ``(a - b)^2``; ``'cos'``: mean over ``B, H, W`` of
    ``1 - cos(a, b)`` with the cosine over channels (0 when parallel everywhere, 1 when
    orthogonal, 2 when opposite). Gradients reach both inputs (CroDiNo-KD's explicit invariance
    term pulls both encoders).
    """
    if a.dim() != 4 or a.shape != b.shape:
        raise ValueError(
            f'invariance_distance expects two [B, C, H, W] maps of the same shape, got '
            f'{tuple(a.shape)} and {tuple(b.shape)}'
        )
    if distance == 'mse':
        return (a.float() - b.float()).pow(2).mean()
    if distance == 'cos':
        return (1.0 - F.cosine_similarity(a.float(), b.float(), dim=1, eps=1e-8)).mean()
    raise ValueError(
        f'unknown invariance distance {distance!r}; expected one of {KNOWN_INVARIANCE_DISTANCES}'
    )


def coarse_segmentation_ce(
    logits: Tensor, label: Tensor, reduction: int, ignore_index: int = IGNORE_INDEX
) -> Tensor:
    """
    Cross-entropy at the logits' own (coarse) scale against each cell's class fractions.

    ``logits`` ``[B, K, h, w]`` predict cells of ``reduction x reduction`` label pixels of
    ``label`` ``[B, H, W]`` (``H <= h * reduction``; the bottom/right padding of a padded input
    counts as unlabelled). The target of a cell is the distribution of its labelled pixels'
    classes; cells without a labelled pixel are left out; the result is the mean over the other
    cells of ``-sum_k p_k log softmax(logits)_k``. A batch without labelled pixels gives 0.
    """
    if logits.dim() != 4 or label.dim() != 3:
        raise ValueError(
            f'coarse_segmentation_ce expects logits [B, K, h, w] and label [B, H, W], got '
            f'{tuple(logits.shape)} and {tuple(label.shape)}'
        )
    b, k, h, w = logits.shape
    r = int(reduction)
    height, width = label.shape[-2:]
    if r < 1 or height > h * r or width > w * r or height <= (h - 1) * r or (
        width <= (w - 1) * r
    ):
        raise ValueError(
            f'coarse_segmentation_ce: label {tuple(label.shape[-2:])} is not covered by '
            f'{(h, w)} cells of {r} pixels'
        )
    label = F.pad(label, (0, w * r - width, 0, h * r - height), value=ignore_index)
    valid = label != ignore_index
    onehot = F.one_hot(torch.where(valid, label, 0).long(), k).movedim(-1, 1).float()
    onehot = onehot * valid.unsqueeze(1)
    counts = F.avg_pool2d(onehot, kernel_size=r, stride=r) * (r * r)  # [B, K, h, w]
    total = counts.sum(dim=1)  # [B, h, w] labelled pixels per cell
    keep = total > 0
    if not bool(keep.any()):
        return logits.sum() * 0.0
    target = counts / total.clamp_min(1.0).unsqueeze(1)
    cell = -(target * F.log_softmax(logits.float(), dim=1)).sum(dim=1)
    return cell[keep].mean()
