# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Placement against the walls: doors, windows, cabinets, shelves (with boards as supports) and
pictures / whiteboards.
"""

from __future__ import annotations

import numpy as np

from rgbd_seg_ros.sim import classes as C
from rgbd_seg_ros.sim.builder import Builder, Support, uniform
from rgbd_seg_ros.sim.materials import random_material, srgb_to_linear

# whiteboard: near-white with a faint grey smudge range (linear RGB)
_WHITEBOARD = np.array([[0.86, 0.87, 0.86], [0.80, 0.81, 0.80], [0.70, 0.72, 0.75],
                        [0.20, 0.30, 0.60]], np.float32)
# door casings: white, dark wood stain, anthracite (sRGB)
_CASING_COLORS = ((0.93, 0.93, 0.91), (0.30, 0.20, 0.13), (0.20, 0.20, 0.21))


def _wall_box(b: Builder, k: int, s: float, width: float, depth: float, z0: float,
              height: float, offset: float, label: int, material: int) -> None:
    """A box against wall ``k``, centred at ``s`` along it, ``offset`` m out from the wall."""
    start, t, n, _, yaw = b.wall_frame(k)
    c = start + s * t + (offset + depth / 2.0) * n
    b.box((c[0], c[1], z0 + height / 2.0), (width / 2.0, depth / 2.0, height / 2.0), yaw, label,
          material)


def place_doors_windows(b: Builder) -> None:
    rng = b.rng
    _, _, height = b.size
    if rng.random() < 0.7:
        for _ in range(20):
            k = int(rng.integers(4))
            _, t, n, length, yaw = b.wall_frame(k)
            w = uniform(rng, 0.8, 0.95)
            h = min(uniform(rng, 2.0, 2.1), height - 0.1)
            s = uniform(rng, 0.2 + w / 2, length - 0.2 - w / 2)
            c = b.style.door_casing_m
            if not b.wall_rect_free(k, (s - w / 2 - c, s + w / 2 + c, 0.0, h + c)):
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
            if c > 0:
                _door_casing(b, k, s, w, h)
            b.wall_rects[k].append((s - w / 2 - c, s + w / 2 + c, 0.0, h + c))
            b.footprints.append(fp)  # door swing stays clear
            break
    for _ in range(int(rng.choice(3, p=[0.3, 0.45, 0.25]))):
        for _ in range(20):
            k = int(rng.integers(4))
            length = b.wall_frame(k)[3]
            w = uniform(rng, 0.6, min(1.8, length - 0.6))
            sill = uniform(rng, 0.7, 1.0)
            h = min(uniform(rng, 0.8, 1.5), height - sill - 0.2)
            s = uniform(rng, 0.3 + w / 2, length - 0.3 - w / 2)
            rect = (s - w / 2, s + w / 2, sill, sill + h)
            if h < 0.5 or not b.wall_rect_free(k, rect):
                continue
            mat = b.material('glass')
            # flush glass: 8 mm thick, centred 4 mm into the wall -> 4 mm proud
            _wall_box(b, k, s, w, 0.008, sill, h, -0.004, C.WINDOW, mat)
            # the window blocks furniture taller than its sill
            b.wall_rects[k].append((rect[0], rect[1], 0.0, rect[3]))
            break


def _door_casing(b: Builder, k: int, s: float, w: float, h: float) -> None:
    """
    The door's casing (architrave): strips ``door_casing_m`` wide around the leaf, 3 mm proud
    of the wall (flat in depth: appearance only), in a paint that stands out from the wall.
    """
    c = b.style.door_casing_m
    mat = b.material('paint', color_a=srgb_to_linear(
        _CASING_COLORS[int(b.rng.integers(len(_CASING_COLORS)))]))
    for side in (-1, 1):
        _wall_box(b, k, s + side * (w / 2 + c / 2), c, 0.003, 0.0, h + c, 0.0, C.DOOR, mat)
    _wall_box(b, k, s, w + 2 * c, 0.003, h, c, 0.0, C.DOOR, mat)


def place_wall_furniture(b: Builder, walls: list[int]) -> None:
    rng = b.rng
    _, _, height = b.size
    n_cab = int(rng.integers(1, 4))
    n_shelf = int(rng.integers(0, 3))
    for kind in ['cabinet'] * n_cab + ['shelf'] * n_shelf:
        for _ in range(25):
            k = int(rng.integers(4))
            start, t, n, length, yaw = b.wall_frame(k)
            if kind == 'cabinet':
                w = uniform(rng, 0.45, 1.6)
                d = uniform(rng, 0.35, 0.6)
                h = uniform(rng, 0.5, 1.0) if rng.random() < 0.6 else uniform(rng, 1.6, 2.1)
            else:
                w = uniform(rng, 0.6, 1.2)
                d = uniform(rng, 0.25, 0.4)
                h = uniform(rng, 0.8, 2.0)
            h = min(h, height - 0.15)
            if length < w + 0.2:
                continue
            s = uniform(rng, w / 2 + 0.02, length - w / 2 - 0.02)
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


def _build_cabinet(b: Builder, k: int, s: float, w: float, d: float, h: float,
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
        b.supports.append(Support((c[0], c[1]), (w / 2, d / 2), yaw, h, b.size[2] - h - 0.3))


def _build_shelf(b: Builder, k: int, s: float, w: float, d: float, h: float) -> None:
    rng = b.rng
    start, t, n, _, yaw = b.wall_frame(k)
    if b.style.distinct_furniture:
        mat = b.furniture_material(C.SHELF)
    else:
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
        b.supports.append(Support((c[0], c[1]), (w / 2 - th, d / 2 - 0.01), yaw, z + th, gap))
    # books: blocks of vertical coloured stripes on some boards
    for i in range(n_boards - 1):
        if rng.random() < 0.6:
            z = 0.05 + i * (h - 0.05 - th) / (n_boards - 1) + th
            gap = (h - 0.05) / (n_boards - 1) - th
            bw = uniform(rng, 0.15, w - 0.1)
            bh = min(uniform(rng, 0.18, 0.3), gap - 0.03)
            if bh < 0.08:
                continue
            bs = s + uniform(rng, -(w - bw) / 2 + th, (w - bw) / 2 - th)
            books = b.material('wallpaper', color_a=random_material(rng, 'plastic').color_a,
                               color_b=random_material(rng, 'plastic').color_a * 0.7,
                               scale_m=uniform(rng, 0.03, 0.07), style=0)
            _wall_box(b, k, bs, bw, uniform(rng, 0.15, d - 0.03), z, bh, 0.015, C.OBJECT,
                      books)


def place_pictures(b: Builder) -> None:
    rng = b.rng
    _, _, height = b.size
    for _ in range(int(rng.integers(*b.style.pictures))):
        for _ in range(20):
            k = int(rng.integers(4))
            length = b.wall_frame(k)[3]
            w = uniform(rng, 0.3, 1.2)
            h = uniform(rng, 0.3, 0.9)
            zc = uniform(rng, 1.2, 1.8)
            if zc + h / 2 > height - 0.15 or length < w + 0.4:
                continue
            s = uniform(rng, w / 2 + 0.2, length - w / 2 - 0.2)
            rect = (s - w / 2, s + w / 2, zc - h / 2, zc + h / 2)
            if not b.wall_rect_free(k, rect):
                continue
            if b.style.whiteboard_p > 0 and rng.random() < b.style.whiteboard_p:
                mat = b.material('picture', palette=_WHITEBOARD, style=0, specular=0.35,
                                 color_c=np.full(3, 0.08, np.float32),
                                 frame_frac=uniform(rng, 0.015, 0.03))
            else:
                mat = b.material('picture')
            # flush: 4 mm thick, centred on the wall plane -> 2 mm proud of it
            _wall_box(b, k, s, w, 0.004, zc - h / 2, h, -0.002, C.PICTURE, mat)
            b.wall_rects[k].append(rect)
            b.pictures.append(mat)
            break
