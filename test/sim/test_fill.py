# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""``fill_depth``: NYU-style hole filling against closed-form surfaces."""

import numpy as np
import pytest

from rgbd_seg_ros.sim.fill import fill_depth


def _grid(h=60, w=80):
    return np.mgrid[0:h, 0:w].astype(np.float32)


def test_a_hole_in_a_plane_is_filled_with_the_plane():
    yy, xx = _grid()
    plane = 1.0 + 0.02 * xx + 0.01 * yy  # metres; harmonic, so the fill is exact in the limit
    valid = np.ones(plane.shape, bool)
    valid[20:35, 30:50] = False
    filled, ok = fill_depth(np.where(valid, plane, 0.0).astype(np.float32), valid)
    assert ok.all()
    assert np.abs(filled - plane)[~valid].max() < 0.005  # 5 mm inside a 15 x 20 px hole
    np.testing.assert_array_equal(filled[valid], plane[valid])  # valid depth is kept exactly


def test_the_image_keeps_the_fill_on_its_own_surface():
    yy, xx = _grid()
    depth = np.where(xx < 40, 1.0, 3.0).astype(np.float32)  # two walls meeting at column 40
    rgb = np.zeros(depth.shape + (3,), np.uint8)
    rgb[:, 40:] = 200  # ... painted in two colours
    valid = np.ones(depth.shape, bool)
    valid[10:50, 20:60] = False  # the hole straddles the edge
    guided, _ = fill_depth(np.where(valid, depth, 0.0).astype(np.float32), valid, rgb)
    assert np.abs(guided - depth)[~valid].max() < 1e-3
    blind, _ = fill_depth(np.where(valid, depth, 0.0).astype(np.float32), valid)
    assert np.abs(blind - depth)[~valid].max() > 0.5  # without the image it blurs the edge


def test_a_map_without_valid_depth_stays_invalid_and_a_full_one_is_unchanged():
    empty, ok = fill_depth(np.zeros((8, 8), np.float32), np.zeros((8, 8), bool))
    assert not ok.any() and not empty.any()
    full = np.full((8, 8), 2.5, np.float32)
    same, ok = fill_depth(full, np.ones((8, 8), bool))
    assert ok.all()
    np.testing.assert_array_equal(same, full)


def test_the_fill_stays_within_the_range_of_the_valid_depth_on_odd_sizes():
    rng = np.random.default_rng(0)
    depth = rng.uniform(0.5, 4.0, (37, 53)).astype(np.float32)
    valid = rng.random(depth.shape) > 0.6  # 60 % holes, odd sides: every pyramid pads
    filled, _ = fill_depth(np.where(valid, depth, 0.0).astype(np.float32), valid)
    assert filled.min() >= depth[valid].min() - 1e-6 and filled.max() <= depth[valid].max() + 1e-6


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError, match='same'):
        fill_depth(np.zeros((4, 4), np.float32), np.zeros((4, 5), bool))
    with pytest.raises(ValueError, match='rgb'):
        fill_depth(np.zeros((4, 4), np.float32), np.zeros((4, 4), bool),
                   np.zeros((5, 4, 3), np.uint8))
