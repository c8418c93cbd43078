# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""The world variants' appearance knobs (sim.style): class materials and door casings."""

import numpy as np
import pytest

from rgbd_seg_ros.sim import classes as C
from rgbd_seg_ros.sim.primitives import Box
from rgbd_seg_ros.sim.style import NYU_LIKE, WorldStyle
from rgbd_seg_ros.sim.world import sample_view


def _floor_lookalikes(world: str, label: int, scenes: int = 60) -> float:
    """Share of ``label``'s primitives, in rooms with a wood floor, coloured like that floor."""
    near = total = 0
    for i in range(scenes):
        scene, _, _ = sample_view(7, i, 64, 48, world)
        floor = scene.materials[scene.floor_material]
        if floor.kind != 'wood':
            continue
        floor_srgb = floor.color_a ** (1 / 2.2)
        for p in scene.primitives:
            if p.label == label:
                srgb = scene.materials[p.material].color_a ** (1 / 2.2)
                near += float(np.abs(srgb - floor_srgb).max()) < 0.1  # within 10 % per channel
                total += 1
    assert total > 50, f'too few {label} primitives to measure'
    return near / total


def test_nyu_like_tables_do_not_wear_the_wood_floor_colour():
    # depth_favoured draws tables from the floors' own wood tones (~1 in 4 looks like the floor);
    # nyu_like's tables are dark woods or laminates, so appearance tells them from the floor
    assert _floor_lookalikes('depth_favoured', C.TABLE) > 0.15
    assert _floor_lookalikes('nyu_like', C.TABLE) < 0.08


def test_nyu_like_doors_have_a_flat_casing_around_the_leaf():
    seen = 0
    for i in range(40):
        for world, casing in (('nyu_like', NYU_LIKE.door_casing_m), ('depth_favoured', 0.0)):
            scene, _, _ = sample_view(3, i, 64, 48, world)
            doors = [p for p in scene.primitives if isinstance(p, Box) and p.label == C.DOOR]
            thin = [p for p in doors if 2 * p.half[1] < 0.004]  # 3 mm: flat on the wall
            leaves = [p for p in doors if abs(2 * p.half[1] - 0.04) < 1e-6]
            if casing == 0.0:
                assert not thin
                continue
            assert len(thin) == 3 * len(leaves)  # two jambs and a head per leaf
            widths = [2 * p.half[0] for p in thin]
            for leaf in leaves:
                seen += 1
                # the head spans the leaf plus both jambs: leaf width + 2 casings
                assert any(abs(w - (2 * leaf.half[0] + 2 * casing)) < 1e-6 for w in widths)
                # the jambs reach the head's top: leaf height + casing
                assert any(abs(2 * p.half[2] - (2 * leaf.half[2] + casing)) < 1e-6
                           for p in thin)
    assert seen > 10


def test_door_casing_width_is_checked():
    with pytest.raises(ValueError, match='door_casing_m'):
        WorldStyle(name='x', cabinet_wall_material_p=0.1, box_picture_wrap_p=0.0,
                   floor_mat='rug', pictures=(1, 2), whiteboard_p=0.0, flat_object_p=0.0,
                   door_proud_m=0.0, door_casing_m=0.5)
