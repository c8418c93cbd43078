# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Named variants of the synthetic world: which modality is primary.

A ``WorldStyle`` sets the knobs of the room generator and the sensor model that decide how much
each modality can tell apart. Three variants are shipped (``WORLDS``):

``nyu_like`` (the default, ``DEFAULT_WORLD``: every tool renders it unless told otherwise)
    Meant to give, at convergence, depth-only / RGB-only mIoU of 0.75-0.95 and RGB-D fusion /
    RGB-only of 1.05-1.20, the ratios of NYU Depth v2: RGB is the primary modality. The knobs are
    set from those facts and from the full protocol's teachers
    (bench/log/2026-12-04-calibrating-nyu_like.md, 96x128: depth / RGB 0.816 in the window,
    RGB-D / RGB 1.212 just above it). The shipped demo
    models (models/demo, ``training/configs/demo_*.yaml``) are trained on it. Cabinets have their
    own materials and handles; tables, chairs and shelves have looks of their own that also keep
    them apart from the floor (dark woods or laminates, upholstery colours, flat-pack paints:
    ``distinct_furniture``); doors have a flat casing (appearance only); floor mats are thin rugs
    of their own fabric (flat in depth), boxes rarely wear a picture's texture, walls carry more
    flush pictures and whiteboards, supports carry flat paper and books (appearance only), doors
    sit 5 mm proud of the wall, and the depth sensor behaves like a Kinect v1: disparity
    quantised to 1/8 pixel (depth steps growing with the square of the distance: 0.1 m at 6 m),
    depth returned out to 8 m (beyond the 4.5 m of reliable range it is coarse, not missing; a
    4.5 m cut-off left the far walls of large rooms empty: depth / RGB 0.71 against 0.81 with the
    8 m range, bench/log/2026-12-02-calibration-quick.md), wider projector shadows and more
    holes on dark surfaces.
``nyu_like_v1``
    ``nyu_like`` before the furniture looks and door casings (tables in the floors' wood tones;
    measured: depth / RGB 0.82, RGB-D / RGB 1.25): the world of earlier demo models, kept so
    that they can still be scored on the frames they saw.
``depth_favoured``
    The world before the calibration and the default until ``nyu_like`` (converged depth 42.8 vs
    RGB 33.2 % mIoU): floor mats are raised 3-6 cm in the floor's own material, ~45 % of
    cabinets wear the wall's material without handles, ~30 % of boxes wear a picture's texture.
    Kept because how PrimKD's gain depends on which modality is primary is itself a result
    (docs/results.md); ``--world depth_favoured`` (or ``data.synthetic_world``) selects it.

Every frame of a style is a pure function of ``(seed, index)``; styles whose knobs differ draw
different random numbers, so their rooms differ.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from rgbd_seg_ros.sim.sensor import SensorConfig

KNOWN_FLOOR_MATS = ('raised', 'rug')


@dataclass(frozen=True)
class WorldStyle:
    """Room-generator and sensor knobs of one world variant (see the module docstring)."""

    name: str
    cabinet_wall_material_p: float  # cabinets in the wall's own material (no handles)
    box_picture_wrap_p: float  # boxes wrapped in the texture of a picture on the wall
    floor_mat: str  # 'raised' (3-6 cm, floor material) | 'rug' (5-12 mm, own fabric)
    pictures: tuple[int, int]  # number of wall pictures: integers(lo, hi)
    whiteboard_p: float  # a wall picture is a whiteboard (white, thin dark frame)
    flat_object_p: float  # an object on a support is flat paper or a lying book (3-15 mm)
    door_proud_m: float  # how far the door leaf stands out of the wall, metres
    class_materials: bool = False  # tables, chairs, cabinets draw their own kinds and colours
    distinct_furniture: bool = False  # ... and looks apart from the floor's (shelves too)
    door_casing_m: float = 0.0  # width of a flat casing around doors (0: none), metres
    sensor: SensorConfig = field(default_factory=SensorConfig)

    def __post_init__(self) -> None:
        if self.floor_mat not in KNOWN_FLOOR_MATS:
            raise ValueError(f'WorldStyle.floor_mat: unknown value {self.floor_mat!r}; expected '
                             f'one of {KNOWN_FLOOR_MATS}')
        for name in ('cabinet_wall_material_p', 'box_picture_wrap_p', 'whiteboard_p',
                     'flat_object_p'):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f'WorldStyle.{name} must be in [0, 1]')
        lo, hi = self.pictures
        if not 0 <= lo < hi:
            raise ValueError(f'WorldStyle.pictures must be (lo, hi) with 0 <= lo < hi, got '
                             f'{self.pictures}')
        if not 0.0 <= self.door_proud_m <= 0.1:
            raise ValueError('WorldStyle.door_proud_m must be in [0, 0.1] m')
        if not 0.0 <= self.door_casing_m <= 0.2:
            raise ValueError('WorldStyle.door_casing_m must be in [0, 0.2] m')


DEPTH_FAVOURED = WorldStyle(
    name='depth_favoured', cabinet_wall_material_p=0.45, box_picture_wrap_p=0.3,
    floor_mat='raised', pictures=(1, 5), whiteboard_p=0.0, flat_object_p=0.0,
    door_proud_m=0.02, sensor=SensorConfig(),
)

# Kinect v1 (structured light, NYU Depth v2): 1/8-pixel disparity steps with f = 580 px (at
# 640 px width) and a 7.5 cm baseline (Khoshelham & Elberink 2012), 0.5-4.5 m reliable range;
# the sensor still returns (coarse) depth out to ~8 m, as NYU's raw frames do.
_KINECT_V1 = SensorConfig(min_depth_m=0.5, max_depth_m=8.0, disparity_step_px=0.125,
                          shadow_width_px=9.0, dark_hole_prob=0.85)
NYU_LIKE = WorldStyle(
    name='nyu_like', cabinet_wall_material_p=0.1, box_picture_wrap_p=0.05,
    floor_mat='rug', pictures=(2, 7), whiteboard_p=0.3, flat_object_p=0.35,
    door_proud_m=0.005, class_materials=True, distinct_furniture=True, door_casing_m=0.07,
    sensor=_KINECT_V1,
)
# nyu_like before its furniture looks and door casings (the world of earlier demo models).
NYU_LIKE_V1 = dataclasses.replace(NYU_LIKE, name='nyu_like_v1', distinct_furniture=False,
                                  door_casing_m=0.0)

WORLDS: dict[str, WorldStyle] = {s.name: s for s in (NYU_LIKE, NYU_LIKE_V1, DEPTH_FAVOURED)}
DEFAULT_WORLD = 'nyu_like'  # every tool's default: the world the shipped demo models saw


def world_style(world: str | WorldStyle | None) -> WorldStyle:
    """The style named ``world`` (``None``: ``DEFAULT_WORLD``); a style passes through."""
    if isinstance(world, WorldStyle):
        return world
    name = DEFAULT_WORLD if world is None else world
    if name not in WORLDS:
        raise ValueError(f'unknown synthetic world {name!r}; expected one of {tuple(WORLDS)}')
    return WORLDS[name]
