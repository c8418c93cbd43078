# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""Augmentation: alignment of all images, intrinsics after every geometric op, HHA consistency."""

import dataclasses

import cv2
import numpy as np
import pytest
import torch

from rgbd_seg_ros.core.camera import CameraIntrinsics
from rgbd_seg_ros.core.hha import compute_hha
from rgbd_seg_ros.sim import SensorConfig, sample_frame
from rgbd_seg_ros.sim import classes as C
from training.data import transforms as T
from training.data.config import DataConfig


def _frame_sample(index: int = 1, size=(120, 160)) -> tuple[dict, np.ndarray]:
    f = sample_frame(0, index, size[1], size[0], SensorConfig.ideal())
    sample = {'name': 'f', 'rgb': f.rgb, 'depth_m': f.depth_m, 'valid': f.valid,
              'label': f.label, 'intrinsics': f.intrinsics, 'height': f.camera_height_m}
    return sample, f.gravity


def _blocks(h: int = 48, w: int = 64, block: int = 8) -> dict:
    """
    A sample whose label, colour and depth all encode the same 8x8 block id; depth steps by 5 %
    between blocks (a discontinuity for the depth resizer, which blends only below 3 %).
    """
    rows, cols = np.meshgrid(np.arange(h) // block, np.arange(w) // block, indexing='ij')
    ids = rows * (w // block) + cols
    rgb = np.stack([ids * 3, 255 - ids * 3, (ids * 7) % 256], axis=-1).astype(np.uint8)
    return {'name': 'b', 'rgb': rgb, 'depth_m': (1.05 ** ids).astype(np.float32),
            'valid': np.ones((h, w), bool), 'label': ids.astype(np.uint8),
            'intrinsics': CameraIntrinsics(50.0, 50.0, (w - 1) / 2, (h - 1) / 2, w, h)}


def _check_aligned(s: dict) -> None:
    label, rgb, depth, valid = s['label'], s['rgb'], s['depth_m'], s['valid']
    known = label != 255
    # depth follows the label: within the resizer's 3 % blend limit of the block's own depth
    # (a neighbouring block is 5 % away), validity exactly
    np.testing.assert_allclose(depth[known], 1.05 ** label[known].astype(float), rtol=0.03)
    np.testing.assert_array_equal(valid, known)
    assert np.all(rgb[~known] == 0) and np.all(depth[~known] == 0)
    # inside each block (away from bilinear borders) the colour is the block's colour
    for lid in np.unique(label[known]).astype(int):
        inner = cv2.erode((label == lid).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        if inner.any():
            expected = np.array([lid * 3, 255 - lid * 3, (lid * 7) % 256], np.uint8)
            assert np.all(np.abs(rgb[inner].astype(int) - expected) <= 1)


@pytest.mark.parametrize('seed', range(8))
def test_random_geometry_keeps_everything_aligned(seed):
    rng = np.random.default_rng(seed)
    out = T.random_geometry(_blocks(), rng, (0.5, 0.75, 1.0, 1.25, 1.5, 1.75), (40, 56), 0.5)
    assert out['rgb'].shape == (40, 56, 3) and out['label'].shape == (40, 56)
    assert (out['intrinsics'].width, out['intrinsics'].height) == (56, 40)
    _check_aligned(out)


def test_crop_pads_with_ignore_and_invalid():
    s = _blocks()
    out = T.crop(s, -4, -6, 60, 80)
    assert out['label'].shape == (60, 80)
    assert np.all(out['label'][:4] == 255) and np.all(out['label'][:, :6] == 255)
    assert not out['valid'][:4].any() and np.all(out['rgb'][:, :6] == 0)
    np.testing.assert_array_equal(out['label'][4:52, 6:70], s['label'])
    k = out['intrinsics']
    assert (k.cx, k.cy) == (s['intrinsics'].cx + 6, s['intrinsics'].cy + 4)
    _check_aligned(out)


def _heights(s: dict, gravity: np.ndarray) -> np.ndarray:
    """Distance below the camera, along gravity, of the floor pixels of a sample."""
    k = s['intrinsics']
    h, w = s['label'].shape
    u, v = np.meshgrid(np.arange(w), np.arange(h))
    z = s['depth_m']
    pts = np.stack([(u - k.cx) / k.fx * z, (v - k.cy) / k.fy * z, z], axis=-1)
    floor = (s['label'] == C.FLOOR) & s['valid']
    floor = cv2.erode(floor.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    return pts[floor] @ gravity


@pytest.mark.parametrize('op', ['flip', 'crop', 'pad', 'down', 'up'])
def test_intrinsics_follow_the_geometry(op):
    """Back-projected floor pixels stay on the floor plane at the camera height."""
    s, g = _frame_sample()
    ops = {
        'flip': T.hflip,
        'crop': lambda x: T.crop(x, 17, 23, 80, 100),
        'pad': lambda x: T.crop(x, -9, -13, 140, 190),
        'down': lambda x: T.resize(x, 57, 83),
        'up': lambda x: T.resize(x, 170, 230),
    }
    out = ops[op](s)
    if op == 'flip':
        g = g * np.array([-1.0, 1.0, 1.0])  # the mirrored camera sees mirrored gravity
    heights = _heights(out, g)
    assert heights.size > 100
    np.testing.assert_allclose(heights, s['height'], atol=3e-3)
    # the check is sensitive: a principal point 5 px off (a forgotten crop offset) fails it
    k = out['intrinsics']
    wrong = dict(out, intrinsics=dataclasses.replace(k, cx=k.cx + 5, cy=k.cy + 5))
    assert np.abs(_heights(wrong, g) - s['height']).max() > 0.01


def _hha(s: dict, gravity: np.ndarray | None) -> np.ndarray:
    g = None if gravity is None else torch.from_numpy(gravity)
    return compute_hha(torch.from_numpy(s['depth_m']), s['intrinsics'],
                       torch.from_numpy(s['valid']), gravity=g)[0].permute(1, 2, 0).numpy()


def _interior(label: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros(label.shape, bool)
    for c in np.unique(label):
        out |= cv2.erode((label == c).astype(np.uint8), np.ones((k, k), np.uint8)) > 0
    return out


def test_hha_of_flipped_frame_is_the_flipped_hha():
    s, _ = _frame_sample(2)
    s['hha'] = _hha(s, None).astype(np.uint8)  # gravity estimated, as in training
    out = T.hflip(s)
    diff = np.abs(_hha(out, None) - out['hha'].astype(np.float32))
    assert np.mean(diff <= 1) > 0.999


@pytest.mark.parametrize('op', ['crop', 'pad', 'down', 'up'])
def test_hha_of_transformed_frame_matches_transformed_hha(op):
    """
    HHA(transform(frame)) ~ transform(HHA(frame)) on surface interiors. The true gravity is
    passed so that only the geometry (depth + intrinsics) is compared, not the gravity estimate.
    """
    s, g = _frame_sample(1)
    s['hha'] = _hha(s, g).astype(np.uint8)
    ops = {
        'crop': lambda x: T.crop(x, 10, 20, 96, 128),
        'pad': lambda x: T.crop(x, -8, -10, 136, 180),
        'down': lambda x: T.resize(x, 60, 80),
        'up': lambda x: T.resize(x, 180, 240),
    }
    out = ops[op](s)
    inner = _interior(out['label'], 9 if op != 'up' else 13) & out['valid']
    diff = np.abs(_hha(out, g) - out['hha'].astype(np.float32))[inner]
    assert inner.sum() > 1000
    tol = 0.5 if op in ('crop', 'pad') else 2.0
    assert np.all(diff.mean(axis=0) < tol), diff.mean(axis=0)
    if op == 'down':  # intrinsics left unscaled by mistake: clearly different HHA
        k = torch.from_numpy(s['intrinsics'].K.astype(np.float32))
        bad = compute_hha(torch.from_numpy(out['depth_m']), k, torch.from_numpy(out['valid']),
                          gravity=torch.from_numpy(g))[0].permute(1, 2, 0).numpy()
        assert np.abs(bad - out['hha'].astype(np.float32))[inner].mean() > 1.0


def test_rgb_ops_touch_only_rgb_and_depth_ops_only_depth():
    s, _ = _frame_sample()
    rng = np.random.default_rng(0)
    cfg = DataConfig(photometric_p=1.0, blur_p=1.0, rgb_noise_p=1.0, depth_noise_p=0.0,
                     depth_holes_p=0.0, flip_p=0.0, scales=(1.0,), crop_size=(120, 160))
    out = T.TrainTransform(cfg)(s, rng)
    assert not np.array_equal(out['rgb'], s['rgb'])
    np.testing.assert_array_equal(out['depth_m'], s['depth_m'])
    np.testing.assert_array_equal(out['label'], s['label'])
    cfg = dataclasses.replace(cfg, photometric_p=0.0, blur_p=0.0, rgb_noise_p=0.0,
                              depth_noise_p=1.0, depth_holes_p=1.0)
    out = T.TrainTransform(cfg)(s, rng)
    np.testing.assert_array_equal(out['rgb'], s['rgb'])
    assert not np.array_equal(out['depth_m'], s['depth_m'])
    assert out['valid'].sum() < s['valid'].sum()
    assert np.all(out['depth_m'][~out['valid']] == 0) and np.all(out['depth_m'][out['valid']] > 0)
    assert not (out['valid'] & ~s['valid']).any()  # holes only remove depth


def test_depth_noise_statistics():
    z = np.full((200, 200), 2.0, np.float32)
    rng = np.random.default_rng(3)
    out = T.depth_noise(z, np.ones_like(z, bool), rng, base_m=(0.001, 0.001),
                        quadratic=(0.002, 0.002))
    sigma = 0.001 + 0.002 * 4.0
    assert abs((out - z).mean()) < 3 * sigma / 200 and abs((out - z).std() / sigma - 1) < 0.03


def test_modality_dropout():
    s, _ = _frame_sample()
    base = DataConfig(flip_p=0.0, scales=(1.0,), crop_size=(120, 160), photometric_p=0.0,
                      blur_p=0.0, rgb_noise_p=0.0, depth_noise_p=0.0, depth_holes_p=0.0)
    out = T.TrainTransform(dataclasses.replace(base, depth_dropout_p=1.0))(
        s, np.random.default_rng(0))
    assert not out['valid'].any() and not out['depth_m'].any() and not out['depth_present']
    assert out['rgb_present'] and np.array_equal(out['rgb'], s['rgb'])
    out = T.TrainTransform(dataclasses.replace(base, rgb_dropout_p=1.0))(
        s, np.random.default_rng(0))
    assert np.all(out['rgb'] == np.array(T.MEAN_RGB, np.uint8)) and not out['rgb_present']
    both = T.TrainTransform(dataclasses.replace(base, rgb_dropout_p=1.0, depth_dropout_p=1.0))
    for seed in range(10):  # never both modalities at once
        o = both(s, np.random.default_rng(seed))
        assert o['rgb_present'] != o['depth_present']


def test_decoupled_shared_and_independent_geometry():
    s = _blocks()
    cfg = DataConfig(decoupled=True, crop_size=(40, 56), photometric_p=1.0, depth_noise_p=0.0,
                     depth_holes_p=0.0)
    out = T.TrainTransform(cfg)(s, np.random.default_rng(1))
    np.testing.assert_array_equal(out['depth_label'], out['label'])
    assert out['depth_intrinsics'] == out['intrinsics']
    ind = T.TrainTransform(dataclasses.replace(cfg, decoupled_geometry='independent',
                                               photometric_p=0.0))
    differ = 0
    for seed in range(6):
        o = ind(s, np.random.default_rng(seed))
        # each branch is consistent with its own labels and intrinsics
        rgb_branch = {k: o[k] for k in ('rgb', 'label', 'intrinsics')}
        depth_branch = {'label': o['depth_label'], 'depth_m': o['depth_m'], 'valid': o['valid']}
        known = depth_branch['label'] != 255
        np.testing.assert_allclose(depth_branch['depth_m'][known],
                                   1.05 ** depth_branch['label'][known].astype(float), rtol=0.03)
        assert np.all(rgb_branch['rgb'][rgb_branch['label'] == 255] == 0)
        differ += not np.array_equal(o['label'], o['depth_label'])
    assert differ >= 4


def test_same_generator_state_same_augmentation():
    s, _ = _frame_sample()
    cfg = DataConfig(crop_size=(64, 80), depth_noise_p=1.0, depth_holes_p=1.0,
                     photometric_p=1.0)
    a = T.TrainTransform(cfg)(s, np.random.default_rng(5))
    b = T.TrainTransform(cfg)(s, np.random.default_rng(5))
    for key in ('rgb', 'depth_m', 'valid', 'label'):
        np.testing.assert_array_equal(a[key], b[key])
    assert a['intrinsics'] == b['intrinsics']
