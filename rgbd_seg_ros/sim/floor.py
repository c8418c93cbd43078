# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Placement on the free floor and on supports: tables with chairs, boxes and crates, floor mats,
small objects, and the room's lights.
"""

from __future__ import annotations

import math

import numpy as np

from rgbd_seg_ros.sim import classes as C
from rgbd_seg_ros.sim.builder import Builder, Support, uniform
from rgbd_seg_ros.sim.materials import random_material
from rgbd_seg_ros.sim.primitives import Box, Cylinder, Light, Sphere


def place_tables_and_chairs(b: Builder) -> None:
    rng = b.rng
    sx, sy, _ = b.size
    n_tables = int(rng.choice(3, p=[0.15, 0.6, 0.25]))
    for _ in range(n_tables):
        for _ in range(30):
            coffee = rng.random() < 0.25
            tw = uniform(rng, 0.5, 0.9) if coffee else uniform(rng, 0.8, 1.8)
            td = uniform(rng, 0.4, 0.6) if coffee else uniform(rng, 0.6, 1.0)
            th = uniform(rng, 0.38, 0.5) if coffee else uniform(rng, 0.70, 0.78)
            yaw = (float(rng.integers(4)) * math.pi / 2 if rng.random() < 0.6
                   else uniform(rng, 0, math.pi))
            yaw += float(rng.normal(0, 0.03))
            cx = uniform(rng, 0.6, sx - 0.6)
            cy = uniform(rng, 0.6, sy - 0.6)
            fp = b.footprint(cx, cy, tw / 2, td / 2, yaw)
            if not b.floor_free(fp, margin=0.5, wall_margin=0.3):
                continue
            if b.style.class_materials or b.style.distinct_furniture:
                mat = b.furniture_material(C.TABLE)
            else:
                mat = b.furniture_material() if rng.random() < 0.5 else b.material('wood')
            top = uniform(rng, 0.025, 0.05)
            b.box((cx, cy, th - top / 2), (tw / 2, td / 2, top / 2), yaw, C.TABLE, mat)
            leg = uniform(rng, 0.03, 0.07)
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
            b.supports.append(Support((cx, cy), (tw / 2, td / 2), yaw, th, 1.0))
            b.footprints.append(fp)
            table_index = len(b.footprints) - 1
            if not coffee:
                _chairs_around(b, cx, cy, tw, td, yaw, table_index)
            break
    for _ in range(int(rng.choice(3, p=[0.5, 0.35, 0.15]))):  # loose chairs
        for _ in range(20):
            cx = uniform(rng, 0.4, sx - 0.4)
            cy = uniform(rng, 0.4, sy - 0.4)
            yaw = uniform(rng, 0, 2 * math.pi)
            if _chair(b, cx, cy, yaw, ()):
                break


def _chairs_around(b: Builder, cx: float, cy: float, tw: float, td: float, yaw: float,
                   table_index: int) -> None:
    rng = b.rng
    sides = [(0.0, 1.0, td), (0.0, -1.0, td), (1.0, 0.0, tw), (-1.0, 0.0, tw)]
    for lx, ly, _ in sides:
        if rng.random() < 0.45:
            continue
        dist = (tw / 2 if lx else td / 2) + uniform(rng, 0.05, 0.3)
        along = uniform(rng, -0.2, 0.2) * (td if lx else tw)
        px, py = b.local_to_world(cx, cy, yaw, lx * dist + (0 if lx else along),
                                  ly * dist + (0 if ly else along))
        # the chair's back faces away from the table: its local +y points to the table
        face = math.atan2(cy - py, cx - px) - math.pi / 2 + float(rng.normal(0, 0.15))
        _chair(b, px, py, face, (table_index,))


def _chair(b: Builder, cx: float, cy: float, yaw: float, ignore: tuple[int, ...]) -> bool:
    """A chair: seat, back on its local -y side, four legs. Returns False if it does not fit."""
    rng = b.rng
    w = uniform(rng, 0.40, 0.50)
    seat_h = uniform(rng, 0.42, 0.48)
    fp = b.footprint(cx, cy, w / 2, w / 2, yaw)
    if not b.floor_free(fp, margin=0.05, wall_margin=0.05, ignore=ignore):
        return False
    if b.style.class_materials or b.style.distinct_furniture:
        mat = b.furniture_material(C.CHAIR)
    else:
        kind = ('wood', 'plastic', 'fabric', 'metal', 'paint')[
            int(rng.choice(5, p=[0.35, 0.25, 0.2, 0.1, 0.1]))]
        mat = b.material(kind)
    seat_t = uniform(rng, 0.03, 0.06)
    b.box((cx, cy, seat_h - seat_t / 2), (w / 2, w / 2, seat_t / 2), yaw, C.CHAIR, mat)
    back_h = uniform(rng, 0.35, 0.5)
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


def _box_material(b: Builder, label: int) -> int:
    """Cardboard or a picture wrap for boxes; glossy plastic for crates (same shapes)."""
    rng = b.rng
    if label == C.CRATE:
        return b.material('plastic')
    if b.pictures and rng.random() < b.style.box_picture_wrap_p:
        # designed ambiguity: wrapped in the very texture of a picture on the wall
        return b.pictures[int(rng.integers(len(b.pictures)))]
    return b.material('cardboard')


def place_boxes(b: Builder) -> None:
    rng = b.rng
    sx, sy, _ = b.size
    n = int(rng.integers(2, 7))
    for _ in range(n):
        label = C.BOX if rng.random() < 0.5 else C.CRATE
        w = uniform(rng, 0.25, 0.6)
        d = uniform(rng, 0.25, 0.6)
        h = uniform(rng, 0.2, 0.5)
        if rng.random() < 0.25 and b.supports:  # on a support (scaled down), else on the floor
            _object_on_support(b, label, shape=(w * 0.5, d * 0.5, h * 0.5))
            continue
        for _ in range(20):
            near_wall = rng.random() < 0.6
            yaw = (float(rng.integers(4)) * math.pi / 2 + float(rng.normal(0, 0.1))
                   if near_wall else uniform(rng, 0, math.pi))
            if near_wall:
                k = int(rng.integers(4))
                start, t, nrm, length, _ = b.wall_frame(k)
                s = uniform(rng, 0.4, length - 0.4)
                c = start + s * t + (max(w, d) / 2 + uniform(rng, 0.01, 0.15)) * nrm
                cx, cy = float(c[0]), float(c[1])
            else:
                cx, cy = uniform(rng, 0.4, sx - 0.4), uniform(rng, 0.4, sy - 0.4)
            fp = b.footprint(cx, cy, w / 2, d / 2, yaw)
            if not b.floor_free(fp, margin=0.03):
                continue
            b.box((cx, cy, h / 2), (w / 2, d / 2, h / 2), yaw, label, _box_material(b, label))
            b.footprints.append(fp)
            if rng.random() < 0.3:  # stack a second one (same shape distribution, smaller)
                label2 = C.BOX if rng.random() < 0.5 else C.CRATE
                s2 = uniform(rng, 0.6, 0.95)
                h2 = uniform(rng, 0.2, 0.5) * s2
                b.box((cx, cy, h + h2 / 2), (w * s2 / 2, d * s2 / 2, h2 / 2),
                      yaw + float(rng.normal(0, 0.15)), label2, _box_material(b, label2))
            else:
                b.supports.append(Support((cx, cy), (w / 2, d / 2), yaw, h, 0.5))
            break


def place_floor_mats(b: Builder, floor_mat: int) -> None:
    rng = b.rng
    sx, sy, _ = b.size
    n = int(rng.choice(3, p=[0.3, 0.5, 0.2]))
    for _ in range(n):
        for _ in range(20):
            w = uniform(rng, 0.6, 2.0)
            d = uniform(rng, 0.5, 1.4)
            yaw = (float(rng.integers(2)) * math.pi / 2 if rng.random() < 0.7
                   else uniform(rng, 0, math.pi))
            cx, cy = uniform(rng, 0.3, sx - 0.3), uniform(rng, 0.3, sy - 0.3)
            fp = b.footprint(cx, cy, w / 2, d / 2, yaw)
            if not b.floor_free(fp, margin=0.05, wall_margin=0.05):
                continue
            if b.style.floor_mat == 'rug':  # a thin rug of its own fabric: flat in depth
                th = uniform(rng, 0.005, 0.012)
                mat = b.material('fabric', color_a=random_material(rng, 'plastic').color_a)
            else:  # designed ambiguity: the floor's own world-anchored material, raised 3-6 cm
                th = uniform(rng, 0.03, 0.06)
                mat = floor_mat
            b.box((cx, cy, th / 2), (w / 2, d / 2, th / 2), yaw, C.FLOOR_MAT, mat)
            b.footprints.append(fp)
            break


def _object_material(b: Builder) -> int:
    rng = b.rng
    kind = ('plastic', 'metal', 'paint', 'fabric', 'wood')[
        int(rng.choice(5, p=[0.4, 0.2, 0.2, 0.1, 0.1]))]
    if rng.random() < 0.15:  # dark, IR-absorbing
        return b.material(kind, color_a=np.full(3, uniform(rng, 0.002, 0.012), np.float32))
    return b.material(kind)


def _object_on_support(b: Builder, label: int,
                       shape: tuple[float, float, float] | None = None) -> bool:
    """Place an object (random shape, or a box ``shape``) on a random support."""
    rng = b.rng
    for _ in range(10):
        sup = b.supports[int(rng.integers(len(b.supports)))]
        if shape is None and b.style.flat_object_p > 0 and rng.random() < b.style.flat_object_p:
            kind = 'box'  # paper, a magazine or a lying book: appearance only
            ext = (uniform(rng, 0.08, 0.16), uniform(rng, 0.06, 0.12),
                   uniform(rng, 0.003, 0.015))
        elif shape is None:
            kind = ('cylinder', 'sphere', 'box')[int(rng.choice(3, p=[0.5, 0.2, 0.3]))]
            if kind == 'cylinder':
                r = uniform(rng, 0.03, 0.09)
                h = uniform(rng, 0.08, 0.35)
                ext = (r, r, h)
            elif kind == 'sphere':
                r = uniform(rng, 0.04, 0.12)
                ext = (r, r, 2 * r)
            else:
                ext = (uniform(rng, 0.03, 0.14), uniform(rng, 0.03, 0.14),
                       uniform(rng, 0.04, 0.25))
        else:
            kind = 'box'
            ext = (shape[0] / 2, shape[1] / 2, shape[2])
        rad = math.hypot(ext[0], ext[1])
        if ext[2] > sup.max_height - 0.02 or rad * 2 > 2 * min(sup.half) - 0.02:
            continue
        lx = uniform(rng, -sup.half[0] + rad, sup.half[0] - rad)
        ly = uniform(rng, -sup.half[1] + rad, sup.half[1] - rad)
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
                  sup.yaw + uniform(rng, -0.6, 0.6), label, mat)
        return True
    return False


def place_objects(b: Builder) -> None:
    rng = b.rng
    sx, sy, _ = b.size
    if b.supports:
        for _ in range(int(rng.integers(3, 13))):
            _object_on_support(b, C.OBJECT)
    for _ in range(int(rng.integers(0, 3))):  # bins, balls, plants on the floor
        for _ in range(10):
            cx, cy = uniform(rng, 0.3, sx - 0.3), uniform(rng, 0.3, sy - 0.3)
            r = uniform(rng, 0.1, 0.25)
            fp = (cx - r, cy - r, cx + r, cy + r)
            if not b.floor_free(fp, margin=0.03):
                continue
            mat = _object_material(b)
            if rng.random() < 0.7:
                b.prims.append(Cylinder((cx, cy), r, 0.0, uniform(rng, 0.25, 0.6), C.OBJECT,
                                        mat))
            else:
                b.prims.append(Sphere((cx, cy, r), r, C.OBJECT, mat))
            b.footprints.append(fp)
            break


def place_lights(b: Builder) -> tuple[list[Light], float]:
    rng = b.rng
    sx, sy, height = b.size
    lights = []
    n = int(rng.integers(1, 4))
    warm = np.array([1.0, 0.9, 0.75]) if rng.random() < 0.6 else np.array([0.95, 0.97, 1.0])
    for _ in range(n):
        x, y = uniform(rng, 0.2 * sx, 0.8 * sx), uniform(rng, 0.2 * sy, 0.8 * sy)
        r = uniform(rng, 0.12, 0.3)
        lamp = b.material('lamp')
        b.prims.append(Cylinder((x, y), r, height - 0.05, height - 0.005, C.UNLABELED, lamp))
        power = warm * uniform(rng, 2.5, 6.0)
        lights.append(Light((x, y, height - 0.3), tuple(float(p) for p in power)))
    for p in b.prims:  # daylight through the windows
        if isinstance(p, Box) and p.label == C.WINDOW and rng.random() < 0.7:
            c, s = math.cos(p.yaw), math.sin(p.yaw)
            x = p.center[0] - s * 0.8
            y = p.center[1] + c * 0.8
            power = np.array([0.9, 0.95, 1.0]) * uniform(rng, 1.5, 4.0)
            lights.append(Light((x, y, p.center[2] + 0.3), tuple(float(v) for v in power)))
    return lights, uniform(rng, 0.12, 0.3)
