# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""Realistic depth holes at a chosen valid fraction (training/data/holes.py)."""

import numpy as np
import pytest

from training.data.holes import EDGE_BONUS, WEIGHTS, degrade_depth


def _scene(h=48, w=64):
    depth = np.full((h, w), 2.0, np.float32)
    valid = np.ones((h, w), bool)
    rgb = np.full((h, w, 3), 128, np.uint8)
    return depth, valid, rgb


@pytest.mark.parametrize('fraction', [1.0, 0.75, 0.5, 0.25, 0.0])
def test_the_fraction_is_kept_to_the_pixel(fraction):
    depth, valid, rgb = _scene()
    valid[:5] = False  # already missing: not counted
    out, keep = degrade_depth(depth, valid, rgb, fraction, np.random.default_rng(0))
    assert keep.sum() == round(fraction * valid.sum())
    assert not keep[:5].any() and np.all(out[~keep] == 0) and np.all(out[keep] == 2.0)
    if fraction == 0.0:
        assert not out.any()  # core.depth.missing_depth


def test_holes_are_nested_across_fractions():
    rng = np.random.default_rng(3)
    depth = rng.uniform(0.5, 6.0, (48, 64)).astype(np.float32)
    rgb = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    valid = np.ones((48, 64), bool)
    keeps = [degrade_depth(depth, valid, rgb, f, np.random.default_rng(7))[1]
             for f in (0.75, 0.5, 0.25)]
    assert np.all(keeps[1] <= keeps[0]) and np.all(keeps[2] <= keeps[1])


def test_far_surfaces_lose_depth_before_near_ones():
    """Near half 1 m, far half 5 m: far - near propensity 0.35 * 0.8 > the blob term's 0.25."""
    depth, valid, rgb = _scene()
    depth[:, :32], depth[:, 32:] = 1.0, 5.0
    assert WEIGHTS['far'] * (1 - 1 / 5) > WEIGHTS['blob']
    _, keep = degrade_depth(depth, valid, rgb, 0.5, np.random.default_rng(1))
    lost = ~keep
    edge = np.zeros_like(lost)
    edge[:, 31:33] = True  # the discontinuity, lost first (EDGE_BONUS)
    # dark and shiny exclude each other (shiny needs luminance > 200): the highest propensity
    # without an edge is far + dark + blob, below the edge bonus
    assert EDGE_BONUS > WEIGHTS['far'] + WEIGHTS['dark'] + WEIGHTS['blob'] and lost[edge].all()
    assert not lost[:, :31].any()  # nothing near is lost while far pixels remain


def test_dark_then_shiny_surfaces_lose_depth_before_grey_ones():
    """
    Without the blob term the order is closed-form: dark (propensity 0.25 * 0.96 = 0.24), shiny
    (0.15), grey (0.25 * 0.5 = 0.125); 16 + 16 of 64 columns lost at fraction 0.5.
    """
    depth, valid, rgb = _scene()
    rgb[:, :16] = 10
    rgb[:, 48:] = 255
    no_blob = {**WEIGHTS, 'blob': 0.0}
    _, keep = degrade_depth(depth, valid, rgb, 0.5, np.random.default_rng(2), no_blob)
    assert not keep[:, :16].any() and not keep[:, 48:].any() and keep[:, 16:48].all()
    _, keep = degrade_depth(depth, valid, rgb, 0.75, np.random.default_rng(2), no_blob)
    assert not keep[:, :16].any() and keep[:, 16:].all()


def test_blobs_make_holes_coherent():
    """With everything else equal, the lost pixels cluster: most lost neighbours are lost."""
    depth, valid, rgb = _scene(96, 128)
    _, keep = degrade_depth(depth, valid, rgb, 0.7, np.random.default_rng(5))
    lost = ~keep
    same = (lost[:, 1:] & lost[:, :-1]).sum() / max(1, lost[:, 1:].sum())
    assert same > 0.9  # uniform random holes would give ~0.3


def test_bad_fraction_is_refused():
    depth, valid, rgb = _scene()
    with pytest.raises(ValueError, match='fraction'):
        degrade_depth(depth, valid, rgb, 1.5, np.random.default_rng(0))
