# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Augmentation of numpy sample dicts (``rgb``, ``depth_m``, ``valid``, ``label``, ``intrinsics``,
optional ``hha``).

* Joint geometric ops (flip, scale, crop with padding) move every image of the sample together
  and update the intrinsics, so HHA computed afterwards stays correct. RGB is resized
  bilinearly; depth bilinearly in inverse depth on smooth surfaces (exact on planes) and by
  nearest neighbour at holes and discontinuities (no flying pixels); labels, validity and cached
  HHA by centre-aligned nearest neighbour. Padding: 0 for RGB, 255 (ignore) for labels,
  0 = invalid for depth.
* Photometric ops touch RGB only; depth ops (noise, holes, dropout) touch depth only.
* ``TrainTransform`` chains them from a ``DataConfig``. In the decoupled (CroDiNo-KD) mode the
  RGB and the depth branch each get their own pipeline and random stream; with
  ``decoupled_geometry='independent'`` each branch also gets its own geometry and carries its
  own label map and intrinsics (``depth_label``, ``depth_intrinsics``).

Every random op takes a ``numpy.random.Generator``; the same generator state gives the same
output.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from rgbd_seg_ros.core.hha import MISSING_HHA  # the HHA of missing depth (core.depth)
from rgbd_seg_ros.core.labels import IGNORE_INDEX
from training.data.config import DataConfig

Sample = dict[str, Any]

# RGB used for a dropped image: the ImageNet mean, so the normalised input is ~0
MEAN_RGB = (124, 116, 104)

_NEAREST = getattr(cv2, 'INTER_NEAREST_EXACT', cv2.INTER_NEAREST)


# -- joint geometric ops -------------------------------------------------------------------

def hflip(sample: Sample) -> Sample:
    """Mirror every image left-right; intrinsics follow (cx -> W - 1 - cx)."""
    out = dict(sample)
    for key in ('rgb', 'depth_m', 'valid', 'label', 'hha', 'depth_label'):
        if key in sample:
            out[key] = np.ascontiguousarray(sample[key][:, ::-1])
    out['intrinsics'] = sample['intrinsics'].flipped_horizontally()
    if 'depth_intrinsics' in sample:
        out['depth_intrinsics'] = sample['depth_intrinsics'].flipped_horizontally()
    return out


def resize_depth(depth_m: np.ndarray, valid: np.ndarray, height: int, width: int,
                 max_step: float = 0.03) -> tuple[np.ndarray, np.ndarray]:
    """
    Resize metric depth without inventing surfaces.

    Inverse depth is interpolated bilinearly (exact on planes) where all four source pixels are
    valid and the result is within ``max_step`` (relative) of the nearest source pixel; at holes
    and depth discontinuities the nearest source pixel is kept (no flying pixels).
    """
    size = (int(width), int(height))
    depth_nn = cv2.resize(depth_m, size, interpolation=_NEAREST)
    valid_nn = cv2.resize(valid.astype(np.uint8), size, interpolation=_NEAREST).astype(bool)
    inv = np.zeros_like(depth_m)
    np.divide(1.0, depth_m, out=inv, where=valid)
    inv_lin = cv2.resize(inv, size, interpolation=cv2.INTER_LINEAR)
    cover = cv2.resize(valid.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
    z_lin = np.zeros_like(inv_lin)
    full = (cover > 0.9999) & (inv_lin > 0)
    np.divide(1.0, inv_lin, out=z_lin, where=full)
    smooth = full & valid_nn & (np.abs(z_lin - depth_nn) <= max_step * depth_nn)
    depth = np.where(smooth, z_lin, np.where(valid_nn, depth_nn, 0.0)).astype(np.float32)
    return depth, valid_nn


def resize(sample: Sample, height: int, width: int) -> Sample:
    """
    Resize to ``height`` x ``width`` pixels: RGB bilinear, depth by ``resize_depth``, labels,
    validity and cached HHA nearest neighbour (pixel-centre aligned); intrinsics scaled with
    the OpenCV pixel-corner convention.
    """
    h, w = sample['label'].shape[:2]
    if (h, w) == (height, width):
        return dict(sample)
    out = dict(sample)
    size = (int(width), int(height))
    out['rgb'] = cv2.resize(sample['rgb'], size, interpolation=cv2.INTER_LINEAR)
    for key in ('label', 'hha', 'depth_label'):
        if key in sample:
            out[key] = cv2.resize(sample[key], size, interpolation=_NEAREST)
    out['depth_m'], out['valid'] = resize_depth(sample['depth_m'], sample['valid'], height,
                                                width)
    out['intrinsics'] = sample['intrinsics'].scaled(width, height)
    if 'depth_intrinsics' in sample:
        out['depth_intrinsics'] = sample['depth_intrinsics'].scaled(width, height)
    return out


_PAD = {'rgb': 0, 'depth_m': 0.0, 'valid': False, 'label': IGNORE_INDEX, 'hha': MISSING_HHA,
        'depth_label': IGNORE_INDEX}


def crop(sample: Sample, top: int, left: int, height: int, width: int) -> Sample:
    """
    The window of ``height`` x ``width`` pixels starting at row ``top``, column ``left``.

    Negative offsets or a window beyond the image pad: RGB 0, labels 255, depth 0 (invalid),
    HHA the all-missing value. Intrinsics: principal point shifted by the offset.
    """
    h, w = sample['label'].shape[:2]
    out = dict(sample)
    y0, y1 = max(top, 0), min(top + height, h)
    x0, x1 = max(left, 0), min(left + width, w)
    for key, pad in _PAD.items():
        if key not in sample:
            continue
        src = sample[key]
        if top >= 0 and left >= 0 and top + height <= h and left + width <= w:
            out[key] = np.ascontiguousarray(src[top:top + height, left:left + width])
            continue
        dst = np.empty((height, width) + src.shape[2:], src.dtype)
        dst[...] = pad
        if y1 > y0 and x1 > x0:
            dst[y0 - top:y1 - top, x0 - left:x1 - left] = src[y0:y1, x0:x1]
        out[key] = dst
    out['intrinsics'] = sample['intrinsics'].cropped(left, top, width, height)
    if 'depth_intrinsics' in sample:
        out['depth_intrinsics'] = sample['depth_intrinsics'].cropped(left, top, width, height)
    return out


def random_geometry(sample: Sample, rng: np.random.Generator, scales: tuple[float, ...],
                    crop_size: tuple[int, int], flip_p: float) -> Sample:
    """Flip with ``flip_p``, scale by a factor drawn from ``scales``, random (padded) crop."""
    if flip_p > 0 and rng.random() < flip_p:
        sample = hflip(sample)
    s = float(scales[int(rng.integers(len(scales)))])
    h, w = sample['label'].shape[:2]
    if s != 1.0:
        sample = resize(sample, max(1, int(round(h * s))), max(1, int(round(w * s))))
        h, w = sample['label'].shape[:2]
    ch, cw = crop_size
    top = int(rng.integers(min(0, h - ch), max(0, h - ch) + 1))
    left = int(rng.integers(min(0, w - cw), max(0, w - cw) + 1))
    return crop(sample, top, left, ch, cw)


# -- RGB-only ops ----------------------------------------------------------------------------

def color_jitter(rgb: np.ndarray, rng: np.random.Generator, brightness: float = 0.25,
                 contrast: float = 0.25, saturation: float = 0.3, hue_deg: float = 8.0
                 ) -> np.ndarray:
    """Random brightness, contrast, saturation (factors 1 +- value) and hue shift (degrees)."""
    img = rgb.astype(np.float32)
    img *= rng.uniform(1 - brightness, 1 + brightness)
    mean = img.mean()
    img = (img - mean) * rng.uniform(1 - contrast, 1 + contrast) + mean
    grey = img @ np.array([0.299, 0.587, 0.114], np.float32)
    img = grey[..., None] + (img - grey[..., None]) * rng.uniform(1 - saturation, 1 + saturation)
    out = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    if hue_deg > 0:
        hsv = cv2.cvtColor(out, cv2.COLOR_RGB2HSV)
        shift = int(round(rng.uniform(-hue_deg, hue_deg) / 2.0))  # OpenCV hue is 0..179
        hsv[..., 0] = ((hsv[..., 0].astype(np.int16) + shift) % 180).astype(np.uint8)
        out = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    return out


def blur(rgb: np.ndarray, rng: np.random.Generator, sigma: tuple[float, float] = (0.3, 1.5)
         ) -> np.ndarray:
    """Gaussian blur with sigma drawn from ``sigma`` (pixels)."""
    s = rng.uniform(*sigma)
    return cv2.GaussianBlur(rgb, (0, 0), sigmaX=s, sigmaY=s)


def rgb_noise(rgb: np.ndarray, rng: np.random.Generator, std: tuple[float, float] = (1.0, 6.0)
              ) -> np.ndarray:
    """Additive Gaussian noise, standard deviation drawn from ``std`` (grey levels)."""
    noise = rng.standard_normal(rgb.shape, dtype=np.float32) * np.float32(rng.uniform(*std))
    return np.clip(rgb.astype(np.float32) + noise + 0.5, 0, 255).astype(np.uint8)


# -- depth-only ops --------------------------------------------------------------------------

def depth_noise(depth_m: np.ndarray, valid: np.ndarray, rng: np.random.Generator,
                base_m: tuple[float, float] = (0.0005, 0.002),
                quadratic: tuple[float, float] = (0.001, 0.005)) -> np.ndarray:
    """
    Gaussian noise with sigma = base + quadratic * z^2 (metres), parameters drawn from the
    ranges; invalid pixels stay 0 and no valid pixel becomes <= 0.
    """
    sigma = rng.uniform(*base_m) + rng.uniform(*quadratic) * depth_m * depth_m
    noisy = depth_m + rng.standard_normal(depth_m.shape, dtype=np.float32) * sigma
    noisy = np.maximum(noisy, 1e-3)
    return np.where(valid, noisy, 0.0).astype(np.float32)


def depth_holes(depth_m: np.ndarray, valid: np.ndarray, rng: np.random.Generator,
                max_blobs: int = 6, max_speckle: float = 0.05, edge_p: float = 0.5
                ) -> tuple[np.ndarray, np.ndarray]:
    """
    Random holes: up to ``max_blobs`` ellipses (2-15 % of the image side), a speckle rate up to
    ``max_speckle``, and with probability ``edge_p`` the pixels at depth discontinuities.
    """
    h, w = depth_m.shape
    holes = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(0, max_blobs + 1))):
        center = (int(rng.integers(w)), int(rng.integers(h)))
        axes = (max(1, int(rng.uniform(0.02, 0.15) * w)), max(1, int(rng.uniform(0.02, 0.15) * h)))
        cv2.ellipse(holes, center, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    hole = holes.astype(bool)
    rate = rng.uniform(0.0, max_speckle)
    if rate > 0:
        hole |= rng.random((h, w), dtype=np.float32) < rate
    if rng.random() < edge_p:
        from training.data.holes import depth_discontinuities

        hole |= depth_discontinuities(depth_m, valid)
    new_valid = valid & ~hole
    return np.where(new_valid, depth_m, 0.0).astype(np.float32), new_valid


# -- the training pipeline -------------------------------------------------------------------

class TrainTransform:
    """
    The random training augmentation described by a ``DataConfig``.

    ``transform(sample, rng) -> sample``. Output keys: the input keys plus ``rgb_present`` and
    ``depth_present`` (bool, False after modality dropout); in decoupled mode also
    ``depth_label`` and ``depth_intrinsics``.
    """

    def __init__(self, cfg: DataConfig) -> None:
        self.cfg = cfg

    def _geometry(self, sample: Sample, rng: np.random.Generator) -> Sample:
        c = self.cfg
        return random_geometry(sample, rng, c.scales, c.crop_size, c.flip_p)

    def _rgb_ops(self, sample: Sample, rng: np.random.Generator) -> None:
        c = self.cfg
        rgb = sample['rgb']
        if rng.random() < c.photometric_p:
            rgb = color_jitter(rgb, rng)
        if rng.random() < c.blur_p:
            rgb = blur(rgb, rng)
        if rng.random() < c.rgb_noise_p:
            rgb = rgb_noise(rgb, rng)
        sample['rgb'] = rgb

    def _depth_ops(self, sample: Sample, rng: np.random.Generator) -> None:
        c = self.cfg
        if rng.random() < c.depth_noise_p:
            sample['depth_m'] = depth_noise(sample['depth_m'], sample['valid'], rng)
        if rng.random() < c.depth_holes_p:
            sample['depth_m'], sample['valid'] = depth_holes(sample['depth_m'], sample['valid'],
                                                             rng)

    def _modality_dropout(self, sample: Sample, rng: np.random.Generator) -> None:
        c = self.cfg
        drop_depth = rng.random() < c.depth_dropout_p
        drop_rgb = rng.random() < c.rgb_dropout_p
        if drop_depth and drop_rgb:  # never both: keep one at random
            drop_depth, drop_rgb = (True, False) if rng.random() < 0.5 else (False, True)
        sample['depth_present'] = not drop_depth
        sample['rgb_present'] = not drop_rgb
        if drop_depth:  # core.depth.missing_depth: every pixel invalid
            sample['depth_m'] = np.zeros_like(sample['depth_m'])
            sample['valid'] = np.zeros_like(sample['valid'])
            if 'hha' in sample:
                sample['hha'] = np.empty_like(sample['hha'])
                sample['hha'][...] = MISSING_HHA
        if drop_rgb:
            sample['rgb'] = np.empty_like(sample['rgb'])
            sample['rgb'][...] = MEAN_RGB

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        """Augment one sample (the input dict is not modified)."""
        c = self.cfg
        if not c.decoupled:
            out = self._geometry(sample, rng)
            self._rgb_ops(out, rng)
            self._depth_ops(out, rng)
            self._modality_dropout(out, rng)
            return out
        rng_geo, rng_rgb, rng_depth, rng_drop = rng.spawn(4)
        if c.decoupled_geometry == 'shared':
            rgb_branch = self._geometry(sample, rng_geo)
            depth_branch = dict(rgb_branch)
        else:
            rng_geo_depth = rng_geo.spawn(1)[0]
            rgb_branch = self._geometry(sample, rng_geo)
            depth_branch = self._geometry(sample, rng_geo_depth)
        self._rgb_ops(rgb_branch, rng_rgb)
        self._depth_ops(depth_branch, rng_depth)
        out = dict(rgb_branch)
        out['depth_m'] = depth_branch['depth_m']
        out['valid'] = depth_branch['valid']
        out['depth_label'] = depth_branch['label']
        out['depth_intrinsics'] = depth_branch['intrinsics']
        if 'hha' in depth_branch:
            out['hha'] = depth_branch['hha']
        self._modality_dropout(out, rng_drop)
        return out


class EvalTransform:
    """Deterministic evaluation preprocessing: optional resize; decoupled keys when asked."""

    def __init__(self, size: tuple[int, ...] = (), decoupled: bool = False) -> None:
        self.size = tuple(size)
        self.decoupled = decoupled

    def __call__(self, sample: Sample, rng: np.random.Generator | None = None) -> Sample:
        """Resize (if a size is set) and add ``depth_label``/``depth_intrinsics`` if decoupled."""
        out = resize(sample, self.size[0], self.size[1]) if self.size else dict(sample)
        if self.decoupled:
            out['depth_label'] = out['label']
            out['depth_intrinsics'] = out['intrinsics']
        return out

