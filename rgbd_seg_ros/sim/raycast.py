# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Ray casting for ``render.py``: camera rays, screen-space bounds of the primitives and the
ray/primitive intersections (slab test for boxes, quadrics for cylinders and spheres). An
implementation module of the renderer; its names are private to the pair.
"""

from __future__ import annotations

import math

import numpy as np

from rgbd_seg_ros.core.camera import CameraIntrinsics
from rgbd_seg_ros.sim.primitives import Box, Cylinder, Scene, Sphere

_NEAR = 0.02  # metres; hits closer than this along z are ignored


def camera_rays(intr: CameraIntrinsics, R: np.ndarray  # noqa: N803
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World-frame ray directions (dx, dy, dz), each float32 ``[H, W]``, with camera z = 1."""
    xc = ((np.arange(intr.width, dtype=np.float64) - intr.cx) / intr.fx)[None, :]
    yc = ((np.arange(intr.height, dtype=np.float64) - intr.cy) / intr.fy)[:, None]
    out = []
    for k in range(3):
        d = (R[k, 0] * xc + R[k, 1] * yc + R[k, 2]).astype(np.float32)
        d[d == 0.0] = 1e-12  # keep 1/d finite-signed
        out.append(d)
    return out[0], out[1], out[2]


def _bounds(p: Box | Cylinder | Sphere) -> np.ndarray:
    """The 8 corners ``[8, 3]`` of a primitive's world bounding box."""
    if isinstance(p, Box):
        c, s = math.cos(p.yaw), math.sin(p.yaw)
        hx, hy, hz = p.half
        lx = np.array([-hx, hx, hx, -hx] * 2)
        ly = np.array([-hy, -hy, hy, hy] * 2)
        lz = np.array([-hz] * 4 + [hz] * 4)
        return np.stack([p.center[0] + c * lx - s * ly, p.center[1] + s * lx + c * ly,
                         p.center[2] + lz], axis=1)
    if isinstance(p, Cylinder):
        x, y = p.center_xy
        r = p.radius
        lo, hi = (x - r, y - r, p.z0), (x + r, y + r, p.z1)
    else:
        r = p.radius
        lo = tuple(v - r for v in p.center)
        hi = tuple(v + r for v in p.center)
    return np.array([[lo[0] if i & 1 == 0 else hi[0], lo[1] if i & 2 == 0 else hi[1],
                      lo[2] if i & 4 == 0 else hi[2]] for i in range(8)])


def screen_rects(scene: Scene, intr: CameraIntrinsics, R: np.ndarray,  # noqa: N803
                  origin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """
    Per primitive the ``[r0, r1, c0, c1]`` pixel window containing it (empty if not visible),
    and a lower bound of its z-depth (metres).
    """
    n = len(scene.primitives)
    rects = np.zeros((n, 4), np.int64)
    if n == 0:
        return rects, np.zeros(0)
    corners = np.stack([_bounds(p) for p in scene.primitives])  # [n, 8, 3]
    cam = (corners - origin) @ R  # [n, 8, 3] camera coordinates
    z = cam[..., 2]
    in_front = z > _NEAR
    zs = np.where(in_front, z, 1.0)
    u = intr.fx * cam[..., 0] / zs + intr.cx
    v = intr.fy * cam[..., 1] / zs + intr.cy
    rects[:, 0] = np.floor(v.min(axis=1)) - 1
    rects[:, 1] = np.ceil(v.max(axis=1)) + 2
    rects[:, 2] = np.floor(u.min(axis=1)) - 1
    rects[:, 3] = np.ceil(u.max(axis=1)) + 2
    straddle = in_front.any(axis=1) & ~in_front.all(axis=1)
    rects[straddle] = (0, intr.height, 0, intr.width)
    behind = ~in_front.any(axis=1)
    rects[behind] = 0
    rects[:, 0:2] = np.clip(rects[:, 0:2], 0, intr.height)
    rects[:, 2:4] = np.clip(rects[:, 2:4], 0, intr.width)
    return rects, np.where(straddle, 0.0, z.min(axis=1))


def _slab(o: float, inv: np.ndarray, lo: float, hi: float
          ) -> tuple[np.ndarray, np.ndarray]:
    t1 = (lo - o) * inv
    t2 = (hi - o) * inv
    return np.minimum(t1, t2), np.maximum(t1, t2)


def _hit_box(p: Box, o: tuple[float, float, float], d: tuple[np.ndarray, ...],
             inv: tuple[np.ndarray, ...]) -> np.ndarray:
    hx, hy, hz = p.half
    q = p.yaw % (math.pi / 2)
    quarter = int(round((p.yaw - q) / (math.pi / 2)))
    if q < 1e-9 or math.pi / 2 - q < 1e-9:  # axis aligned: use the shared inverses
        if math.pi / 2 - q < 1e-9:
            quarter += 1
        if quarter % 2:
            hx, hy = hy, hx
        cx, cy, cz = p.center
        n0, f0 = _slab(o[0], inv[0], cx - hx, cx + hx)
        n1, f1 = _slab(o[1], inv[1], cy - hy, cy + hy)
    else:
        c, s = math.cos(p.yaw), math.sin(p.yaw)
        ex, ey = o[0] - p.center[0], o[1] - p.center[1]
        olx, oly = c * ex + s * ey, -s * ex + c * ey
        dlx = c * d[0] + s * d[1]
        dly = c * d[1] - s * d[0]
        with np.errstate(divide='ignore'):
            n0, f0 = _slab(olx, 1.0 / dlx, -hx, hx)
            n1, f1 = _slab(oly, 1.0 / dly, -hy, hy)
        cz = p.center[2]
    n2, f2 = _slab(o[2], inv[2], cz - hz, cz + hz)
    tn = np.maximum(np.maximum(n0, n1), n2)
    tf = np.minimum(np.minimum(f0, f1), f2)
    return np.where((tn <= tf) & (tn > _NEAR), tn, np.inf)


def _hit_cylinder(p: Cylinder, o: tuple[float, float, float], d: tuple[np.ndarray, ...],
                  inv: tuple[np.ndarray, ...]) -> np.ndarray:
    ex, ey = o[0] - p.center_xy[0], o[1] - p.center_xy[1]
    r2 = p.radius * p.radius
    a = d[0] * d[0] + d[1] * d[1]
    bh = d[0] * ex + d[1] * ey
    disc = bh * bh - a * (ex * ex + ey * ey - r2)
    with np.errstate(invalid='ignore', divide='ignore'):
        t = (-bh - np.sqrt(disc)) / a
        z = o[2] + t * d[2]
        t = np.where((disc >= 0) & (t > _NEAR) & (z >= p.z0) & (z <= p.z1), t, np.inf)
    cap = p.z1 if o[2] > p.z1 else (p.z0 if o[2] < p.z0 else None)
    if cap is not None:
        tc = (cap - o[2]) * inv[2]
        x = ex + tc * d[0]
        y = ey + tc * d[1]
        tc = np.where((tc > _NEAR) & (x * x + y * y <= r2), tc, np.inf)
        t = np.minimum(t, tc)
    return t


def _hit_sphere(p: Sphere, o: tuple[float, float, float], d: tuple[np.ndarray, ...],
                inv: tuple[np.ndarray, ...]) -> np.ndarray:
    e = [o[k] - p.center[k] for k in range(3)]
    a = d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
    bh = d[0] * e[0] + d[1] * e[1] + d[2] * e[2]
    disc = bh * bh - a * (e[0] * e[0] + e[1] * e[1] + e[2] * e[2] - p.radius * p.radius)
    with np.errstate(invalid='ignore'):
        t = (-bh - np.sqrt(disc)) / a
    return np.where((disc >= 0) & (t > _NEAR), t, np.inf)


HIT = {Box: _hit_box, Cylinder: _hit_cylinder, Sphere: _hit_sphere}
