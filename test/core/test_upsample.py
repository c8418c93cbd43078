# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Full-resolution labels from network-resolution logits (core/upsample.py), and the Segmenter's
one depth resize for depth registered at another resolution.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rgbd_seg_ros.core.camera import CameraIntrinsics
from rgbd_seg_ros.core.checkpoint import CheckpointMeta
from rgbd_seg_ros.core.inference import Segmenter
from rgbd_seg_ros.core.labels import LabelSet
from rgbd_seg_ros.core.models import ModelConfig, create_model
from rgbd_seg_ros.core.upsample import upsampled_confidence, upsampled_labels


def _smooth_logits(k: int, h: int, w: int, seed: int) -> torch.Tensor:
    """Logits with regions and boundaries like a segmentation network's ``[1, K, h, w]``."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.randn(1, k, h // 8 + 2, w // 8 + 2, generator=g)
    return 3.0 * F.interpolate(coarse, size=(h, w), mode='bilinear', align_corners=False)


def _reference(logits: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    full = F.interpolate(logits, size=size, mode='bilinear', align_corners=False)
    return full.argmax(dim=1).numpy()


@pytest.mark.parametrize('size', [(480, 640), (720, 1280), (97, 131), (48, 64), (96, 128),
                                  (200, 90)])
@pytest.mark.parametrize('seed', [0, 1, 2])
def test_labels_equal_full_upsampling_then_argmax(size, seed):
    logits = _smooth_logits(14, 96, 128, seed)
    ref = _reference(logits, size)
    got = upsampled_labels(logits, size)
    assert got.shape == (1, *size) and got.dtype == np.uint8
    assert (got == ref).mean() >= 0.9999  # ties after rounding are the only difference
    labels, conf = upsampled_confidence(logits, size)
    np.testing.assert_array_equal(labels, ref)
    prob = torch.softmax(F.interpolate(logits, size=size, mode='bilinear',
                                       align_corners=False), dim=1).amax(dim=1).numpy()
    np.testing.assert_allclose(conf, prob, atol=1e-5)


def test_boundary_of_two_ramps_is_where_the_closed_form_puts_it():
    """l_0 = x and l_1 = 10 - x over 20 input columns: class 1 left of x = 5, class 0 right."""
    w_in, w_out = 20, 200
    x = torch.arange(w_in, dtype=torch.float32)
    logits = torch.stack([x, 10.0 - x])[None, :, None, :].repeat(1, 1, 3, 1)  # [1, 2, 3, 20]
    labels = upsampled_labels(logits, (30, w_out))[0]
    # output column X samples input position (X + 0.5) * w_in / w_out - 0.5
    pos = (np.arange(w_out) + 0.5) * w_in / w_out - 0.5
    expected = np.where(pos > 5.0, 0, 1)
    tie = np.isclose(pos, 5.0)
    for row in labels:
        np.testing.assert_array_equal(row[~tie], expected[~tie])


def test_uniform_class_and_batches():
    logits = torch.zeros(2, 5, 8, 8)
    logits[0, 3] = 1.0
    logits[1, 4] = 2.0
    labels = upsampled_labels(logits, (33, 47))
    assert labels.shape == (2, 33, 47)
    assert (labels[0] == 3).all() and (labels[1] == 4).all()
    many = torch.zeros(1, 300, 4, 4)
    many[0, 299] = 1.0
    out = upsampled_labels(many, (9, 9))
    assert out.dtype == np.uint16 and (out == 299).all()
    with pytest.raises(ValueError, match=r'\[B, K, h, w\]'):
        upsampled_labels(torch.zeros(5, 8, 8), (9, 9))


LABELS = LabelSet(name='toy4', names=('a', 'b', 'c', 'd'),
                  colors=((1, 2, 3), (4, 5, 6), (7, 8, 9), (10, 11, 12)))


@pytest.fixture(scope='module')
def fusion() -> Segmenter:
    torch.manual_seed(0)
    cfg = ModelConfig(arch='fusion', backbone='resnet18', num_classes=4, embed_dim=16)
    return Segmenter(create_model(cfg), CheckpointMeta(model=cfg, labels=LABELS,
                                                       input_size=(48, 64)))


def test_depth_at_half_resolution_is_resized_once_like_full_resolution(fusion):
    """
    Depth at 60x80 registered to a 120x160 image gives the labels of the same depth repeated
    to 120x160: nearest by pixel centres from either reaches the same depth pixels.
    """
    rng = np.random.default_rng(4)
    rgb = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    half = rng.uniform(0.8, 4.0, (60, 80)).astype(np.float32)
    half[10:20, 30:50] = 0.0
    full = np.repeat(np.repeat(half, 2, axis=0), 2, axis=1)
    intr = CameraIntrinsics(130.0, 130.0, 79.5, 59.5, 160, 120)
    np.testing.assert_array_equal(fusion.predict(rgb, half, intr), fusion.predict(rgb, full, intr))
    with pytest.raises(ValueError, match='aspect ratio'):
        fusion.predict(rgb, half[:, :60], intr)
