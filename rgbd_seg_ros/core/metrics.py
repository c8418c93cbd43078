# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Segmentation metrics from one confusion matrix: the one module training, evaluation and replay use.

Rows of the confusion matrix are ground-truth classes, columns predicted classes, int64
``[K, K]``, accumulated over a whole split (or a whole bag) before any score is taken: the mIoU
of a split is not the mean of per-batch mIoUs. The rules, the same everywhere:

- Pixels whose label is the ignore value (or outside ``0..K-1``) are not scored.
- A prediction outside ``0..K-1`` on a scored pixel is an error upstream (a model's argmax cannot
  produce one): ``confusion_matrix`` raises ``ValueError``; the live evaluator counts such an
  output as skipped instead of scoring it.
- IoU of class c is ``TP / (TP + FP + FN)``; a class with an empty union (neither in the labels
  nor predicted) has no IoU (NaN) and is left out of the mean, as in mmsegmentation.
- When nothing was scored (no labelled pixel), mIoU, pixel accuracy and mean class accuracy are
  ``None``: no number rather than a made-up 0.

Works on numpy arrays and on torch tensors (on their device; torch is imported only then), so
``import rgbd_seg_ros.core.metrics`` pulls in neither torch nor ROS.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rgbd_seg_ros.core.labels import IGNORE_INDEX


def _is_tensor(x: Any) -> bool:
    return type(x).__module__.split('.')[0] == 'torch'


def confusion_matrix(pred: Any, label: Any, num_classes: int,
                     ignore_index: int = IGNORE_INDEX) -> Any:
    """
    Confusion counts of one image or batch: int64 ``[K, K]`` (rows label, columns prediction).

    :param pred: predicted class ids, numpy array or torch tensor, e.g. ``[H, W]`` or
        ``[B, H, W]``.
    :param label: ground-truth class ids of the same shape (``ignore_index`` = unlabelled).
    :returns: the same kind as ``pred`` (a tensor on ``pred``'s device for tensors).
    :raises ValueError: shapes differ, or a scored pixel has a prediction outside ``0..K-1``.
    """
    if tuple(pred.shape) != tuple(label.shape):
        raise ValueError(f'prediction {tuple(pred.shape)} and label {tuple(label.shape)} '
                         'differ in shape')
    if _is_tensor(pred):
        import torch

        p = pred.reshape(-1).long()
        g = label.to(pred.device).reshape(-1).long()
        keep = (g != ignore_index) & (g >= 0) & (g < num_classes)
        p, g = p[keep], g[keep]
        if bool(((p < 0) | (p >= num_classes)).any()):
            raise ValueError(f'predictions outside 0..{num_classes - 1}')
        counts = torch.bincount(g * num_classes + p, minlength=num_classes * num_classes)
        return counts.reshape(num_classes, num_classes)
    p = np.asarray(pred).reshape(-1).astype(np.int64)
    g = np.asarray(label).reshape(-1).astype(np.int64)
    keep = (g != ignore_index) & (g >= 0) & (g < num_classes)
    p, g = p[keep], g[keep]
    if p.size and (p.min() < 0 or p.max() >= num_classes):
        raise ValueError(f'predictions outside 0..{num_classes - 1}')
    counts = np.bincount(g * num_classes + p, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).astype(np.int64)


def _as_numpy(conf: Any) -> np.ndarray:
    conf = conf.detach().cpu().numpy() if _is_tensor(conf) else conf
    conf = np.asarray(conf, dtype=np.float64)
    if conf.ndim != 2 or conf.shape[0] != conf.shape[1]:
        raise ValueError(f'confusion matrix must be square [K, K], got {conf.shape}')
    return conf


def iou_per_class(conf: Any) -> np.ndarray:
    """IoU of each class of a ``[K, K]`` confusion, float64 ``[K]``; NaN where the union is 0."""
    conf = _as_numpy(conf)
    tp = np.diag(conf)
    union = conf.sum(0) + conf.sum(1) - tp
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(union > 0, tp / np.maximum(union, 1), np.nan)


def mean_iou(conf: Any) -> float | None:
    """mIoU over the classes with a non-empty union; None when nothing was scored (or None)."""
    if conf is None:
        return None
    conf = _as_numpy(conf)
    if conf.sum() == 0:
        return None
    return float(np.nanmean(iou_per_class(conf)))


def pixel_accuracy(conf: Any) -> float | None:
    """Correct / scored pixels; None when nothing was scored (or ``conf`` is None)."""
    if conf is None:
        return None
    conf = _as_numpy(conf)
    total = float(conf.sum())
    return float(np.trace(conf)) / total if total else None


def mean_class_accuracy(conf: Any) -> float | None:
    """Mean over labelled classes of ``TP / label count``; None when nothing was scored."""
    conf = _as_numpy(conf)
    label_count = conf.sum(1)
    if not label_count.any():
        return None
    return float(np.mean(np.diag(conf)[label_count > 0] / label_count[label_count > 0]))


def scores_from_confusion(conf: Any) -> dict[str, Any]:
    """
    ``miou``, ``pixel_acc``, ``mean_acc`` (fractions in [0, 1], None when nothing was scored),
    ``iou`` (list, NaN for classes absent from labels and predictions) and ``num_pixels``.
    """
    matrix = _as_numpy(conf)
    return {
        'miou': mean_iou(matrix),
        'pixel_acc': pixel_accuracy(matrix),
        'mean_acc': mean_class_accuracy(matrix),
        'iou': [float(v) for v in iou_per_class(matrix)],
        'num_pixels': int(matrix.sum()),
    }


class ConfusionMatrix:
    """
    Accumulates an int64 ``[K, K]`` torch confusion matrix over batches (and, with
    ``all_reduce``, over the ranks of a process group) on ``device``.
    """

    def __init__(self, num_classes: int, ignore_index: int = IGNORE_INDEX,
                 device: str = 'cpu') -> None:
        import torch

        if num_classes < 1:
            raise ValueError(f'num_classes must be >= 1, got {num_classes}')
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64, device=device)

    def update(self, pred: Any, label: Any) -> None:
        """Add a batch of predicted and true class ids (tensors of the same shape)."""
        cm = confusion_matrix(pred, label, self.num_classes, self.ignore_index)
        self.matrix += cm.to(self.matrix.device)

    def all_reduce(self) -> None:
        """Sum the matrices of all ranks (no-op without an initialised process group)."""
        import torch

        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.all_reduce(self.matrix)

    def compute(self) -> dict[str, Any]:
        """Scores of the accumulated matrix, see ``scores_from_confusion``."""
        return scores_from_confusion(self.matrix)
