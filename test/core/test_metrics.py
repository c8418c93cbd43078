# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""The one metrics module: hand-made confusion matrices, numpy and torch alike, one rule set."""

import math

import numpy as np
import pytest
import torch

from rgbd_seg_ros.core.metrics import (
    ConfusionMatrix,
    confusion_matrix,
    mean_iou,
    pixel_accuracy,
    scores_from_confusion,
)
from rgbd_seg_ros.replay.scoring import FrameRecord, ReplayResult


def test_confusion_matrix_by_hand():
    label = torch.tensor([0, 0, 1, 1, 2, 255])
    pred = torch.tensor([0, 1, 1, 1, 0, 2])
    cm = confusion_matrix(pred, label, 3)
    assert cm.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]


def test_scores_by_hand():
    # IoU0 = 1 / (2 + 2 - 1), IoU1 = 2 / (2 + 3 - 2), IoU2 = 0 / (1 + 0 - 0); class 3 never
    # appears (no IoU, left out of the mean). Pixel accuracy 3 / 5.
    cm = np.array([[1, 1, 0, 0], [0, 2, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]])
    s = scores_from_confusion(cm)
    assert s['iou'][:3] == pytest.approx([1 / 3, 2 / 3, 0.0])
    assert math.isnan(s['iou'][3])
    assert s['miou'] == pytest.approx(1 / 3)
    assert s['pixel_acc'] == pytest.approx(3 / 5)
    assert s['mean_acc'] == pytest.approx((1 / 2 + 1 + 0) / 3)
    assert s['num_pixels'] == 5


def test_accumulation_over_batches_is_one_split_matrix():
    # mIoU over the split is not the mean of per-batch mIoUs.
    acc = ConfusionMatrix(2)
    acc.update(torch.tensor([0, 0]), torch.tensor([0, 0]))  # batch mIoU 1.0 (class 1 absent)
    acc.update(torch.tensor([0, 1]), torch.tensor([1, 1]))  # batch mIoU (0 + 0.5) / 2
    # Whole split: [[2, 0], [1, 1]] -> IoU0 = 2/3, IoU1 = 1/2.
    assert acc.matrix.tolist() == [[2, 0], [1, 1]]
    assert acc.compute()['miou'] == pytest.approx((2 / 3 + 1 / 2) / 2)


def test_bad_predictions_are_reported():
    with pytest.raises(ValueError, match='outside'):
        confusion_matrix(torch.tensor([5]), torch.tensor([0]), 3)
    with pytest.raises(ValueError, match='shape'):
        confusion_matrix(torch.tensor([0, 1]), torch.tensor([0]), 3)


def test_numpy_and_torch_give_the_same_matrix():
    rng = np.random.default_rng(0)
    label = rng.integers(0, 5, size=(2, 7, 9)).astype(np.uint8)
    label[0, :2] = 255
    pred = rng.integers(0, 4, size=label.shape).astype(np.uint8)
    cm_np = confusion_matrix(pred, label, 4)  # label 4 is outside 0..3: not scored
    cm_t = confusion_matrix(torch.from_numpy(pred), torch.from_numpy(label), 4)
    assert isinstance(cm_np, np.ndarray) and isinstance(cm_t, torch.Tensor)
    assert cm_np.tolist() == cm_t.tolist()
    keep = (label != 255) & (label < 4)
    assert cm_np.sum() == keep.sum()
    assert cm_np[1, 2] == np.count_nonzero((label == 1) & (pred == 2))


def test_out_of_range_predictions_raise_on_numpy_too():
    with pytest.raises(ValueError, match='outside 0..2'):
        confusion_matrix(np.array([3, 0]), np.array([1, 0]), 3)
    # on an ignored pixel the prediction is not looked at
    assert confusion_matrix(np.array([7, 0]), np.array([255, 0]), 3).sum() == 1


def test_nothing_scored_gives_none_everywhere():
    empty = np.zeros((3, 3), np.int64)
    s = scores_from_confusion(empty)
    assert s['miou'] is None and s['pixel_acc'] is None and s['mean_acc'] is None
    assert s['num_pixels'] == 0 and all(math.isnan(v) for v in s['iou'])
    assert mean_iou(None) is None and pixel_accuracy(None) is None
    assert ConfusionMatrix(3).compute()['miou'] is None


def test_replay_skips_an_output_with_out_of_range_ids():
    result = ReplayResult(bag='b', start_ns=0, end_ns=1, label_names=('a', 'b'))
    record = FrameRecord(stamp_ns=1, t_ns=1, mode='rgb')
    result.score_frame(record, np.zeros((2, 2), np.uint8), np.full((2, 2), 9, np.uint8))
    assert record.miou is None and 'all' not in result.confusion
    assert sum(result.skipped.values()) == 1
    result.score_frame(record, np.zeros((2, 2), np.uint8), np.zeros((2, 2), np.uint8))
    assert record.miou == 1.0 and result.confusion['all'].sum() == 4
