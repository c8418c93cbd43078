# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Vectorised ray casting of a Scene in numpy, with deferred Lambertian + Blinn-Phong shading.

One ray per pixel through its centre (0-based pixel coordinates), direction
``((u - cx) / fx, (v - cy) / fy, 1)`` in the camera frame, so the ray parameter at a hit *is*
the z-depth in metres. Passes:

1. room: exit distance of the rays from the room box (floor, ceiling, 4 walls);
2. primitives: each one is projected to a screen rectangle and its analytic ray intersection
   (slab test for boxes, quadratic for cylinders and spheres) runs only on the rays inside that
   rectangle; a z-buffer keeps the nearest hit and its surface id;
3. geometry: per visible surface, normals and texture coordinates of its pixels;
4. materials: per material, the albedo texture of its pixels;
5. lighting: ambient (hemispheric) + point lights with inverse-square falloff, Lambertian
   diffuse and Blinn-Phong specular; no cast shadows, but a screen-space ambient occlusion
   (unsharp-masked depth) darkens corners and the floor around objects.
"""

from __future__ import annotations

from dataclasses import dataclass
import math

import cv2
import numpy as np

from rgbd_seg_ros.core.camera import CameraIntrinsics
from rgbd_seg_ros.sim import classes as C
from rgbd_seg_ros.sim.camera import CameraPose
from rgbd_seg_ros.sim.materials import ir_albedo, texture
from rgbd_seg_ros.sim.primitives import Box, Cylinder, Scene, Sphere
from rgbd_seg_ros.sim.raycast import HIT, camera_rays, screen_rects

Vec3 = tuple[np.ndarray, np.ndarray, np.ndarray]  # x, y, z component arrays
_ROOM_LABELS = (C.WALL, C.WALL, C.WALL, C.WALL, C.FLOOR, C.CEILING)
# inward normals of walls y=0, x=sx, y=sy, x=0, floor, ceiling
_ROOM_NORMALS = np.array(
    [[0, 1, 0], [-1, 0, 0], [0, -1, 0], [1, 0, 0], [0, 0, 1], [0, 0, -1]], np.float32)


@dataclass
class RenderBuffers:
    """Noise-free render of one view; all arrays ``[H, W]`` unless noted."""

    radiance: np.ndarray  # float32 [H, W, 3] linear scene radiance (before exposure)
    depth_m: np.ndarray  # float32 z-depth, metres (every pixel hits a surface)
    label: np.ndarray  # uint8 class ids, 255 unlabeled
    surface: np.ndarray  # int32 surface id (primitive index; room faces after the primitives)
    ir_albedo: np.ndarray  # float32 near-infrared albedo 0..1 of the surface's material
    specular: np.ndarray  # float32 specular highlight strength (saturates the IR projector)
    transparent: np.ndarray  # bool, glass
    normal_cam: np.ndarray | None  # float32 [H, W, 3] camera-frame unit normals (on request)


def render(scene: Scene, intr: CameraIntrinsics, pose: CameraPose,
           with_normals: bool = False) -> RenderBuffers:
    """
    Ray-cast ``scene`` from ``pose`` with pinhole ``intr``; noise-free buffers.

    ``with_normals`` also returns the camera-frame surface normals (costs ~10 %).
    """
    R = pose.rotation  # noqa: N806
    o = tuple(float(v) for v in pose.position)  # python floats keep the arrays float32
    h, w = intr.height, intr.width
    dx, dy, dz = camera_rays(intr, R)
    inv = (1.0 / dx, 1.0 / dy, 1.0 / dz)
    sx, sy, sz = (float(v) for v in scene.size)
    n_prims = len(scene.primitives)

    # 1. room box from inside: the nearest exit plane per ray
    tx = np.where(dx > 0, sx - o[0], -o[0]).astype(np.float32) * inv[0]
    ty = np.where(dy > 0, sy - o[1], -o[1]).astype(np.float32) * inv[1]
    tz = np.where(dz > 0, sz - o[2], -o[2]).astype(np.float32) * inv[2]
    zbuf = np.minimum(np.minimum(tx, ty), tz)
    face = np.where(tz <= np.minimum(tx, ty), np.where(dz > 0, 5, 4),
                    np.where(tx <= ty, np.where(dx > 0, 1, 3), np.where(dy > 0, 2, 0)))
    surf = (face + n_prims).astype(np.int16 if n_prims < 32000 else np.int32)

    # 2. primitives inside their screen rectangles, nearest first; skip occluded ones
    rects, zmin = screen_rects(scene, intr, R, np.asarray(o))
    for i in np.argsort(zmin, kind='stable'):
        r0, r1, c0, c1 = rects[i]
        if r1 <= r0 or c1 <= c0:
            continue
        win = (slice(r0, r1), slice(c0, c1))
        zwin = zbuf[win]
        if zmin[i] > zwin.max():
            continue
        p = scene.primitives[i]
        t = HIT[type(p)](p, o, (dx[win], dy[win], dz[win]),
                          (inv[0][win], inv[1][win], inv[2][win]))
        closer = t < zwin
        np.copyto(zwin, t, where=closer)
        np.copyto(surf[win], i, where=closer, casting='unsafe')

    # 3. sort the pixels by (material, surface) so that every surface and every material is
    # one contiguous run; all deferred shading works on these runs
    n_pix = h * w
    n_surf = n_prims + 6
    sid = surf.ravel()
    mat_of = np.array([p.material for p in scene.primitives]
                      + list(scene.wall_materials)
                      + [scene.floor_material, scene.ceiling_material], np.int64)
    label_of = np.array([p.label for p in scene.primitives] + list(_ROOM_LABELS), np.uint8)
    rank_order = np.lexsort((np.arange(n_surf), mat_of))
    rank = np.empty(n_surf, np.int64)
    rank[rank_order] = np.arange(n_surf)
    key = rank[sid].astype(np.int16 if n_surf < 32000 else np.int32)
    order = np.argsort(key, kind='stable')
    counts = np.bincount(key, minlength=n_surf)
    starts = np.concatenate([[0], np.cumsum(counts)])
    ddx, ddy, ddz = dx.ravel()[order], dy.ravel()[order], dz.ravel()[order]
    depth = zbuf.ravel()[order]
    px = depth * ddx + o[0]
    py = depth * ddy + o[1]
    pz = depth * ddz + o[2]
    nx = np.empty(n_pix, np.float32)
    ny = np.empty(n_pix, np.float32)
    nz = np.empty(n_pix, np.float32)
    u = np.empty(n_pix, np.float32)
    v = np.empty(n_pix, np.float32)
    un = np.zeros(n_pix, np.float32)
    vn = np.zeros(n_pix, np.float32)
    for r in np.nonzero(counts)[0]:
        a, b = starts[r], starts[r + 1]
        s = int(rank_order[r])
        pts = (px[a:b], py[a:b], pz[a:b])
        if s >= n_prims:  # room face: constant normal, world-anchored uv
            nrm = tuple(float(c) for c in _ROOM_NORMALS[s - n_prims])
            nx[a:b], ny[a:b], nz[a:b] = nrm
            u[a:b], v[a:b] = _world_uv_from_normal(pts, nrm)
            continue
        p = scene.primitives[s]
        nrm, suv, suvn = _surface_geometry(p, pts)
        nx[a:b], ny[a:b], nz[a:b] = nrm
        un[a:b], vn[a:b] = suvn
        if scene.materials[p.material].world_uv:
            suv = _world_uv_from_normal(pts, nrm)
        u[a:b], v[a:b] = suv

    # 4. materials, one contiguous run each
    albedo = np.empty((n_pix, 3), np.float32)
    emission = np.zeros(n_pix, np.float32)
    spec_w = np.zeros(n_pix, np.float32)
    shin = np.ones(n_pix, np.float32)
    ir_lum = np.ones(n_pix, np.float32)
    transparent = np.zeros(n_pix, bool)
    mcounts = np.bincount(mat_of[rank_order], weights=counts, minlength=len(scene.materials))
    mstarts = np.concatenate([[0], np.cumsum(mcounts)]).astype(np.int64)
    for m in np.nonzero(mcounts)[0]:
        a, b = mstarts[m], mstarts[m + 1]
        mat = scene.materials[m]
        albedo[a:b], e = texture(mat, u[a:b], v[a:b], un[a:b], vn[a:b])
        ir_lum[a:b] = ir_albedo(mat)
        if mat.emission > 0:
            emission[a:b] = e
        if mat.specular > 0:
            spec_w[a:b] = mat.specular
            shin[a:b] = mat.shininess
        if mat.transparent:
            transparent[a:b] = True

    # 5. lighting (structure of arrays, float32); lights of one colour share an accumulator
    amb = np.float32(scene.ambient) * (0.75 + 0.25 * nz)
    groups: dict[tuple[float, float, float], np.ndarray] = {}
    spec_idx = np.nonzero(spec_w > 0)[0]
    spec = np.zeros(n_pix, np.float32)
    if spec_idx.size:
        inv_len = 1.0 / np.sqrt(ddx[spec_idx] ** 2 + ddy[spec_idx] ** 2 + ddz[spec_idx] ** 2)
        vx, vy, vz = -ddx[spec_idx] * inv_len, -ddy[spec_idx] * inv_len, -ddz[spec_idx] * inv_len
        snx, sny, snz = nx[spec_idx], ny[spec_idx], nz[spec_idx]
        sshin = shin[spec_idx]
    for lt in scene.lights:
        power = max(lt.power)
        color = tuple(round(c / power, 4) for c in lt.power)
        lx = float(lt.position[0]) - px
        ly = float(lt.position[1]) - py
        lz = float(lt.position[2]) - pz
        dist2 = lx * lx
        dist2 += ly * ly
        dist2 += lz * lz
        ndotl = nx * lx
        ndotl += ny * ly
        ndotl += nz * lz
        np.maximum(ndotl, 0.0, out=ndotl)
        dist = np.sqrt(dist2)
        wgt = ndotl / (dist * (1.0 + dist2))  # cos / distance falloff
        wgt *= power
        if color in groups:
            groups[color] += wgt
        else:
            groups[color] = wgt
        if spec_idx.size:
            k = 1.0 / dist[spec_idx]
            hx, hy, hz = lx[spec_idx] * k + vx, ly[spec_idx] * k + vy, lz[spec_idx] * k + vz
            hn = 1.0 / np.maximum(np.sqrt(hx * hx + hy * hy + hz * hz), 1e-6)
            ndoth = np.maximum((snx * hx + sny * hy + snz * hz) * hn, 0.0)
            lit = ndotl[spec_idx] > 0
            spec[spec_idx] += (np.power(ndoth, sshin) * lit / (1.0 + dist2[spec_idx])
                               * float(np.mean(lt.power)))
    lr, lg, lb = amb.copy(), amb.copy(), amb
    for color, wgt in groups.items():
        lr += wgt * color[0]
        lg += wgt * color[1]
        lb += wgt * color[2]
    spec *= spec_w
    em = np.nonzero(emission)[0]
    if em.size:  # self-lit: radiance = albedo * emission
        lr[em] = emission[em]
        lg[em] = emission[em]
        lb[em] = emission[em]
    light = np.stack([lr, lg, lb], axis=1)
    light *= albedo
    light += spec[:, None]
    inverse = np.empty(n_pix, np.int64)  # sorted order -> image order
    inverse[order] = np.arange(n_pix)
    radiance = np.take(light, inverse, axis=0).reshape(h, w, 3)
    radiance *= _depth_occlusion(zbuf)[..., None]
    return RenderBuffers(
        radiance=radiance,
        depth_m=zbuf,
        label=label_of[sid].reshape(h, w),
        surface=surf.astype(np.int32),
        ir_albedo=ir_lum[inverse].reshape(h, w),
        specular=spec[inverse].reshape(h, w),
        transparent=transparent[inverse].reshape(h, w),
        normal_cam=_camera_normals(nx, ny, nz, R, inverse, h, w) if with_normals else None,
    )


def _camera_normals(nx: np.ndarray, ny: np.ndarray, nz: np.ndarray, R: np.ndarray,  # noqa: N803
                    inverse: np.ndarray, h: int, w: int) -> np.ndarray:
    """World normals (sorted pixel order) -> camera-frame normals ``[h, w, 3]``."""
    Rf = R.astype(np.float32)  # noqa: N806
    cam = np.stack([nx * Rf[0, k] + ny * Rf[1, k] + nz * Rf[2, k] for k in range(3)], axis=1)
    return np.take(cam, inverse, axis=0).reshape(h, w, 3)


def _depth_occlusion(depth: np.ndarray, strength: float = 2.5, max_dark: float = 0.45
                     ) -> np.ndarray:
    """
    Approximate ambient occlusion by unsharp masking the depth buffer (Luft et al., SIGGRAPH
    2006): a pixel farther than its blurred neighbourhood (a concave corner, the floor around an
    object's base, background next to a foreground edge) is darkened. ``[H, W]`` factors in
    ``[1 - max_dark, 1]``; stands in for the shadows the ray caster does not trace.
    """
    k = 2 * int(0.03 * depth.shape[1]) + 1  # box width ~ 2 sigma of a 3 %-of-width Gaussian
    ref = cv2.blur(cv2.blur(depth, (k, k)), (k, k))  # two box passes ~ a Gaussian, O(1)/pixel
    dark = np.clip((depth - ref) / depth * strength, 0.0, max_dark)
    return 1.0 - dark


def _world_uv_from_normal(pts: Vec3, nrm: Vec3) -> tuple[np.ndarray, np.ndarray]:
    """
    World-anchored texture coordinates (metres): floor-like faces use (x, y), faces whose
    normal is along +-x use (+-y, z) and along +-y use (-+x, z), i.e. u runs along up x normal,
    so coplanar surfaces (a wall and a cabinet front painted like it) share one pattern.
    """
    px, py, pz = pts
    nx, ny, nz = nrm
    ax, ay, az = np.abs(nx), np.abs(ny), np.abs(nz)
    zdom = (az >= ax) & (az >= ay)
    xdom = ax >= ay
    u = np.where(zdom, px, np.where(xdom, np.sign(nx) * py, -np.sign(ny) * px))
    v = np.where(zdom, py, pz)
    return u.astype(np.float32), v.astype(np.float32)


UV = tuple[np.ndarray, np.ndarray]


def _surface_geometry(p: Box | Cylinder | Sphere, pts: Vec3) -> tuple[Vec3, UV, UV]:
    """World normals, uv (metres) and uvn (0..1) of hit points ``pts`` (x, y, z) on ``p``."""
    px, py, pz = pts
    if isinstance(p, Box):
        c, s = math.cos(p.yaw), math.sin(p.yaw)
        ex = px - p.center[0]
        ey = py - p.center[1]
        qx, qy, qz = c * ex + s * ey, c * ey - s * ex, pz - p.center[2]
        hx, hy, hz = (float(v) for v in p.half)
        ax, ay, az = np.abs(qx) / hx, np.abs(qy) / hy, np.abs(qz) / hz
        axis = np.where((ax >= ay) & (ax >= az), 0, np.where(ay >= az, 1, 2))
        q_axis = np.choose(axis, [qx, qy, qz])
        sign = np.where(q_axis >= 0, np.float32(1.0), np.float32(-1.0))
        # face coordinates; u runs to the viewer's right on side faces (u = up x normal)
        u = np.choose(axis, [sign * qy, -sign * qx, qx])
        v = np.choose(axis, [qz, qz, sign * qy])
        hu = np.choose(axis, [hy, hx, hx]).astype(np.float32)
        hv = np.choose(axis, [hz, hz, hy]).astype(np.float32)
        nlx = np.where(axis == 0, sign, 0.0)
        nly = np.where(axis == 1, sign, 0.0)
        nlz = np.where(axis == 2, sign, 0.0).astype(np.float32)
        nrm = ((c * nlx - s * nly).astype(np.float32), (s * nlx + c * nly).astype(np.float32),
               nlz)
        return nrm, (u + hu, v + hv), ((u + hu) / (2 * hu), (v + hv) / (2 * hv))
    if isinstance(p, Cylinder):
        ex = px - p.center_xy[0]
        ey = py - p.center_xy[1]
        rr = np.sqrt(ex * ex + ey * ey)
        dcap = np.minimum(np.abs(pz - p.z1), np.abs(pz - p.z0))
        side = np.abs(rr - p.radius) < dcap
        rs = np.maximum(rr, 1e-9)
        nrm = (np.where(side, ex / rs, 0.0).astype(np.float32),
               np.where(side, ey / rs, 0.0).astype(np.float32),
               np.where(side, 0.0, np.where(pz > 0.5 * (p.z0 + p.z1), 1.0, -1.0)
                        ).astype(np.float32))
        ang = np.arctan2(ey, ex)
        height = max(p.z1 - p.z0, 1e-6)
        uv = (np.where(side, ang * p.radius, ex + p.radius),
              np.where(side, pz - p.z0, ey + p.radius))
        uvn = (np.where(side, ang / (2 * math.pi) + 0.5, (ex / p.radius + 1) / 2),
               np.where(side, (pz - p.z0) / height, (ey / p.radius + 1) / 2))
        return nrm, uv, uvn
    r = p.radius
    ex, ey, ez = (px - p.center[0]) / r, (py - p.center[1]) / r, (pz - p.center[2]) / r
    norm = 1.0 / np.maximum(np.sqrt(ex * ex + ey * ey + ez * ez), 1e-9)
    nrm = (ex * norm, ey * norm, ez * norm)
    ang = np.arctan2(nrm[1], nrm[0])
    pol = np.arccos(np.clip(nrm[2], -1.0, 1.0))
    return nrm, (ang * r, pol * r), (ang / (2 * math.pi) + 0.5, 1.0 - pol / math.pi)
