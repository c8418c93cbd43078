# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Procedural indoor rooms built from primitives.

World frame: x, y horizontal, z up, floor at z = 0; the room is the box
``[0, size_x] x [0, size_y] x [0, height]`` seen from inside. Furniture is made of upright boxes
(rotated about z only), vertical cylinders and spheres, placed plausibly: cabinets, shelves,
doors, windows and pictures against the walls, tables with chairs on the free floor, boxes and
crates on the floor or stacked, small objects on tables, cabinets and shelf boards.

Layout: ``primitives.py`` (what a scene is made of), ``builder.py`` (occupancy while
furnishing), ``walls.py`` and ``floor.py`` (the placement steps); this module runs them.
"""

from __future__ import annotations

import numpy as np

from rgbd_seg_ros.sim.builder import Builder, uniform
from rgbd_seg_ros.sim.floor import (
    place_boxes,
    place_floor_mats,
    place_lights,
    place_objects,
    place_tables_and_chairs,
)
from rgbd_seg_ros.sim.materials import random_material
from rgbd_seg_ros.sim.primitives import Box, Cylinder, Light, Scene, Sphere
from rgbd_seg_ros.sim.style import WorldStyle, world_style
from rgbd_seg_ros.sim.walls import place_doors_windows, place_pictures, place_wall_furniture

__all__ = ['Box', 'Cylinder', 'Light', 'Scene', 'Sphere', 'draw_room_size', 'generate_scene']


def draw_room_size(rng: np.random.Generator) -> tuple[float, float, float]:
    """Room size x, y (3.2-7 m, 3.2-8 m) and ceiling height (2.4-3.1 m)."""
    return uniform(rng, 3.2, 7.0), uniform(rng, 3.2, 8.0), uniform(rng, 2.4, 3.1)


def generate_scene(rng: np.random.Generator,
                   keep_clear: list[tuple[float, float, float]] | None = None,
                   size: tuple[float, float, float] | None = None,
                   world: str | WorldStyle | None = None) -> Scene:
    """
    Draw a furnished room of the world variant ``world`` (``sim.style``; None: the default).

    :param rng: the only source of randomness (same generator state -> same scene).
    :param keep_clear: floor disks ``(x, y, radius)`` in metres where no furniture may stand
        (camera positions and trajectories), in the room frame.
    :param size: room size (x, y, height) in metres; drawn with ``draw_room_size`` if None
        (draw it first when ``keep_clear`` depends on it).
    """
    if size is None:
        size = draw_room_size(rng)
    return _furnish(rng, size, list(keep_clear or []), world_style(world))


def _furnish(rng: np.random.Generator, size: tuple[float, float, float],
             keep_clear: list[tuple[float, float, float]], style: WorldStyle) -> Scene:
    b = Builder(rng, size, keep_clear, style)
    floor_kind = ('wood', 'tiles', 'fabric')[int(rng.choice(3, p=[0.45, 0.3, 0.25]))]
    floor_mat = b.material(floor_kind, world_uv=True)
    ceiling_mat = b.material('paint', world_uv=True,
                             color_a=random_material(rng, 'paint').color_a * 1.05)
    wall_kind = 'wallpaper' if rng.random() < 0.25 else 'paint'
    main_wall = b.material(wall_kind, world_uv=True)
    walls = [main_wall] * 4
    if rng.random() < 0.35:  # one accent wall
        walls[int(rng.integers(4))] = b.material('paint', world_uv=True)

    place_doors_windows(b)
    place_wall_furniture(b, walls)
    place_pictures(b)
    place_tables_and_chairs(b)
    place_boxes(b)
    place_floor_mats(b, floor_mat)
    place_objects(b)
    lights, ambient = place_lights(b)
    return Scene(size=size, floor_material=floor_mat, ceiling_material=ceiling_mat,
                 wall_materials=tuple(walls), primitives=b.prims, materials=b.materials,
                 lights=lights, ambient=ambient, free_floor=list(keep_clear))
