# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""Preprocessing, the Segmenter (deployment path = evaluation path) and ONNX export."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rgbd_seg_ros.core.camera import CameraIntrinsics
from rgbd_seg_ros.core.checkpoint import CheckpointMeta, save_checkpoint
from rgbd_seg_ros.core.inference import Segmenter
from rgbd_seg_ros.core.labels import LabelSet
from rgbd_seg_ros.core.models import ModelConfig, create_model
from rgbd_seg_ros.core.preprocess import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    build_inputs,
    fit_size,
    resize_inputs,
    scale_intrinsics,
)

LABELS = LabelSet(name='toy4', names=('a', 'b', 'c', 'd'),
                  colors=((1, 2, 3), (4, 5, 6), (7, 8, 9), (10, 11, 12)))


def _segmenter(arch: str = 'fusion', backbone: str = 'resnet18', **kw) -> Segmenter:
    torch.manual_seed(0)
    cfg = ModelConfig(arch=arch, backbone=backbone, num_classes=4, embed_dim=16, **kw)
    meta = CheckpointMeta(model=cfg, labels=LABELS, input_size=(64, 80))
    return Segmenter(create_model(cfg), meta)


@pytest.fixture(scope='module')
def fusion() -> Segmenter:
    return _segmenter('fusion')


@pytest.fixture(scope='module')
def rgb_only() -> Segmenter:
    return _segmenter('single', modality='rgb')


def _frame(h: int, w: int, batch: int | None = None, seed: int = 0):
    rng = np.random.default_rng(seed)
    shape = (h, w) if batch is None else (batch, h, w)
    rgb = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    # A tilted plane 1.5..3.5 m with a hole of missing depth.
    depth = np.broadcast_to(np.linspace(1.5, 3.5, h, dtype=np.float32)[:, None], (h, w))
    depth = np.broadcast_to(depth, shape).copy()
    depth[..., h // 3: h // 2, w // 4: w // 3] = 0.0
    intr = CameraIntrinsics(0.8 * w, 0.8 * w, (w - 1) / 2, (h - 1) / 2, w, h)
    return rgb, depth, intr


# ----------------------------------------------------------------------------- preprocess


def test_rgb_normalisation_closed_form():
    rgb = torch.zeros(1, 3, 2, 2, dtype=torch.uint8)
    rgb[:, 0] = 255
    out = build_inputs(rgb, modalities=('rgb',))['rgb']
    expect = [(1 - IMAGENET_MEAN[0]) / IMAGENET_STD[0], -IMAGENET_MEAN[1] / IMAGENET_STD[1],
              -IMAGENET_MEAN[2] / IMAGENET_STD[2]]
    torch.testing.assert_close(out[0, :, 0, 0], torch.tensor(expect))


def test_depth_normalisation_closed_form():
    depth = torch.tensor([[[[2.842, 0.0], [12.0, float('nan')]]]])
    rgb = torch.zeros(1, 3, 2, 2, dtype=torch.uint8)
    out = build_inputs(rgb, depth, modalities=('depth',))['depth'][0, 0]
    # 2.842 m is the mean; invalid (0, NaN) -> 0; beyond 10 m clipped: (1 - 0.2842) / 0.1417.
    torch.testing.assert_close(out, torch.tensor([[0.0, 0.0], [(1 - 0.2842) / 0.1417, 0.0]]))


def test_hha_disparity_of_a_wall_at_two_metres():
    h, w = 24, 32
    depth = torch.full((2, 1, h, w), 2.0)
    k_t = torch.tensor([[30.0, 0, (w - 1) / 2], [0, 30.0, (h - 1) / 2], [0, 0, 1]]).expand(2, 3, 3)
    rgb = torch.zeros(2, 3, h, w, dtype=torch.uint8)
    hha = build_inputs(rgb, depth, k_t, modalities=('hha',))['hha']
    assert hha.shape == (2, 3, h, w)
    # Disparity grey level 31000 / 200 cm = 155, normalised like the R channel.
    expect = (155 / 255 - IMAGENET_MEAN[0]) / IMAGENET_STD[0]
    torch.testing.assert_close(hha[:, 0], torch.full((2, h, w), expect))


def test_missing_depth_or_intrinsics_named():
    rgb = torch.zeros(1, 3, 4, 4, dtype=torch.uint8)
    with pytest.raises(ValueError, match='depth_m'):
        build_inputs(rgb, None, None, ('rgb', 'hha'))
    with pytest.raises(ValueError, match='intrinsics'):
        build_inputs(rgb, torch.ones(1, 1, 4, 4), None, ('hha',))
    with pytest.raises(ValueError, match='uint8'):
        build_inputs(rgb.float(), modalities=('rgb',))


def test_fit_size_keeps_aspect():
    assert fit_size(480, 640, (240, 320)) == (240, 320)
    assert fit_size(720, 1280, (240, 320)) == (180, 320)
    assert fit_size(120, 160, (480, 640)) == (480, 640)


def test_scaled_intrinsics_match_camera_model():
    intr = CameraIntrinsics(500.0, 510.0, 319.5, 239.5, 640, 480)
    k_t = torch.from_numpy(intr.K).float()[None]
    scaled = scale_intrinsics(k_t, 320 / 640, 180 / 480)
    torch.testing.assert_close(scaled[0], torch.from_numpy(intr.scaled(320, 180).K).float())


def test_resize_keeps_depth_values_unblended():
    depth = torch.zeros(1, 1, 8, 8)
    depth[..., :, ::2] = 3.0  # valid and invalid columns interleaved
    rgb = torch.zeros(1, 3, 8, 8, dtype=torch.uint8)
    _, small, _, valid = resize_inputs(rgb, depth, None, depth > 0, (5, 5))
    assert set(small.unique().tolist()) <= {0.0, 3.0}
    assert torch.equal(valid, small > 0)


# ----------------------------------------------------------------------------- Segmenter


def test_predict_shapes_single_and_batch(fusion):
    rgb, depth, intr = _frame(50, 70)
    labels, conf = fusion.predict(rgb, depth, intr, return_confidence=True)
    assert labels.shape == (50, 70) and labels.dtype == np.uint8
    assert conf.shape == (50, 70) and conf.dtype == np.float32
    assert labels.max() < 4
    assert np.all(conf >= 0.25 - 1e-6) and np.all(conf <= 1.0 + 1e-6)
    rgb_b, depth_b, _ = _frame(50, 70, batch=2)
    labels_b = fusion.predict(rgb_b, depth_b, [intr, intr])
    assert labels_b.shape == (2, 50, 70)


def test_batch_equals_one_by_one(fusion):
    rgb_b, depth_b, intr = _frame(40, 60, batch=2, seed=3)
    batch = fusion.predict(rgb_b, depth_b, intr)
    for i in range(2):
        np.testing.assert_array_equal(batch[i], fusion.predict(rgb_b[i], depth_b[i], intr))


@pytest.mark.parametrize('size', [(64, 80), (50, 70), (97, 131)])
def test_predict_equals_evaluation_path(fusion, size):
    """The node's numpy path and training/evaluate.py's tensor path give the same labels."""
    h, w = size
    rgb, depth, intr = _frame(h, w, batch=2, seed=1)
    labels = fusion.predict(rgb, depth, intr)
    rgb_t = torch.from_numpy(rgb).permute(0, 3, 1, 2)
    depth_t = torch.from_numpy(depth)[:, None]
    k_t = torch.from_numpy(np.stack([intr.K, intr.K])).float()
    logits = fusion.predict_logits(rgb_t, depth_t, k_t)
    assert logits.shape == (2, 4, h, w)
    np.testing.assert_array_equal(labels, logits.argmax(1).numpy().astype(np.uint8))


def test_network_input_is_model_input_size(fusion):
    """At the checkpoint's input size predict_logits equals the raw model on build_inputs."""
    rgb, depth, intr = _frame(64, 80, batch=1, seed=2)
    rgb_t = torch.from_numpy(rgb).permute(0, 3, 1, 2)
    depth_t = torch.from_numpy(depth)[:, None]
    k_t = torch.from_numpy(intr.K).float()[None]
    with torch.no_grad():
        ref = fusion.model(build_inputs(rgb_t, depth_t, k_t, ('rgb', 'hha')))
    torch.testing.assert_close(fusion.predict_logits(rgb_t, depth_t, k_t), ref)


def test_rgb_model_ignores_depth(rgb_only):
    rgb, depth, intr = _frame(30, 40)
    np.testing.assert_array_equal(rgb_only.predict(rgb), rgb_only.predict(rgb, depth, intr))
    assert not rgb_only.needs_depth
    assert rgb_only.modalities == ('rgb',)
    assert rgb_only.labels == LABELS


def test_clear_errors(fusion):
    rgb, depth, intr = _frame(30, 40)
    with pytest.raises(ValueError, match='needs depth_m'):
        fusion.predict(rgb)
    with pytest.raises(ValueError, match='intrinsics'):
        fusion.predict(rgb, depth)
    with pytest.raises(ValueError, match='uint8'):
        fusion.predict(rgb.astype(np.float32), depth, intr)
    with pytest.raises(ValueError, match=r'\[H, W, 3\]'):
        fusion.predict(rgb[..., :2], depth, intr)
    with pytest.raises(ValueError, match='shape'):
        fusion.predict(rgb, depth[:-1], intr)
    with pytest.raises(ValueError, match='float metres'):
        fusion.predict(rgb, (depth * 1000).astype(np.uint16), intr)
    with pytest.raises(ValueError, match=r'scaled\(40, 30\)'):
        fusion.predict(rgb, depth, intr.scaled(80, 60))
    with pytest.raises(ValueError, match='CUDA'):
        Segmenter(fusion.model, fusion.meta, precision='fp16')
    with pytest.raises(ValueError, match='precision'):
        Segmenter(fusion.model, fusion.meta, precision='int8')


def test_from_checkpoint_and_warmup(rgb_only, tmp_path):
    path = save_checkpoint(tmp_path / 'rgb.safetensors', rgb_only.model, rgb_only.meta)
    seg = Segmenter.from_checkpoint(path)
    seg.warmup(iterations=1)
    rgb, _, _ = _frame(33, 47)
    np.testing.assert_array_equal(seg.predict(rgb), rgb_only.predict(rgb))


@pytest.mark.cuda
def test_cuda_fp16_agrees_with_fp32(fusion):
    if not torch.cuda.is_available():
        pytest.skip('no CUDA device')
    rgb, depth, intr = _frame(64, 80, batch=2)
    ref = fusion.predict(rgb, depth, intr)
    for precision in ('fp32', 'fp16', 'bf16'):
        seg = Segmenter(fusion.model, fusion.meta, device='cuda', precision=precision)
        seg.warmup(iterations=1)
        out = seg.predict(rgb, depth, intr)
        assert np.mean(out == ref) > (0.999 if precision == 'fp32' else 0.95)
    fusion.model.to('cpu')


# ----------------------------------------------------------------------------- ONNX


@pytest.mark.parametrize('arch,backbone', [('single', 'resnet18'), ('fusion', 'convnext_atto')])
def test_onnx_parity(arch, backbone, tmp_path):
    ort = pytest.importorskip('onnxruntime')
    from rgbd_seg_ros.core.export import export_onnx

    seg = _segmenter(arch, backbone)
    path = export_onnx(seg, tmp_path / 'model.onnx', size=(64, 96))
    session = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    gen = torch.Generator().manual_seed(0)
    x = {m: torch.randn(2, 3, 64, 96, generator=gen) for m in seg.modalities}
    with torch.no_grad():
        ref = seg.model(x).numpy()
    out = session.run(['logits'], {k: v.numpy() for k, v in x.items()})[0]
    np.testing.assert_allclose(out, ref, atol=1e-4, rtol=1e-4)
    assert 'rgbd_seg_ros' in session.get_modelmeta().custom_metadata_map
