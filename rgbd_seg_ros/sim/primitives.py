# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The scene description the renderer reads: upright boxes, vertical cylinders, spheres, lights
and the room (``Scene``). World frame: x, y horizontal, z up, floor at z = 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rgbd_seg_ros.sim.materials import Material


@dataclass(frozen=True)
class Box:
    """Upright box: centre (m), half extents along its local x, y, z (m), rotation about z."""

    center: tuple[float, float, float]
    half: tuple[float, float, float]
    yaw: float  # rotation about world z, radians
    label: int  # class id (255 unlabeled)
    material: int  # index into Scene.materials


@dataclass(frozen=True)
class Cylinder:
    """Vertical cylinder: axis at (x, y), radius, spanning z0..z1 (m)."""

    center_xy: tuple[float, float]
    radius: float
    z0: float
    z1: float
    label: int
    material: int


@dataclass(frozen=True)
class Sphere:
    """Sphere: centre and radius (m)."""

    center: tuple[float, float, float]
    radius: float
    label: int
    material: int


Primitive = Box | Cylinder | Sphere


@dataclass(frozen=True)
class Light:
    """Point light: position (m) and linear RGB power (falls off with distance)."""

    position: tuple[float, float, float]
    power: tuple[float, float, float]


@dataclass
class Scene:
    """A room, its primitives, materials and lights."""

    size: tuple[float, float, float]  # room size x, y and ceiling height, metres
    floor_material: int  # index into materials
    ceiling_material: int
    wall_materials: tuple[int, int, int, int]  # walls y=0, x=size_x, y=size_y, x=0
    primitives: list[Primitive]
    materials: list[Material]
    lights: list[Light]
    ambient: float  # ambient light level (linear)
    free_floor: list[tuple[float, float, float]] = field(default_factory=list)  # kept clear
