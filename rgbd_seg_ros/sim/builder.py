# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
``Builder``: the mutable state while a room is furnished (layout occupancy, supports, the
primitive and material lists), shared by the placement steps of ``walls.py`` and ``floor.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math

import numpy as np

from rgbd_seg_ros.sim import classes as C
from rgbd_seg_ros.sim.materials import Material, random_material, srgb_to_linear
from rgbd_seg_ros.sim.primitives import Box, Primitive
from rgbd_seg_ros.sim.style import WorldStyle

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
# ``WorldStyle.distinct_furniture`` (replaces the table above): looks that also keep furniture
# apart from the floor. 45 % of floors are wood, and tables and shelves drawing from the floors'
# wood tones were the RGB model's weakest furniture
# (bench/log/2026-12-04-calibrating-nyu_like.md): dark woods or laminates for tables, upholstery
# colours of their own for chairs, white, black, birch or sage flat-pack shelves.
# label -> ((kind, probability, sRGB colours or None), ...); every instance scales its colour by
# U(0.9, 1.1).
_Palette = tuple[tuple[float, float, float], ...]
_DISTINCT_MATERIALS: dict[int, tuple[tuple[str, float, _Palette | None], ...]] = {
    C.TABLE: (('wood', 0.55, ((0.30, 0.19, 0.12), (0.55, 0.27, 0.16), (0.24, 0.15, 0.10))),
              ('paint', 0.45, ((0.95, 0.95, 0.94), (0.12, 0.12, 0.13), (0.62, 0.64, 0.66)))),
    C.CHAIR: (('fabric', 0.55, ((0.55, 0.12, 0.12), (0.15, 0.22, 0.45), (0.12, 0.40, 0.40),
                                (0.35, 0.20, 0.45), (0.75, 0.55, 0.15))),
              ('plastic', 0.45, None)),
    C.CABINET: (('paint', 1.0, _CLASS_MATERIALS[C.CABINET][2]),),
    C.SHELF: (('paint', 1.0, ((0.94, 0.94, 0.92), (0.13, 0.13, 0.14), (0.80, 0.68, 0.50),
                              (0.40, 0.52, 0.45))),),
}


@dataclass
class Support:
    """A horizontal surface objects can stand on."""

    center: tuple[float, float]
    half: tuple[float, float]
    yaw: float
    z: float
    max_height: float  # free height above the surface
    items: list[tuple[float, float, float]] = field(default_factory=list)  # (x, y, r) local


class Builder:
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
        self.supports: list[Support] = []
        self.pictures: list[int] = []

    # -- materials --------------------------------------------------------------------------
    def material(self, kind: str, **overrides: object) -> int:
        self.materials.append(random_material(self.rng, kind, **overrides))
        return len(self.materials) - 1

    def furniture_material(self, label: int | None = None) -> int:
        """
        A furniture material: from the pool every class shares, or, in a world whose style has
        ``distinct_furniture`` or ``class_materials``, from the class's own kinds and colours
        (``_DISTINCT_MATERIALS``, ``_CLASS_MATERIALS``).
        """
        if self.style.distinct_furniture and label in _DISTINCT_MATERIALS:
            options = _DISTINCT_MATERIALS[label]
            kind, _, palette = options[int(self.rng.choice(len(options),
                                                           p=[o[1] for o in options]))]
            if palette is None:
                return self.material(kind)
            # per-instance variation: +-10 % brightness; grain and accent follow (wood)
            srgb = np.array(palette[int(self.rng.integers(len(palette)))]) * uniform(
                self.rng, 0.9, 1.1)
            return self.material(kind, color_a=srgb_to_linear(srgb),
                                 color_b=srgb_to_linear(srgb * 0.72),
                                 color_c=srgb_to_linear(srgb * 0.45))
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


def uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))
