# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Image-guided hole filling of a depth map, as in NYU Depth v2's labelled set.

NYU's labelled frames train and test on *filled* depth (``depths``: the raw Kinect depth
in-painted by colourisation, Levin et al. 2004), not on the raw depth with its holes
(``rawDepths``); the papers report on the filled depth. ``fill_depth`` gives the synthetic world
the same option (``data.synthetic_depth: filled``). It solves the same kind of problem as the
colourisation fill: each missing depth is the weighted mean of its 4 neighbours, with weights
``exp(-(Y_p - Y_q)^2 / (2 sigma^2))`` from the image's luminance ``Y``, so depth spreads within a
surface of one colour and not across a colour edge; the valid depths are fixed. The linear
system is relaxed coarse-to-fine (a pyramid of Jacobi sweeps), which converges in a few dozen
sweeps per level. Without an image the weights are all 1 (harmonic interpolation: exact on
planes). The live camera and the node keep the raw depth: filling is what a dataset does
offline, not what a sensor delivers.
"""

from __future__ import annotations

import numpy as np

GUIDE_SIGMA = 0.05  # luminance difference (0-1) at which a neighbour's weight falls to e^-1/2
SWEEPS_PER_LEVEL = 40  # Jacobi sweeps on each pyramid level
_MIN_SIDE = 4  # the coarsest level: start from the mean of the valid depths


def fill_depth(depth_m: np.ndarray, valid: np.ndarray, rgb: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """
    Fill the invalid pixels of ``depth_m`` (float32 ``[H, W]``, metres, 0 = invalid).

    ``rgb``: uint8 ``[H, W, 3]`` guide image, or None (unguided). Valid pixels keep their depth
    exactly; a map with no valid pixel is returned unchanged. Returns ``(filled_m float32
    [H, W], valid bool [H, W])``, every pixel valid after a fill.
    """
    if depth_m.ndim != 2 or depth_m.shape != valid.shape:
        raise ValueError(f'fill_depth: depth {depth_m.shape} and valid {valid.shape} must be the '
                         f'same [H, W]')
    if rgb is not None and rgb.shape[:2] != depth_m.shape:
        raise ValueError(f'fill_depth: rgb {rgb.shape} does not match depth {depth_m.shape}')
    known = valid.astype(bool) & (depth_m > 0)
    if known.all() or not known.any():
        return np.where(known, depth_m, 0.0).astype(np.float32), known
    if rgb is None:
        guide = np.zeros(depth_m.shape, np.float32)
    else:
        guide = (rgb[..., :3].astype(np.float32) @ np.float32([0.299, 0.587, 0.114])) / 255.0
    depth = np.where(known, depth_m, 0.0).astype(np.float64)
    filled = _fill_level(depth, known, guide.astype(np.float64))
    filled = np.where(known, depth_m, filled).astype(np.float32)
    return filled, np.ones_like(known)


def _fill_level(depth: np.ndarray, known: np.ndarray, guide: np.ndarray) -> np.ndarray:
    """One pyramid level: the coarser level's answer, then Jacobi sweeps on this one."""
    h, w = depth.shape
    if min(h, w) <= _MIN_SIDE:
        x = np.full((h, w), depth[known].mean() if known.any() else 0.0)
    else:
        cd, ck, cg = _downsample(depth, known, guide)
        coarse = _fill_level(cd, ck, cg)
        x = np.repeat(np.repeat(coarse, 2, axis=0), 2, axis=1)[:h, :w]
    x = np.where(known, depth, x)
    if not known.any():
        return x
    # weights to the right and lower neighbour; the left/upper ones are the same, shifted
    wx = np.exp(-np.diff(guide, axis=1) ** 2 / (2 * GUIDE_SIGMA ** 2))
    wy = np.exp(-np.diff(guide, axis=0) ** 2 / (2 * GUIDE_SIGMA ** 2))
    total = np.zeros((h, w))
    total[:, :-1] += wx
    total[:, 1:] += wx
    total[:-1] += wy
    total[1:] += wy
    total = np.maximum(total, 1e-12)
    hole = ~known
    for _ in range(SWEEPS_PER_LEVEL):
        acc = np.zeros((h, w))
        acc[:, :-1] += wx * x[:, 1:]
        acc[:, 1:] += wx * x[:, :-1]
        acc[:-1] += wy * x[1:]
        acc[1:] += wy * x[:-1]
        x = np.where(hole, acc / total, x)
    return x


def _downsample(depth: np.ndarray, known: np.ndarray, guide: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """2x2 means: the depth over the known pixels only, the guide over all; padded to even."""
    h, w = depth.shape
    ph, pw = h % 2, w % 2
    if ph or pw:
        depth = np.pad(depth, ((0, ph), (0, pw)), mode='edge')
        known = np.pad(known, ((0, ph), (0, pw)), mode='edge')
        guide = np.pad(guide, ((0, ph), (0, pw)), mode='edge')
    hh, ww = depth.shape[0] // 2, depth.shape[1] // 2

    def pool(a: np.ndarray) -> np.ndarray:
        return a.reshape(hh, 2, ww, 2).sum(axis=(1, 3))

    k = known.astype(np.float64)
    count = pool(k)
    cd = np.where(count > 0, pool(depth * k) / np.maximum(count, 1), 0.0)
    return cd, count > 0, pool(guide) / 4.0
