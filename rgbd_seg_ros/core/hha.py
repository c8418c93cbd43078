# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
HHA encoding of metric depth (Gupta et al., ECCV 2014), batched, on the input's device.

One implementation serves training (on the fly or cached as lossless PNG) and the robot. It
follows the reference (s-gupta/rcnn-depth and its Python port Depth2HHA-python) step by step;
docs/hha.md describes the encoding, its constants, where it departs from the reference and the
reference fixtures it is tested against. The geometry (normals, box filters, gravity) lives in
``core/hha_geometry.py``; this module holds the definition, its constants and the public API.

Channels, in this order everywhere in the project (``[B, 3, H, W]`` / ``[H, W, 3]``):

=====  ===========  ==================================================  ======================
index  name         value (before rounding)                             range
=====  ===========  ==================================================  ======================
0      disparity    ``31000 / max(z_cm, 100)``                          0..255; 255 for
                                                                        z <= 1.216 m and for
                                                                        missing depth
1      height       cm above the lowest point seen, or above a floor    0..255 (saturates
                    assumed 130 cm below the camera when nothing seen   2.55 m above the
                    is more than 90 cm below it                         floor estimate)
2      angle        degrees between the surface normal (pointing away   38..218: floor 38,
                    from the camera) and gravity (pointing down), + 38  wall 128, ceiling and
                                                                        "no normal" 218
=====  ===========  ==================================================  ======================

Values are the reference's grey levels: rounded half to even (``np.rint``), clipped to 0..255.
``compute_hha`` returns them as float32, ``hha_image`` as uint8. PNG files store the planes as
R = disparity, G = height, B = angle (the reference's files): ``cv2.imwrite`` needs
``hha[..., ::-1]``, and ``cv2.imread`` returns ``[angle, height, disparity]``.

Pixel convention: ``compute_hha`` takes ``CameraIntrinsics`` / ``K`` tensors in the project's
**0-based** convention (ROS, OpenCV); ``hha_image`` takes the reference's **1-based** ``K`` (the
NYU toolbox calibration) and converts it (cx - 1, cy - 1).

Missing depth: NaN, +-Inf, zero and negative depth are all missing. ``valid_mask`` (False =
leave out, like the reference's raw depth ``RD == 0``) removes further pixels from the normal
fits only; geometry (disparity, height) always comes from ``depth_m``. All-missing depth gives
the constant (255, 130, 218).

Numerics: float32 on every device; the plane fits use window-relative pixel offsets, which stay
well conditioned where the reference's uncentred sums would not. Measured speed:
``bench/hha.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
import math

import numpy as np
import torch

from rgbd_seg_ros.core.camera import CameraIntrinsics
from rgbd_seg_ros.core.hha_geometry import (
    GRAVITY_STAGES,
    KNOWN_BOX_FILTERS,
    Scratch,
    check_box_filter,
    dot3,
    fit_inputs,
    gravity_from_normals,
    pixel_grid,
    plane_normals,
)

__all__ = [
    'ANGLE_OFFSET_DEG',
    'ASSUMED_FLOOR_CM',
    'DISPARITY_MIN_DEPTH_CM',
    'DISPARITY_NUMERATOR',
    'GRAVITY_NORMAL_RADIUS',
    'GRAVITY_STAGES',
    'HHA_CHANNELS',
    'KNOWN_BOX_FILTERS',
    'LOW_CAMERA_THRESHOLD_CM',
    'MISSING_NORMAL_ANGLE_DEG',
    'NORMAL_RADIUS',
    'ROTATION_SKIP_DEG',
    'compute_hha',
    'estimate_gravity',
    'hha_image',
    'surface_normals',
]

HHA_CHANNELS = ('disparity', 'height', 'angle')  # channel order of every HHA array
MISSING_HHA = (255, 130, 218)  # HHA of depth with no valid pixel (core.depth.missing_depth)
DISPARITY_NUMERATOR = 31000.0  # disparity grey level = 31000 / max(z_cm, 100)
DISPARITY_MIN_DEPTH_CM = 100.0  # depth clamp before the division, cm
ANGLE_OFFSET_DEG = 38.0  # angle grey level = angle_deg + 128 - 90
MISSING_NORMAL_ANGLE_DEG = 180.0  # angle of pixels without a normal (reference: NaN -> 180)
NORMAL_RADIUS = 3  # window radius of the output normals (7x7)
GRAVITY_NORMAL_RADIUS = 10  # window radius of the normals used for gravity (21x21)
ROTATION_SKIP_DEG = 0.1  # heights use the camera's y axis if gravity is within this angle
LOW_CAMERA_THRESHOLD_CM = -90.0  # if the lowest point is above this (cm, camera at 0) ...
ASSUMED_FLOOR_CM = -130.0  # ... the floor is assumed here

_CM_PER_M = 100.0
_DepthLike = torch.Tensor | np.ndarray
_IntrinsicsLike = CameraIntrinsics | Sequence[CameraIntrinsics] | torch.Tensor | np.ndarray


# --------------------------------------------------------------------------- input checking


def _as_depth_batch(depth_m: _DepthLike) -> torch.Tensor:
    """Depth ``[H, W]``, ``[B, H, W]`` or ``[B, 1, H, W]`` -> float32 ``[B, H, W]``, 0 missing."""
    if isinstance(depth_m, np.ndarray):
        if not np.issubdtype(depth_m.dtype, np.floating):
            raise ValueError(
                f'depth_m must be floating-point metres, got dtype {depth_m.dtype}; convert raw '
                'sensor values first (rgbd_seg_ros.core.depth.depth_to_metres)'
            )
        depth_m = torch.from_numpy(np.ascontiguousarray(depth_m))
    if not isinstance(depth_m, torch.Tensor):
        raise ValueError(f'depth_m must be a torch.Tensor or numpy array, got {type(depth_m)}')
    if not depth_m.is_floating_point():
        raise ValueError(
            f'depth_m must be floating-point metres, got dtype {depth_m.dtype}; convert raw '
            'sensor values first (rgbd_seg_ros.core.depth.depth_to_metres)'
        )
    if depth_m.dim() == 4 and depth_m.shape[1] == 1:
        depth_m = depth_m[:, 0]
    elif depth_m.dim() == 2:
        depth_m = depth_m[None]
    if depth_m.dim() != 3:
        raise ValueError(
            f'depth_m must be [H, W], [B, H, W] or [B, 1, H, W], got shape {tuple(depth_m.shape)}'
        )
    if depth_m.numel() == 0:
        raise ValueError(f'depth_m is empty, shape {tuple(depth_m.shape)}')
    # NaN, +-Inf, 0 and negative depth are missing (float arithmetic: bool ops are slow on CPU).
    depth = torch.nan_to_num(depth_m.to(torch.float32), nan=0.0, posinf=0.0, neginf=0.0)
    return depth.clamp_min(0.0).contiguous()


def _fit_mask(valid_mask: _DepthLike | None, depth: torch.Tensor) -> torch.Tensor:
    """Float 0/1 ``[B, H, W]``: pixels that enter the normal fits (depth > 0 and valid)."""
    has_depth = torch.sign(depth)  # depth >= 0 here
    if valid_mask is None:
        return has_depth
    if isinstance(valid_mask, np.ndarray):
        valid_mask = torch.from_numpy(np.ascontiguousarray(valid_mask))
    if not isinstance(valid_mask, torch.Tensor):
        raise ValueError(f'valid_mask must be a bool tensor or array, got {type(valid_mask)}')
    if valid_mask.dtype != torch.bool:
        raise ValueError(f'valid_mask must have dtype bool, got {valid_mask.dtype}')
    mask = valid_mask
    if mask.dim() == 4 and mask.shape[1] == 1:
        mask = mask[:, 0]
    elif mask.dim() == 2:
        mask = mask[None]
    shape = depth.shape
    if mask.dim() != 3 or mask.shape[-2:] != shape[-2:] or mask.shape[0] not in (1, shape[0]):
        raise ValueError(
            f'valid_mask shape {tuple(valid_mask.shape)} does not match depth_m '
            f'[B, H, W] = {tuple(shape)}'
        )
    mask = mask.to(depth.device).contiguous().view(torch.uint8).to(torch.float32)
    return has_depth * mask


def _intrinsics_params(
    intrinsics: _IntrinsicsLike, batch: int, height: int, width: int, device
) -> torch.Tensor:
    """0-based intrinsics -> float64 ``[B, 4]`` (fx, fy, cx, cy) on ``device``."""
    if isinstance(intrinsics, CameraIntrinsics):
        intrinsics = [intrinsics]
    if isinstance(intrinsics, np.ndarray):
        intrinsics = torch.from_numpy(np.asarray(intrinsics, dtype=np.float64))
    if isinstance(intrinsics, torch.Tensor):
        K = intrinsics.detach().to('cpu', torch.float64)  # noqa: N806
        if K.dim() == 2:
            K = K[None]  # noqa: N806
        if K.dim() != 3 or K.shape[-2:] != (3, 3) or K.shape[0] not in (1, batch):
            raise ValueError(
                f'intrinsics tensor must be [3, 3] or [B, 3, 3] with B = {batch}, '
                f'got shape {tuple(intrinsics.shape)}'
            )
        if not bool(torch.isfinite(K).all()):
            raise ValueError('intrinsics matrix contains NaN or Inf')
        params = torch.stack([K[:, 0, 0], K[:, 1, 1], K[:, 0, 2], K[:, 1, 2]], dim=1)
    else:
        cams = list(intrinsics)
        if not cams or not all(isinstance(c, CameraIntrinsics) for c in cams):
            raise ValueError(
                'intrinsics must be a CameraIntrinsics, a sequence of them, or a [B, 3, 3] '
                f'tensor, got {type(intrinsics)}'
            )
        if len(cams) not in (1, batch):
            raise ValueError(f'got {len(cams)} intrinsics for a batch of {batch} depth images')
        for cam in cams:
            if (cam.width, cam.height) != (width, height):
                raise ValueError(
                    f'intrinsics are for {cam.width}x{cam.height} images but depth_m is '
                    f'{width}x{height}; use CameraIntrinsics.scaled()/cropped() first'
                )
        params = torch.tensor([[c.fx, c.fy, c.cx, c.cy] for c in cams], dtype=torch.float64)
    if bool((params[:, :2] <= 0).any()):
        raise ValueError(f'focal lengths must be positive, got fx, fy = {params[:, :2].tolist()}')
    return params.expand(batch, 4).to(device)


def _as_gravity(gravity: _DepthLike, batch: int, device) -> torch.Tensor:
    """User gravity ``[3]`` or ``[B, 3]`` -> unit float64 ``[B, 3]``."""
    g = torch.as_tensor(gravity).detach().to(device, torch.float64)
    if g.dim() == 1:
        g = g[None]
    if g.dim() != 2 or g.shape[1] != 3 or g.shape[0] not in (1, batch):
        raise ValueError(f'gravity must be [3] or [B, 3] with B = {batch}, got {tuple(g.shape)}')
    norm = torch.linalg.vector_norm(g, dim=1, keepdim=True)
    if not bool(torch.isfinite(g).all()) or bool((norm == 0).any()):
        raise ValueError('gravity must be finite and non-zero')
    return (g / norm).expand(batch, 3)


# --------------------------------------------------------------------------- public API


@torch.no_grad()
def surface_normals(
    depth_m: _DepthLike,
    intrinsics: _IntrinsicsLike,
    valid_mask: _DepthLike | None = None,
    radius: int = NORMAL_RADIUS,
    box_filter: str = 'auto',
) -> torch.Tensor:
    """
    Reference surface normals (see the module docstring), float32 ``[B, 3, H, W]``.

    Unit vectors in the camera frame (x right, y down, z forward) pointing away from the
    camera; NaN where the ``(2 radius + 1)^2`` window holds no usable (non-collinear) points.
    """
    depth = _as_depth_batch(depth_m)
    if int(radius) != radius or radius < 1:
        raise ValueError(f'radius must be a positive integer, got {radius}')
    check_box_filter(box_filter)
    batch, height, width = depth.shape
    params = _intrinsics_params(intrinsics, batch, height, width, depth.device)
    scratch = Scratch(depth.device)
    fit = fit_inputs(depth, _fit_mask(valid_mask, depth), scratch)
    out = torch.empty((batch, 3, height, width), device=depth.device)
    dense = bool(fit[0].amin() == 1)
    return plane_normals(fit, params, int(radius), box_filter, scratch, out, dense=dense)


@torch.no_grad()
def estimate_gravity(
    depth_m: _DepthLike,
    intrinsics: _IntrinsicsLike,
    valid_mask: _DepthLike | None = None,
    box_filter: str = 'auto',
) -> torch.Tensor:
    """
    The reference's gravity estimate: unit vector ``[B, 3]`` (float32) pointing down.

    In camera coordinates (x right, y down, z forward); ``(0, 1, 0)`` when the depth has no
    normals at all.
    """
    normals = surface_normals(depth_m, intrinsics, valid_mask, GRAVITY_NORMAL_RADIUS, box_filter)
    return gravity_from_normals(normals, Scratch(normals.device)).to(torch.float32)


@torch.no_grad()
def compute_hha(
    depth_m: _DepthLike,
    intrinsics: _IntrinsicsLike,
    valid_mask: _DepthLike | None = None,
    *,
    gravity: _DepthLike | None = None,
    box_filter: str = 'auto',
) -> torch.Tensor:
    """
    HHA grey levels of a batch of depth maps, float32 ``[B, 3, H, W]`` on the input's device.

    :param depth_m: metres, ``[B, H, W]``, ``[B, 1, H, W]`` or ``[H, W]`` (tensor or array);
        NaN/Inf/0/negative = missing.
    :param intrinsics: ``CameraIntrinsics`` (one, or one per image) or a ``[3, 3]``/``[B, 3, 3]``
        camera matrix, **0-based** pixel centres.
    :param valid_mask: optional bool, same layout as ``depth_m``: False leaves a pixel out of the
        normal estimates (the reference's raw-depth mask); geometry still uses ``depth_m``.
    :param gravity: optional known gravity (down, camera frame) ``[3]`` or ``[B, 3]``, e.g. from
        an IMU; skips the estimate. The reference's 0.1 degree rule still applies to heights.
    :param box_filter: ``'auto'`` (OpenCV on CPU, torch elsewhere), ``'opencv'`` or ``'torch'``.
    :returns: channels ``[disparity, height, angle]``, rounded, clipped to 0..255.
    """
    depth = _as_depth_batch(depth_m)
    check_box_filter(box_filter)
    batch, height, width = depth.shape
    params = _intrinsics_params(intrinsics, batch, height, width, depth.device)
    fit_mask = _fit_mask(valid_mask, depth)
    g = None if gravity is None else _as_gravity(gravity, batch, depth.device)
    dense_each = fit_mask.flatten(1).amin(1) == 1  # every pixel valid: cheaper mask moments
    if bool(dense_each.all()) or not bool(dense_each.any()):
        return _hha(depth, params, fit_mask, g, box_filter, dense=bool(dense_each[0]))
    # Mixed batch: run the two groups apart, so that every image takes the same arithmetic (and
    # gives the same grey levels) in a batch as alone.
    hha = torch.empty((batch, 3, height, width), device=depth.device)
    for dense, group in ((True, dense_each), (False, ~dense_each)):
        idx = group.nonzero().squeeze(1)
        hha[idx] = _hha(depth[idx], params[idx], fit_mask[idx], None if g is None else g[idx],
                        box_filter, dense)
    return hha


def _hha(depth: torch.Tensor, params: torch.Tensor, fit_mask: torch.Tensor,
         gravity: torch.Tensor | None, box_filter: str, dense: bool) -> torch.Tensor:
    """
    ``compute_hha`` on checked inputs: depth ``[B, H, W]`` (m, 0 = missing), ``params``
    ``[B, 4]`` from ``_intrinsics_params``, the 0/1 fit mask from ``_fit_mask``, unit gravity
    ``[B, 3]`` or None (estimate it); ``dense``: the fit mask is all ones.
    """
    batch, height, width = depth.shape
    device = depth.device
    scratch = Scratch(device)
    fit = fit_inputs(depth, fit_mask, scratch)
    normals = scratch.take('hha_normals', (batch, 3, height, width))
    if gravity is None:
        plane_normals(fit, params, GRAVITY_NORMAL_RADIUS, box_filter, scratch, normals,
                      orient=False, dense=dense)
        g = gravity_from_normals(normals, scratch)
    else:
        g = gravity
    plane_normals(fit, params, NORMAL_RADIUS, box_filter, scratch, normals, dense=dense)

    hha = torch.empty((batch, 3, height, width), device=device)
    disparity, height_cm, angle = hha.unbind(1)
    # Angle between the normal and gravity + 38; no normal -> 180 degrees.
    dot3(normals.flatten(2), g.to(torch.float32), angle.view(batch, -1))
    angle.clamp_(-1.0, 1.0).acos_().mul_(180.0 / math.pi)
    angle.nan_to_num_(nan=MISSING_NORMAL_ANGLE_DEG).add_(ANGLE_OFFSET_DEG)

    # Height above the floor: h = -P . g, or -P_y when g is within 0.1 degree of the y axis.
    tilt_deg = torch.rad2deg(torch.atan2(torch.hypot(g[:, 0], g[:, 2]), g[:, 1]))
    e_y = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64, device=device)
    g_h = torch.where((tilt_deg > ROTATION_SKIP_DEG)[:, None], g, e_y)
    du, dv = pixel_grid(params, height, width, torch.float64)
    along_x = (g_h[:, 0, None, None] * du / params[:, 0, None, None]).to(torch.float32)
    along_y = (g_h[:, 1, None, None] * dv / params[:, 1, None, None] + g_h[:, 2, None, None])
    torch.add(along_x, along_y.to(torch.float32), out=height_cm)
    height_cm.mul_(depth).mul_(-_CM_PER_M)  # h = -z_cm * (g . ray)
    floor = height_cm.amin((1, 2), keepdim=True)
    floor = torch.where(floor > LOW_CAMERA_THRESHOLD_CM, ASSUMED_FLOOR_CM, floor)
    height_cm.sub_(floor)

    torch.mul(depth, _CM_PER_M, out=disparity)
    disparity.clamp_min_(DISPARITY_MIN_DEPTH_CM).reciprocal_().mul_(DISPARITY_NUMERATOR)
    # Every value is >= 0 (heights are measured from the lowest point or 130 cm below the camera,
    # which is below everything); only disparity and height can exceed 255.
    hha.round_()[:, :2].clamp_max_(255.0)
    return hha


def hha_image(
    depth_m: np.ndarray,
    K: np.ndarray,  # noqa: N803
    valid_mask: np.ndarray | None = None,
) -> np.ndarray:
    """
    Reference-compatible HHA of one depth map: uint8 ``[H, W, 3]``, [disparity, height, angle].

    :param depth_m: float ``[H, W]`` metres (missing: 0, NaN, Inf or negative).
    :param K: 3x3 camera matrix in the reference's **1-based** pixel convention (as the NYU
        toolbox / ``K_nyu_color.txt``); converted to 0-based internally.
    :param valid_mask: optional bool ``[H, W]``; ``raw_depth > 0`` reproduces the reference's
        ``getHHA(C, D, RD)``; None reproduces ``getHHA(C, D, D)``.
    :returns: the array PIL would read from the reference's PNG (``cv2.imwrite`` needs
        ``[..., ::-1]``).
    """
    depth_np = np.asarray(depth_m)
    if depth_np.ndim != 2:
        raise ValueError(f'depth_m must be [H, W], got shape {depth_np.shape}')
    height, width = depth_np.shape
    cam = CameraIntrinsics.from_matrix(K, width, height)
    cam = CameraIntrinsics(cam.fx, cam.fy, cam.cx - 1.0, cam.cy - 1.0, width, height)
    if valid_mask is not None and np.asarray(valid_mask).shape != depth_np.shape:
        raise ValueError(
            f'valid_mask shape {np.asarray(valid_mask).shape} does not match depth_m '
            f'{depth_np.shape}'
        )
    with torch.inference_mode():
        hha = compute_hha(depth_np, cam, valid_mask)
    return hha[0].permute(1, 2, 0).to(torch.uint8).numpy()
