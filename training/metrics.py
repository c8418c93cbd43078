# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Segmentation metrics from one confusion matrix accumulated over a whole split.

Rows of the confusion matrix are ground-truth classes, columns predicted classes. Pixels whose
label is the ignore value (or outside ``0..K-1``) are excluded. IoU of class c is
``TP / (TP + FP + FN)``; classes that appear neither in the labels nor in the predictions of the
split have no IoU (NaN) and are left out of the mean, as in mmsegmentation.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from rgbd_seg_ros.core.labels import IGNORE_INDEX


def confusion_matrix(
    pred: Tensor, label: Tensor, num_classes: int, ignore_index: int = IGNORE_INDEX
) -> Tensor:
    """
    Confusion matrix int64 ``[K, K]`` (rows: label, columns: prediction) of one batch.

    ``pred`` and ``label`` hold class ids of the same shape (e.g. ``[B, H, W]``).
    """
    if pred.shape != label.shape:
        raise ValueError(
            f'prediction {tuple(pred.shape)} and label {tuple(label.shape)} differ in shape'
        )
    pred = pred.reshape(-1).long()
    label = label.reshape(-1).long()
    keep = (label != ignore_index) & (label >= 0) & (label < num_classes)
    if bool(((pred[keep] < 0) | (pred[keep] >= num_classes)).any()):
        raise ValueError(f'predictions outside 0..{num_classes - 1}')
    index = label[keep] * num_classes + pred[keep]
    counts = torch.bincount(index, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def scores_from_confusion(cm: np.ndarray | Tensor) -> dict[str, Any]:
    """
    mIoU, pixel accuracy, mean class accuracy and per-class IoU of a ``[K, K]`` matrix.

    Returns fractions in [0, 1]: ``miou``, ``pixel_acc``, ``mean_acc``, ``iou`` (list, NaN for
    classes absent from labels and predictions), ``num_pixels``.
    """
    cm = np.asarray(cm.cpu() if isinstance(cm, Tensor) else cm, dtype=np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f'confusion matrix must be square [K, K], got {cm.shape}')
    tp = np.diag(cm)
    label_count = cm.sum(axis=1)
    pred_count = cm.sum(axis=0)
    union = label_count + pred_count - tp
    total = cm.sum()
    with np.errstate(invalid='ignore', divide='ignore'):
        iou = np.where(union > 0, tp / union, np.nan)
        acc = np.where(label_count > 0, tp / label_count, np.nan)
    present = ~np.isnan(iou)
    return {
        'miou': float(iou[present].mean()) if present.any() else 0.0,
        'pixel_acc': float(tp.sum() / total) if total > 0 else 0.0,
        'mean_acc': float(np.nanmean(acc)) if (~np.isnan(acc)).any() else 0.0,
        'iou': [float(v) for v in iou],
        'num_pixels': int(total),
    }


class ConfusionMatrix:
    """Accumulates a ``[K, K]`` confusion matrix over batches (and, optionally, over ranks)."""

    def __init__(
        self, num_classes: int, ignore_index: int = IGNORE_INDEX, device: str = 'cpu'
    ) -> None:
        if num_classes < 1:
            raise ValueError(f'num_classes must be >= 1, got {num_classes}')
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64, device=device)

    def update(self, pred: Tensor, label: Tensor) -> None:
        """Add a batch of predicted and true class ids (same shape)."""
        cm = confusion_matrix(pred, label.to(pred.device), self.num_classes, self.ignore_index)
        self.matrix += cm.to(self.matrix.device)

    def all_reduce(self) -> None:
        """Sum the matrices of all ranks (no-op without an initialised process group)."""
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.all_reduce(self.matrix)

    def compute(self) -> dict[str, Any]:
        """Scores of the accumulated matrix, see ``scores_from_confusion``."""
        return scores_from_confusion(self.matrix)
