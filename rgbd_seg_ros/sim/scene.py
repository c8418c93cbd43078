# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Procedural indoor rooms built from primitives.

World frame: x, y horizontal, z up, floor at z = 0; the room is the box
``[0, size_x] x [0, size_y] x [0, height]`` seen from inside. Furniture is made of upright boxes
(rotated about z only), vertical cylinders and spheres, placed plausibly: cabinets, shelves,
doors, windows and pictures against the walls, tables with chairs on the free floor, boxes and
crates on the floor or stacked, small objects on tables, cabinets and shelf boards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math

import numpy as np

from rgbd_seg_ros.sim import classes as C
from rgbd_seg_ros.sim.materials import Material, random_material, srgb_to_linear
from rgbd_seg_ros.sim.style import WorldStyle, world_style


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


@dataclass
class _Support:
    """A horizontal surface objects can stand on."""

    center: tuple[float, float]
    half: tuple[float, float]
    yaw: float
    z: float
    max_height: float  # free height above the surface
    items: list[tuple[float, float, float]] = field(default_factory=list)  # (x, y, r) local


class _Builder:
    """Mutable state while a scene is generated: layout occupancy and the primitive list."""

    def __init__(self, rng: np.random.Generator, size: tuple[float, float, float],
                 keep_clear: list[tuple[float, float, float]], style: WorldStyle) -> None:
        self.rng = rng
        self.style = style
        self.size = size
        self.keep_clear = keep_clear
        self.footprints: list[tuple[float, float, float, float]] = []
        self.wall_rects: dict[int, list[tuple[float, float, float, float]]] = {
            k: [] for k in range(4)}
        self.prims: list[Primitive] = []
        self.materials: list[Material] = []
        self.supports: list[_Support] = []
        self.pictures: list[int] = []

    # -- materials --------------------------------------------------------------------------
    def material(self, kind: str, **overrides: object) -> int:
        self.materials.append(random_material(self.rng, kind, **overrides))
        return len(self.materials) - 1

    def furniture_material(self, label: int | None = None) -> int:
        """
        A furniture material: from the pool every class shares, or, in a world whose style has
        ``class_materials``, from the class's own kinds and colours (``_CLASS_MATERIALS``).
        """
        if self.style.class_materials and label in _CLASS_MATERIALS:
            kinds, probs, colors = _CLASS_MATERIALS[label]
            kind = kinds[int(self.rng.choice(len(kinds), p=probs))]
            if colors is None:
                return self.material(kind)
            color = colors[int(self.rng.integers(len(colors)))]
            return self.material(kind, color_a=srgb_to_linear(color))
        kind = ('wood', 'paint', 'plastic', 'metal', 'fabric')[
            int(self.rng.choice(5, p=[0.4, 0.25, 0.15, 0.1, 0.1]))]
        return self.material(kind)

    # -- walls ------------------------------------------------------------------------------
    def wall_frame(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
        """(start xy, tangent, inward normal, length, yaw) of wall k."""
        sx, sy, _ = self.size
        starts = ((0.0, 0.0), (sx, 0.0), (sx, sy), (0.0, sy))
        tangents = ((1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0))
        lengths = (sx, sy, sx, sy)
        t = np.array(tangents[k])
        n = np.array((-t[1], t[0]))
        return np.array(starts[k]), t, n, lengths[k], k * math.pi / 2.0

    def wall_rect_free(self, k: int, rect: tuple[float, float, float, float],
                       margin: float = 0.05) -> bool:
        s0, s1, z0, z1 = rect
        for a0, a1, b0, b1 in self.wall_rects[k]:
            if s0 < a1 + margin and a0 < s1 + margin and z0 < b1 + margin and b0 < z1 + margin:
                return False
        return True

    # -- floor layout -----------------------------------------------------------------------
    @staticmethod
    def footprint(cx: float, cy: float, hx: float, hy: float, yaw: float
                  ) -> tuple[float, float, float, float]:
        c, s = abs(math.cos(yaw)), abs(math.sin(yaw))
        ex = c * hx + s * hy
        ey = s * hx + c * hy
        return cx - ex, cy - ey, cx + ex, cy + ey

    def floor_free(self, fp: tuple[float, float, float, float], margin: float = 0.05,
                   wall_margin: float = 0.0, ignore: tuple[int, ...] = ()) -> bool:
        x0, y0, x1, y1 = fp
        sx, sy, _ = self.size
        if x0 < wall_margin or y0 < wall_margin or x1 > sx - wall_margin or y1 > sy - wall_margin:
            return False
        for i, (a0, b0, a1, b1) in enumerate(self.footprints):
            if i in ignore:
                continue
            if x0 < a1 + margin and a0 < x1 + margin and y0 < b1 + margin and b0 < y1 + margin:
                return False
        for px, py, r in self.keep_clear:
            dx = max(x0 - px, 0.0, px - x1)
            dy = max(y0 - py, 0.0, py - y1)
            if dx * dx + dy * dy < r * r:
                return False
        return True

    # -- primitives -------------------------------------------------------------------------
    def box(self, center: tuple[float, float, float], half: tuple[float, float, float],
            yaw: float, label: int, material: int) -> None:
        self.prims.append(Box(tuple(float(v) for v in center), tuple(float(v) for v in half),
                              float(yaw), int(label), int(material)))

    def local_to_world(self, cx: float, cy: float, yaw: float, lx: float, ly: float
                       ) -> tuple[float, float]:
        c, s = math.cos(yaw), math.sin(yaw)
        return cx + c * lx - s * ly, cy + s * lx + c * ly


# whiteboard: near-white with a faint grey smudge range (linear RGB)
_WHITEBOARD = np.array([[0.86, 0.87, 0.86], [0.80, 0.81, 0.80], [0.70, 0.72, 0.75],
                        [0.20, 0.30, 0.60]], np.float32)


# ``WorldStyle.class_materials``: each furniture class has its own look, as in real rooms
# (NYU: wooden tables, upholstered or plastic chairs, lacquered cabinets with handles), so that
# appearance separates furniture that shares a shape. label -> (kinds, probabilities, sRGB
# colours of ``color_a`` or None for the kind's own palette).
_CLASS_MATERIALS: dict[int, tuple[tuple[str, ...], tuple[float, ...],
                                  tuple[tuple[float, float, float], ...] | None]] = {
    C.TABLE: (('wood',), (1.0,), None),
    C.CHAIR: (('fabric', 'plastic'), (0.55, 0.45), None),
    C.CABINET: (('paint',), (1.0,), ((0.90, 0.90, 0.88), (0.25, 0.25, 0.27), (0.55, 0.55, 0.57),
                                     (0.35, 0.45, 0.60), (0.30, 0.50, 0.35), (0.60, 0.45, 0.30))),
}


def _uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def draw_room_size(rng: np.random.Generator) -> tuple[float, float, float]:
    """Room size x, y (3.2-7 m, 3.2-8 m) and ceiling height (2.4-3.1 m)."""
    return _uniform(rng, 3.2, 7.0), _uniform(rng, 3.2, 8.0), _uniform(rng, 2.4, 3.1)


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
    b = _Builder(rng, size, keep_clear, style)
    floor_kind = ('wood', 'tiles', 'fabric')[int(rng.choice(3, p=[0.45, 0.3, 0.25]))]
    floor_mat = b.material(floor_kind, world_uv=True)
    ceiling_mat = b.material('paint', world_uv=True,
                             color_a=random_material(rng, 'paint').color_a * 1.05)
    wall_kind = 'wallpaper' if rng.random() < 0.25 else 'paint'
    main_wall = b.material(wall_kind, world_uv=True)
    walls = [main_wall] * 4
    if rng.random() < 0.35:  # one accent wall
        walls[int(rng.integers(4))] = b.material('paint', world_uv=True)

    _place_doors_windows(b)
    _place_wall_furniture(b, walls)
    _place_pictures(b)
    _place_tables_and_chairs(b)
    _place_boxes(b)
    _place_floor_mats(b, floor_mat)
    _place_objects(b)
    lights, ambient = _place_lights(b)
    return Scene(size=size, floor_material=floor_mat, ceiling_material=ceiling_mat,
                 wall_materials=tuple(walls), primitives=b.prims, materials=b.materials,
                 lights=lights, ambient=ambient, free_floor=list(keep_clear))


def _wall_box(b: _Builder, k: int, s: float, width: float, depth: float, z0: float,
              height: float, offset: float, label: int, material: int) -> None:
    """A box against wall ``k``, centred at ``s`` along it, ``offset`` m out from the wall."""
    start, t, n, _, yaw = b.wall_frame(k)
    c = start + s * t + (offset + depth / 2.0) * n
    b.box((c[0], c[1], z0 + height / 2.0), (width / 2.0, depth / 2.0, height / 2.0), yaw, label,
          material)


def _place_doors_windows(b: _Builder) -> None:
    rng = b.rng
    _, _, height = b.size
    if rng.random() < 0.7:
        for _ in range(20):
            k = int(rng.integers(4))
            _, t, n, length, yaw = b.wall_frame(k)
            w = _uniform(rng, 0.8, 0.95)
            h = min(_uniform(rng, 2.0, 2.1), height - 0.1)
            s = _uniform(rng, 0.2 + w / 2, length - 0.2 - w / 2)
            if not b.wall_rect_free(k, (s - w / 2, s + w / 2, 0.0, h)):
                continue
            start = b.wall_frame(k)[0]
            front = start + s * t + 0.45 * n
            fp = b.footprint(front[0], front[1], w / 2 if k % 2 == 0 else 0.45,
                             0.45 if k % 2 == 0 else w / 2, 0.0)
            if not b.floor_free(fp, margin=0.0):
                continue
            mat = b.material('wood' if rng.random() < 0.6 else 'paint')
            # 4 cm thick door set into the wall: door_proud_m proud of it (2 cm: centred)
            _wall_box(b, k, s, w, 0.04, 0.0, h, b.style.door_proud_m - 0.04, C.DOOR, mat)
            handle = b.material('metal')
            hs = s + (w / 2 - 0.1) * (1 if rng.random() < 0.5 else -1)
            _wall_box(b, k, hs, 0.12, 0.05, 0.98, 0.03, 0.0, C.DOOR, handle)
            b.wall_rects[k].append((s - w / 2, s + w / 2, 0.0, h))
            b.footprints.append(fp)  # door swing stays clear
            break
    for _ in range(int(rng.choice(3, p=[0.3, 0.45, 0.25]))):
        for _ in range(20):
            k = int(rng.integers(4))
            length = b.wall_frame(k)[3]
            w = _uniform(rng, 0.6, min(1.8, length - 0.6))
            sill = _uniform(rng, 0.7, 1.0)
            h = min(_uniform(rng, 0.8, 1.5), height - sill - 0.2)
            s = _uniform(rng, 0.3 + w / 2, length - 0.3 - w / 2)
            rect = (s - w / 2, s + w / 2, sill, sill + h)
            if h < 0.5 or not b.wall_rect_free(k, rect):
                continue
            mat = b.material('glass')
            # flush glass: 8 mm thick, centred 4 mm into the wall -> 4 mm proud
            _wall_box(b, k, s, w, 0.008, sill, h, -0.004, C.WINDOW, mat)
            # the window blocks furniture taller than its sill
            b.wall_rects[k].append((rect[0], rect[1], 0.0, rect[3]))
            break


def _place_wall_furniture(b: _Builder, walls: list[int]) -> None:
    rng = b.rng
    _, _, height = b.size
    n_cab = int(rng.integers(1, 4))
    n_shelf = int(rng.integers(0, 3))
    for kind in ['cabinet'] * n_cab + ['shelf'] * n_shelf:
        for _ in range(25):
            k = int(rng.integers(4))
            start, t, n, length, yaw = b.wall_frame(k)
            if kind == 'cabinet':
                w = _uniform(rng, 0.45, 1.6)
                d = _uniform(rng, 0.35, 0.6)
                h = _uniform(rng, 0.5, 1.0) if rng.random() < 0.6 else _uniform(rng, 1.6, 2.1)
            else:
                w = _uniform(rng, 0.6, 1.2)
                d = _uniform(rng, 0.25, 0.4)
                h = _uniform(rng, 0.8, 2.0)
            h = min(h, height - 0.15)
            if length < w + 0.2:
                continue
            s = _uniform(rng, w / 2 + 0.02, length - w / 2 - 0.02)
            if not b.wall_rect_free(k, (s - w / 2, s + w / 2, 0.0, h)):
                continue
            c = start + s * t + (d / 2) * n
            fp = b.footprint(c[0], c[1], w / 2, d / 2, yaw)
            if not b.floor_free(fp, margin=0.02):
                continue
            if kind == 'cabinet':
                _build_cabinet(b, k, s, w, d, h, walls[k])
            else:
                _build_shelf(b, k, s, w, d, h)
            b.wall_rects[k].append((s - w / 2, s + w / 2, 0.0, h))
            b.footprints.append(fp)
            break


def _build_cabinet(b: _Builder, k: int, s: float, w: float, d: float, h: float,
                   wall_material: int) -> None:
    rng = b.rng
    start, t, n, _, yaw = b.wall_frame(k)
    painted = rng.random() < b.style.cabinet_wall_material_p
    # designed ambiguity: the wall's own world-anchored material and no handles
    mat = wall_material if painted else b.furniture_material(C.CABINET)
    _wall_box(b, k, s, w, d, 0.0, h, 0.0, C.CABINET, mat)
    if not painted:
        handle = b.material('metal')
        n_doors = max(1, int(round(w / 0.5)))
        for i in range(n_doors):
            hs = s - w / 2 + (i + 0.5) * w / n_doors
            _wall_box(b, k, hs, 0.02, 0.025, h * 0.75 if h > 1.2 else h - 0.12,
                      0.1, d, C.CABINET, handle)
    if h < 1.3:
        c = start + s * t + (d / 2) * n
        b.supports.append(_Support((c[0], c[1]), (w / 2, d / 2), yaw, h, b.size[2] - h - 0.3))


def _build_shelf(b: _Builder, k: int, s: float, w: float, d: float, h: float) -> None:
    rng = b.rng
    start, t, n, _, yaw = b.wall_frame(k)
    mat = b.material('wood') if rng.random() < 0.7 else b.material('paint')
    th = 0.02
    _wall_box(b, k, s - w / 2 + th / 2, th, d, 0.0, h, 0.0, C.SHELF, mat)
    _wall_box(b, k, s + w / 2 - th / 2, th, d, 0.0, h, 0.0, C.SHELF, mat)
    _wall_box(b, k, s, w, 0.01, 0.0, h, 0.0, C.SHELF, mat)  # back panel
    n_boards = max(2, int(h / 0.38) + 1)
    c = start + s * t + (d / 2) * n
    for i in range(n_boards):
        z = 0.05 + i * (h - 0.05 - th) / (n_boards - 1)
        _wall_box(b, k, s, w - 2 * th, d - 0.01, z, th, 0.01, C.SHELF, mat)
        gap = (h - 0.05) / (n_boards - 1) - th if i < n_boards - 1 else b.size[2] - h - 0.3
        b.supports.append(_Support((c[0], c[1]), (w / 2 - th, d / 2 - 0.01), yaw, z + th, gap))
    # books: blocks of vertical coloured stripes on some boards
    for i in range(n_boards - 1):
        if rng.random() < 0.6:
            z = 0.05 + i * (h - 0.05 - th) / (n_boards - 1) + th
            gap = (h - 0.05) / (n_boards - 1) - th
            bw = _uniform(rng, 0.15, w - 0.1)
            bh = min(_uniform(rng, 0.18, 0.3), gap - 0.03)
            if bh < 0.08:
                continue
            bs = s + _uniform(rng, -(w - bw) / 2 + th, (w - bw) / 2 - th)
            books = b.material('wallpaper', color_a=random_material(rng, 'plastic').color_a,
                               color_b=random_material(rng, 'plastic').color_a * 0.7,
                               scale_m=_uniform(rng, 0.03, 0.07), style=0)
            _wall_box(b, k, bs, bw, _uniform(rng, 0.15, d - 0.03), z, bh, 0.015, C.OBJECT,
                      books)


def _place_pictures(b: _Builder) -> None:
    rng = b.rng
    _, _, height = b.size
    for _ in range(int(rng.integers(*b.style.pictures))):
        for _ in range(20):
            k = int(rng.integers(4))
            length = b.wall_frame(k)[3]
            w = _uniform(rng, 0.3, 1.2)
            h = _uniform(rng, 0.3, 0.9)
            zc = _uniform(rng, 1.2, 1.8)
            if zc + h / 2 > height - 0.15 or length < w + 0.4:
                continue
            s = _uniform(rng, w / 2 + 0.2, length - w / 2 - 0.2)
            rect = (s - w / 2, s + w / 2, zc - h / 2, zc + h / 2)
            if not b.wall_rect_free(k, rect):
                continue
            if b.style.whiteboard_p > 0 and rng.random() < b.style.whiteboard_p:
                mat = b.material('picture', palette=_WHITEBOARD, style=0, specular=0.35,
                                 color_c=np.full(3, 0.08, np.float32),
                                 frame_frac=_uniform(rng, 0.015, 0.03))
            else:
                mat = b.material('picture')
            # flush: 4 mm thick, centred on the wall plane -> 2 mm proud of it
            _wall_box(b, k, s, w, 0.004, zc - h / 2, h, -0.002, C.PICTURE, mat)
            b.wall_rects[k].append(rect)
            b.pictures.append(mat)
            break


def _place_tables_and_chairs(b: _Builder) -> None:
    rng = b.rng
    sx, sy, _ = b.size
    n_tables = int(rng.choice(3, p=[0.15, 0.6, 0.25]))
    for _ in range(n_tables):
        for _ in range(30):
            coffee = rng.random() < 0.25
            tw = _uniform(rng, 0.5, 0.9) if coffee else _uniform(rng, 0.8, 1.8)
            td = _uniform(rng, 0.4, 0.6) if coffee else _uniform(rng, 0.6, 1.0)
            th = _uniform(rng, 0.38, 0.5) if coffee else _uniform(rng, 0.70, 0.78)
            yaw = (float(rng.integers(4)) * math.pi / 2 if rng.random() < 0.6
                   else _uniform(rng, 0, math.pi))
            yaw += float(rng.normal(0, 0.03))
            cx = _uniform(rng, 0.6, sx - 0.6)
            cy = _uniform(rng, 0.6, sy - 0.6)
            fp = b.footprint(cx, cy, tw / 2, td / 2, yaw)
            if not b.floor_free(fp, margin=0.5, wall_margin=0.3):
                continue
            if b.style.class_materials:
                mat = b.furniture_material(C.TABLE)
            else:
                mat = b.furniture_material() if rng.random() < 0.5 else b.material('wood')
            top = _uniform(rng, 0.025, 0.05)
            b.box((cx, cy, th - top / 2), (tw / 2, td / 2, top / 2), yaw, C.TABLE, mat)
            leg = _uniform(rng, 0.03, 0.07)
            round_legs = rng.random() < 0.3
            for lx in (-1, 1):
                for ly in (-1, 1):
                    px, py = b.local_to_world(cx, cy, yaw, lx * (tw / 2 - leg - 0.03),
                                              ly * (td / 2 - leg - 0.03))
                    if round_legs:
                        b.prims.append(Cylinder((px, py), leg / 2, 0.0, th - top, C.TABLE, mat))
                    else:
                        b.box((px, py, (th - top) / 2), (leg / 2, leg / 2, (th - top) / 2), yaw,
                              C.TABLE, mat)
            b.supports.append(_Support((cx, cy), (tw / 2, td / 2), yaw, th, 1.0))
            b.footprints.append(fp)
            table_index = len(b.footprints) - 1
            if not coffee:
                _chairs_around(b, cx, cy, tw, td, yaw, table_index)
            break
    for _ in range(int(rng.choice(3, p=[0.5, 0.35, 0.15]))):  # loose chairs
        for _ in range(20):
            cx = _uniform(rng, 0.4, sx - 0.4)
            cy = _uniform(rng, 0.4, sy - 0.4)
            yaw = _uniform(rng, 0, 2 * math.pi)
            if _chair(b, cx, cy, yaw, ()):
                break


def _chairs_around(b: _Builder, cx: float, cy: float, tw: float, td: float, yaw: float,
                   table_index: int) -> None:
    rng = b.rng
    sides = [(0.0, 1.0, td), (0.0, -1.0, td), (1.0, 0.0, tw), (-1.0, 0.0, tw)]
    for lx, ly, _ in sides:
        if rng.random() < 0.45:
            continue
        dist = (tw / 2 if lx else td / 2) + _uniform(rng, 0.05, 0.3)
        along = _uniform(rng, -0.2, 0.2) * (td if lx else tw)
        px, py = b.local_to_world(cx, cy, yaw, lx * dist + (0 if lx else along),
                                  ly * dist + (0 if ly else along))
        # the chair's back faces away from the table: its local +y points to the table
        face = math.atan2(cy - py, cx - px) - math.pi / 2 + float(rng.normal(0, 0.15))
        _chair(b, px, py, face, (table_index,))


def _chair(b: _Builder, cx: float, cy: float, yaw: float, ignore: tuple[int, ...]) -> bool:
    """A chair: seat, back on its local -y side, four legs. Returns False if it does not fit."""
    rng = b.rng
    w = _uniform(rng, 0.40, 0.50)
    seat_h = _uniform(rng, 0.42, 0.48)
    fp = b.footprint(cx, cy, w / 2, w / 2, yaw)
    if not b.floor_free(fp, margin=0.05, wall_margin=0.05, ignore=ignore):
        return False
    if b.style.class_materials:
        mat = b.furniture_material(C.CHAIR)
    else:
        kind = ('wood', 'plastic', 'fabric', 'metal', 'paint')[
            int(rng.choice(5, p=[0.35, 0.25, 0.2, 0.1, 0.1]))]
        mat = b.material(kind)
    seat_t = _uniform(rng, 0.03, 0.06)
    b.box((cx, cy, seat_h - seat_t / 2), (w / 2, w / 2, seat_t / 2), yaw, C.CHAIR, mat)
    back_h = _uniform(rng, 0.35, 0.5)
    bx, by = b.local_to_world(cx, cy, yaw, 0.0, -w / 2 + 0.015)
    b.box((bx, by, seat_h + back_h / 2), (w / 2, 0.015, back_h / 2), yaw, C.CHAIR, mat)
    leg = 0.03
    for lx in (-1, 1):
        for ly in (-1, 1):
            px, py = b.local_to_world(cx, cy, yaw, lx * (w / 2 - leg), ly * (w / 2 - leg))
            b.box((px, py, (seat_h - seat_t) / 2), (leg / 2, leg / 2, (seat_h - seat_t) / 2),
                  yaw, C.CHAIR, mat)
    b.footprints.append(fp)
    return True


def _box_material(b: _Builder, label: int) -> int:
    """Cardboard or a picture wrap for boxes; glossy plastic for crates (same shapes)."""
    rng = b.rng
    if label == C.CRATE:
        return b.material('plastic')
    if b.pictures and rng.random() < b.style.box_picture_wrap_p:
        # designed ambiguity: wrapped in the very texture of a picture on the wall
        return b.pictures[int(rng.integers(len(b.pictures)))]
    return b.material('cardboard')


def _place_boxes(b: _Builder) -> None:
    rng = b.rng
    sx, sy, _ = b.size
    n = int(rng.integers(2, 7))
    for _ in range(n):
        label = C.BOX if rng.random() < 0.5 else C.CRATE
        w = _uniform(rng, 0.25, 0.6)
        d = _uniform(rng, 0.25, 0.6)
        h = _uniform(rng, 0.2, 0.5)
        if rng.random() < 0.25 and b.supports:  # on a support (scaled down), else on the floor
            _object_on_support(b, label, shape=(w * 0.5, d * 0.5, h * 0.5))
            continue
        for _ in range(20):
            near_wall = rng.random() < 0.6
            yaw = (float(rng.integers(4)) * math.pi / 2 + float(rng.normal(0, 0.1))
                   if near_wall else _uniform(rng, 0, math.pi))
            if near_wall:
                k = int(rng.integers(4))
                start, t, nrm, length, _ = b.wall_frame(k)
                s = _uniform(rng, 0.4, length - 0.4)
                c = start + s * t + (max(w, d) / 2 + _uniform(rng, 0.01, 0.15)) * nrm
                cx, cy = float(c[0]), float(c[1])
            else:
                cx, cy = _uniform(rng, 0.4, sx - 0.4), _uniform(rng, 0.4, sy - 0.4)
            fp = b.footprint(cx, cy, w / 2, d / 2, yaw)
            if not b.floor_free(fp, margin=0.03):
                continue
            b.box((cx, cy, h / 2), (w / 2, d / 2, h / 2), yaw, label, _box_material(b, label))
            b.footprints.append(fp)
            if rng.random() < 0.3:  # stack a second one (same shape distribution, smaller)
                label2 = C.BOX if rng.random() < 0.5 else C.CRATE
                s2 = _uniform(rng, 0.6, 0.95)
                h2 = _uniform(rng, 0.2, 0.5) * s2
                b.box((cx, cy, h + h2 / 2), (w * s2 / 2, d * s2 / 2, h2 / 2),
                      yaw + float(rng.normal(0, 0.15)), label2, _box_material(b, label2))
            else:
                b.supports.append(_Support((cx, cy), (w / 2, d / 2), yaw, h, 0.5))
            break


def _place_floor_mats(b: _Builder, floor_mat: int) -> None:
    rng = b.rng
    sx, sy, _ = b.size
    n = int(rng.choice(3, p=[0.3, 0.5, 0.2]))
    for _ in range(n):
        for _ in range(20):
            w = _uniform(rng, 0.6, 2.0)
            d = _uniform(rng, 0.5, 1.4)
            yaw = (float(rng.integers(2)) * math.pi / 2 if rng.random() < 0.7
                   else _uniform(rng, 0, math.pi))
            cx, cy = _uniform(rng, 0.3, sx - 0.3), _uniform(rng, 0.3, sy - 0.3)
            fp = b.footprint(cx, cy, w / 2, d / 2, yaw)
            if not b.floor_free(fp, margin=0.05, wall_margin=0.05):
                continue
            if b.style.floor_mat == 'rug':  # a thin rug of its own fabric: flat in depth
                th = _uniform(rng, 0.005, 0.012)
                mat = b.material('fabric', color_a=random_material(rng, 'plastic').color_a)
            else:  # designed ambiguity: the floor's own world-anchored material, raised 3-6 cm
                th = _uniform(rng, 0.03, 0.06)
                mat = floor_mat
            b.box((cx, cy, th / 2), (w / 2, d / 2, th / 2), yaw, C.FLOOR_MAT, mat)
            b.footprints.append(fp)
            break


def _object_material(b: _Builder) -> int:
    rng = b.rng
    kind = ('plastic', 'metal', 'paint', 'fabric', 'wood')[
        int(rng.choice(5, p=[0.4, 0.2, 0.2, 0.1, 0.1]))]
    if rng.random() < 0.15:  # dark, IR-absorbing
        return b.material(kind, color_a=np.full(3, _uniform(rng, 0.002, 0.012), np.float32))
    return b.material(kind)


def _object_on_support(b: _Builder, label: int,
                       shape: tuple[float, float, float] | None = None) -> bool:
    """Place an object (random shape, or a box ``shape``) on a random support."""
    rng = b.rng
    for _ in range(10):
        sup = b.supports[int(rng.integers(len(b.supports)))]
        if shape is None and b.style.flat_object_p > 0 and rng.random() < b.style.flat_object_p:
            kind = 'box'  # paper, a magazine or a lying book: appearance only
            ext = (_uniform(rng, 0.08, 0.16), _uniform(rng, 0.06, 0.12),
                   _uniform(rng, 0.003, 0.015))
        elif shape is None:
            kind = ('cylinder', 'sphere', 'box')[int(rng.choice(3, p=[0.5, 0.2, 0.3]))]
            if kind == 'cylinder':
                r = _uniform(rng, 0.03, 0.09)
                h = _uniform(rng, 0.08, 0.35)
                ext = (r, r, h)
            elif kind == 'sphere':
                r = _uniform(rng, 0.04, 0.12)
                ext = (r, r, 2 * r)
            else:
                ext = (_uniform(rng, 0.03, 0.14), _uniform(rng, 0.03, 0.14),
                       _uniform(rng, 0.04, 0.25))
        else:
            kind = 'box'
            ext = (shape[0] / 2, shape[1] / 2, shape[2])
        rad = math.hypot(ext[0], ext[1])
        if ext[2] > sup.max_height - 0.02 or rad * 2 > 2 * min(sup.half) - 0.02:
            continue
        lx = _uniform(rng, -sup.half[0] + rad, sup.half[0] - rad)
        ly = _uniform(rng, -sup.half[1] + rad, sup.half[1] - rad)
        if any((lx - x) ** 2 + (ly - y) ** 2 < (rad + r2 + 0.01) ** 2 for x, y, r2 in sup.items):
            continue
        sup.items.append((lx, ly, rad))
        px, py = b.local_to_world(sup.center[0], sup.center[1], sup.yaw, lx, ly)
        mat = _box_material(b, label) if label in (C.BOX, C.CRATE) else _object_material(b)
        if kind == 'cylinder':
            b.prims.append(Cylinder((px, py), ext[0], sup.z, sup.z + ext[2], label, mat))
        elif kind == 'sphere':
            b.prims.append(Sphere((px, py, sup.z + ext[0]), ext[0], label, mat))
        else:
            b.box((px, py, sup.z + ext[2] / 2), (ext[0], ext[1], ext[2] / 2),
                  sup.yaw + _uniform(rng, -0.6, 0.6), label, mat)
        return True
    return False


def _place_objects(b: _Builder) -> None:
    rng = b.rng
    sx, sy, _ = b.size
    if b.supports:
        for _ in range(int(rng.integers(3, 13))):
            _object_on_support(b, C.OBJECT)
    for _ in range(int(rng.integers(0, 3))):  # bins, balls, plants on the floor
        for _ in range(10):
            cx, cy = _uniform(rng, 0.3, sx - 0.3), _uniform(rng, 0.3, sy - 0.3)
            r = _uniform(rng, 0.1, 0.25)
            fp = (cx - r, cy - r, cx + r, cy + r)
            if not b.floor_free(fp, margin=0.03):
                continue
            mat = _object_material(b)
            if rng.random() < 0.7:
                b.prims.append(Cylinder((cx, cy), r, 0.0, _uniform(rng, 0.25, 0.6), C.OBJECT,
                                        mat))
            else:
                b.prims.append(Sphere((cx, cy, r), r, C.OBJECT, mat))
            b.footprints.append(fp)
            break


def _place_lights(b: _Builder) -> tuple[list[Light], float]:
    rng = b.rng
    sx, sy, height = b.size
    lights = []
    n = int(rng.integers(1, 4))
    warm = np.array([1.0, 0.9, 0.75]) if rng.random() < 0.6 else np.array([0.95, 0.97, 1.0])
    for _ in range(n):
        x, y = _uniform(rng, 0.2 * sx, 0.8 * sx), _uniform(rng, 0.2 * sy, 0.8 * sy)
        r = _uniform(rng, 0.12, 0.3)
        lamp = b.material('lamp')
        b.prims.append(Cylinder((x, y), r, height - 0.05, height - 0.005, C.UNLABELED, lamp))
        power = warm * _uniform(rng, 2.5, 6.0)
        lights.append(Light((x, y, height - 0.3), tuple(float(p) for p in power)))
    for p in b.prims:  # daylight through the windows
        if isinstance(p, Box) and p.label == C.WINDOW and rng.random() < 0.7:
            c, s = math.cos(p.yaw), math.sin(p.yaw)
            x = p.center[0] - s * 0.8
            y = p.center[1] + c * 0.8
            power = np.array([0.9, 0.95, 1.0]) * _uniform(rng, 1.5, 4.0)
            lights.append(Light((x, y, p.center[2] + 0.3), tuple(float(v) for v in power)))
    return lights, _uniform(rng, 0.12, 0.3)
