# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Depth with realistic holes at a chosen valid fraction: scoring depth-reading models where robots
live (between full depth and ``core.depth.missing_depth``).

Active depth sensors lose returns in coherent regions, not uniformly at random: far surfaces
(weak return, beyond range), dark surfaces (they absorb the infrared pattern), shiny ones
(specular: the pattern reflects away), object boundaries (shadowing, flying pixels), and blobs
where several of these meet. ``degrade_depth`` gives every valid pixel a hole propensity

    p = 0.35 far + 0.25 dark + 0.15 shiny + 0.25 blob (+ 1 at a depth discontinuity)

with ``far = depth / max valid depth``, ``dark = 1 - luminance / 255``, ``shiny = max(0,
luminance - 200) / 55``, ``blob`` a smooth random field in [0, 1] (a coarse grid of uniform
draws, upsampled bicubically) and a tiny random jitter that breaks ties, then removes the valid
pixels of highest propensity until ``fraction`` of them remain (exactly, to the pixel). With
the same ``rng`` state the holes are nested: those at 0.5 contain those at 0.75.
"""

from __future__ import annotations

import cv2
import numpy as np

WEIGHTS = {'far': 0.35, 'dark': 0.25, 'shiny': 0.15, 'blob': 0.25}
EDGE_BONUS = 1.0  # depth discontinuities go first
BLOB_GRID = 6  # cells of the blob field along the shorter side


def depth_discontinuities(depth_m: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Pixels next to a depth jump of more than 5 % (bool ``[H, W]``)."""
    d = np.where(valid, depth_m, 0.0)
    jump = np.zeros(d.shape, bool)
    jx = np.abs(np.diff(d, axis=1)) > 0.05 * np.maximum(d[:, 1:], d[:, :-1])
    jy = np.abs(np.diff(d, axis=0)) > 0.05 * np.maximum(d[1:], d[:-1])
    jump[:, 1:] |= jx
    jump[:, :-1] |= jx
    jump[1:] |= jy
    jump[:-1] |= jy
    return jump


def hole_propensity(depth_m: np.ndarray, valid: np.ndarray, rgb: np.ndarray,
                    rng: np.random.Generator, weights: dict[str, float] | None = None
                    ) -> np.ndarray:
    """
    The propensity of each pixel to lose its depth (module docstring), float32 ``[H, W]``;
    ``weights`` replaces ``WEIGHTS`` (same keys).

    :param depth_m: float metres ``[H, W]``.
    :param valid: bool ``[H, W]``.
    :param rgb: uint8 ``[H, W, 3]`` registered to the depth.
    """
    h, w = depth_m.shape
    far_max = float(depth_m[valid].max()) if valid.any() else 1.0
    far = np.where(valid, depth_m, 0.0) / max(far_max, 1e-6)
    lum = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    dark = 1.0 - lum / 255.0
    shiny = np.clip((lum - 200.0) / 55.0, 0.0, 1.0)
    cells = max(2, round(BLOB_GRID * max(h, w) / min(h, w)))
    grid = rng.random((BLOB_GRID, cells) if h <= w else (cells, BLOB_GRID)).astype(np.float32)
    blob = np.clip(cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC), 0.0, 1.0)
    wt = WEIGHTS if weights is None else weights
    p = (wt['far'] * far + wt['dark'] * dark + wt['shiny'] * shiny + wt['blob'] * blob
         + EDGE_BONUS * depth_discontinuities(depth_m, valid))
    return (p + 1e-4 * rng.random((h, w))).astype(np.float32)


def degrade_depth(depth_m: np.ndarray, valid: np.ndarray, rgb: np.ndarray, fraction: float,
                  rng: np.random.Generator, weights: dict[str, float] | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """
    Keep ``fraction`` (0..1) of the valid depth pixels, removing those most likely to be lost
    (``hole_propensity``; ``weights`` as there).

    :returns: (float32 metres ``[H, W]`` with 0 at every invalid pixel, bool valid ``[H, W]``);
        ``fraction`` 0 gives ``core.depth.missing_depth``, 1 the input (its invalid pixels 0).
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f'fraction must be in [0, 1], got {fraction}')
    valid = np.asarray(valid, bool) & np.isfinite(depth_m) & (depth_m > 0)
    p = hole_propensity(depth_m, valid, rgb, rng, weights)
    idx = np.flatnonzero(valid)
    drop = idx.size - int(round(fraction * idx.size))
    keep = valid.copy()
    if drop > 0:
        order = np.argsort(-p.reshape(-1)[idx], kind='stable')
        keep.reshape(-1)[idx[order[:drop]]] = False
    return np.where(keep, depth_m, 0.0).astype(np.float32), keep
