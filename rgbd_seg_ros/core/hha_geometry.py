# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The geometry behind ``core/hha.py``: surface normals from windowed plane fits, box filters
(OpenCV or torch), per-thread scratch buffers and the iterative gravity estimate (docs/hha.md,
"The algorithm"). ``hha.py`` builds the encoding from the public helpers here; the HHA
definition, its constants and the user-facing API are in ``hha.py``. Inputs are checked there:
the helpers take float32 ``[B, H, W]`` planes and float64 ``[B, 4]`` intrinsics
``(fx, fy, cx, cy)``, 0-based.
"""

from __future__ import annotations

import math
import threading

import cv2
import numpy as np
import torch
import torch.nn.functional as F

GRAVITY_STAGES = ((45.0, 5), (15.0, 5))  # (threshold degrees, iterations) per stage
KNOWN_BOX_FILTERS = ('auto', 'opencv', 'torch')

# --------------------------------------------------------------------------- scratch buffers


class Scratch:
    """
    Named work buffers, reused between calls on the CPU (one set per thread).

    Fresh large CPU allocations are returned to the OS when freed and page-fault on first use
    again, which costs more than the arithmetic here; on GPUs the caching allocator already
    reuses memory, so buffers there are plain ``torch.empty``. A thread that computed HHA keeps
    about 34 float32 planes per image of its last batch shape (~40 MiB for one 480x640 frame).
    """

    _local = threading.local()
    _MAX_BUFFERS = 64

    def __init__(self, device: torch.device) -> None:
        self.device = device
        if device.type == 'cpu':
            cache = getattr(self._local, 'cache', None)
            if cache is None:
                cache = self._local.cache = {}
            self.cache = cache
        else:
            self.cache = None

    def take(self, name: str, shape: tuple[int, ...], dtype=torch.float32) -> torch.Tensor:
        """An uninitialised tensor; the same memory is handed out again for the same name."""
        shape = tuple(int(v) for v in shape)
        if self.cache is None:
            return torch.empty(shape, dtype=dtype, device=self.device)
        # Tensors made in inference mode can only be updated in inference mode: keep both kinds.
        key = (name, torch.is_inference_mode_enabled())
        buf = self.cache.get(key)
        if buf is None or tuple(buf.shape) != shape or buf.dtype != dtype:
            if len(self.cache) >= self._MAX_BUFFERS:
                self.cache.clear()
            buf = self.cache[key] = torch.empty(shape, dtype=dtype)
        return buf


# --------------------------------------------------------------------------- box filters


# Separable box sums as (row pass, column pass) tables. Row pass: (source, x kernel) with source
# 'm' (mask) or 'b' (mask / depth); column pass: (row-pass index, y kernel), in output order:
# S00, S01, S02, S10, S11, S20 (sums of m du^i dv^j, i for the column offset du, j for the row
# offset dv), then T00, T01, T10 (the same for m/depth). Without mask moments only T.
_PASSES = {
    True: ((('m', '1'), ('m', 'd'), ('m', 'd2'), ('b', '1'), ('b', 'd')),
           ((0, '1'), (0, 'd'), (0, 'd2'), (1, '1'), (1, 'd'), (2, '1'), (3, '1'), (3, 'd'),
            (4, '1'))),
    False: ((('b', '1'), ('b', 'd')), ((0, '1'), (0, 'd'), (1, '1'))),
}


def _kernels(radius: int) -> dict[str, np.ndarray]:
    d = np.arange(-radius, radius + 1, dtype=np.float64)
    return {'1': np.ones_like(d), 'd': d, 'd2': d * d}


def _box_sums_torch(
    mask: torch.Tensor, mask_b: torch.Tensor, radius: int, scratch: Scratch, moments: bool
) -> torch.Tensor:
    """
    Window sums by depthwise separable convolution (zero padding = truncated windows).

    Float32 depthwise convolutions run in PyTorch's own kernels (cuDNN, and with it TF32, is
    only used for half precision or channels-last depthwise convolutions).

    :param mask: float ``[B, H, W]`` validity (0/1).
    :param mask_b: float ``[B, H, W]``, the validity times 1/depth.
    :returns: ``[B, 9, H, W]`` (``[B, 3, H, W]`` without ``moments``), see ``_PASSES``.
    """
    k = 2 * radius + 1
    row_pass, col_pass = _PASSES[moments]
    kern = {key: torch.as_tensor(v, dtype=mask.dtype, device=mask.device)
            for key, v in _kernels(radius).items()}
    src = {'m': mask, 'b': mask_b}
    rows = F.conv2d(torch.stack([src[name] for name, _ in row_pass], 1),
                    torch.stack([kern[key] for _, key in row_pass]).view(-1, 1, 1, k),
                    padding=(0, radius), groups=len(row_pass))
    pick = torch.tensor([row for row, _ in col_pass], device=mask.device)
    return F.conv2d(rows.index_select(1, pick),
                    torch.stack([kern[key] for _, key in col_pass]).view(-1, 1, k, 1),
                    padding=(radius, 0), groups=len(col_pass))


def _box_sums_opencv(
    mask: torch.Tensor, mask_b: torch.Tensor, radius: int, scratch: Scratch, moments: bool
) -> torch.Tensor:
    """The same as ``_box_sums_torch`` with OpenCV's 1-D filters (several times faster on CPU)."""
    k = 2 * radius + 1
    np_dtype = np.float64 if mask.dtype == torch.float64 else np.float32
    kernels = {key: v.astype(np_dtype) for key, v in _kernels(radius).items()}
    row_pass, col_pass = _PASSES[moments]
    batch, height, width = mask.shape
    out = scratch.take(f'box_sums_{moments}', (batch, len(col_pass), height, width), mask.dtype)
    rows = scratch.take('box_rows', (len(row_pass), height, width), mask.dtype).numpy()
    border = cv2.BORDER_CONSTANT
    for i in range(batch):
        src = {'m': mask[i].contiguous().numpy(), 'b': mask_b[i].contiguous().numpy()}
        o = out[i].numpy()
        for j, (name, kern) in enumerate(row_pass):
            cv2.filter2D(src[name], -1, kernels[kern].reshape(1, k), dst=rows[j],
                         borderType=border)
        for j, (row, kern) in enumerate(col_pass):
            cv2.filter2D(rows[row], -1, kernels[kern].reshape(k, 1), dst=o[j],
                         borderType=border)
    return out


def _box_sums(mask, mask_b, radius: int, box_filter: str, scratch: Scratch,
              moments: bool = True) -> torch.Tensor:
    if box_filter == 'auto':
        box_filter = 'opencv' if mask.device.type == 'cpu' else 'torch'
    if box_filter == 'opencv':
        if mask.device.type != 'cpu':
            raise ValueError('box_filter="opencv" needs CPU tensors')
        return _box_sums_opencv(mask, mask_b, radius, scratch, moments)
    return _box_sums_torch(mask, mask_b, radius, scratch, moments)


# --------------------------------------------------------------------------- normals


def pixel_grid(params: torch.Tensor, height: int, width: int,
               dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Column and row offsets from the principal point (pixels): ``[B, 1, W]``, ``[B, H, 1]``."""
    device = params.device
    cols = torch.arange(width, dtype=torch.float64, device=device)
    rows = torch.arange(height, dtype=torch.float64, device=device)
    du = (cols[None, None, :] - params[:, 2, None, None]).to(dtype)
    dv = (rows[None, :, None] - params[:, 3, None, None]).to(dtype)
    return du, dv


def fit_inputs(depth: torch.Tensor, fit_mask: torch.Tensor,
               scratch: Scratch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """
    The per-frame planes the normal fits need, each ``[B, H, W]``: the 0/1 mask m, m/depth
    (per metre) and sign(depth), from depth (m, 0 = missing) and the 0/1 fit mask.
    """
    inv_depth = scratch.take('inv_depth', depth.shape)
    inv_depth.copy_(depth).clamp_min_(1e-30).reciprocal_().mul_(fit_mask)
    has_depth = torch.sign(depth, out=scratch.take('has_depth', depth.shape))
    return fit_mask, inv_depth, has_depth


def _window_sums_1d(size: int, radius: int) -> tuple[torch.Tensor, ...]:
    """
    Along one axis of ``size`` pixels: per position, the number of window offsets inside the
    image, their sum and their sum of squares (float64 ``[size]``; truncated windows).
    """
    pos = torch.arange(size, dtype=torch.float64)[:, None]
    off = torch.arange(-radius, radius + 1, dtype=torch.float64)[None, :]
    inside = ((pos + off >= 0) & (pos + off < size)).to(torch.float64)
    return inside.sum(1), (inside * off).sum(1), (inside * off * off).sum(1)


def plane_normals(
    fit: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    params: torch.Tensor,
    radius: int,
    box_filter: str,
    scratch: Scratch,
    out: torch.Tensor,
    orient: bool = True,
    dense: bool = False,
) -> torch.Tensor:
    """
    Least-squares plane normals into ``out`` ``[B, 3, H, W]`` (unit, away from the camera).

    NaN where the window has no usable points. Window-relative form of the reference's fit
    ``n . (x_k, y_k, 1) = 1/z_k`` with x_k = (u_k - cx)/fx: for the pixel (u, v) and offsets
    (du, dv) = (u_k - u, v_k - v), ``(x_k, y_k, 1) = M (du, dv, 1)`` with
    ``M = [[1/fx, 0, x], [0, 1/fy, y], [0, 0, 1]]``, so the fit ``m . (du, dv, 1) = b``
    (b = 1/depth) gives ``n = M^-T m``; it is solved through the window centroid (2x2 Schur
    complement). In-place arithmetic on reused buffers throughout (see ``Scratch``).

    :param fit: float32 ``[B, H, W]`` planes from ``fit_inputs``: the 0/1 fit mask (zero where
        depth is 0), mask/depth, and sign(depth).
    :param orient: False skips the orientation (the sign of each normal), e.g. for gravity.
    :param dense: the fit mask is all ones: the mask moments are then products of per-row and
        per-column sums and the offsets' covariance is diagonal (same result, less work).
    """
    mask, inv_depth, has_depth = fit
    # Mask moments up to (2R+1)^2 * sum(du^2) are exact float32 integers for R <= 10.
    dtype = torch.float32 if radius <= 10 else torch.float64
    batch, height, width = mask.shape
    device = mask.device
    sums = _box_sums(mask.to(dtype), inv_depth.to(dtype), radius, box_filter, scratch,
                     moments=not dense)
    w = [scratch.take(f'normals_{i}', mask.shape, dtype) for i in range(6)]
    poison: torch.Tensor | None = None  # NaN where the window is degenerate, else 0
    if dense:
        t00, t01, t10 = sums.unbind(1)
        # s00 = nx ny, s10 = sx ny, s01 = nx sy, dxx = ny^2 (nx sxx - sx^2) =: ny^2 ax, dxy = 0.
        nx, sx, sxx = _window_sums_1d(width, radius)
        ny, sy, syy = _window_sums_1d(height, radius)
        ax, ay = nx * sxx - sx * sx, ny * syy - sy * sy  # exact; 0 only for 1-pixel axes

        def along_x(v):
            return v.to(device, dtype).view(1, 1, width)

        def along_y(v):
            return v.to(device, dtype).view(1, height, 1)

        # m0 = ex / dxx = (nx t10 - sx t00) / (ny ax), m1 likewise, m2 = centre value.
        m0 = torch.mul(t10, along_x(nx / ax), out=w[4]).addcmul_(t00, along_x(sx / ax),
                                                                  value=-1.0)
        m0.mul_(along_y(1.0 / ny))
        m1 = torch.mul(t01, along_y(ny / ay), out=w[5]).addcmul_(t00, along_y(sy / ay),
                                                                  value=-1.0)
        m1.mul_(along_x(1.0 / nx))
        m2 = t00.mul_(along_x(1.0 / nx)).mul_(along_y(1.0 / ny))
        m2.addcmul_(m0, along_x(sx / nx), value=-1.0).addcmul_(m1, along_y(sy / ny),
                                                               value=-1.0)
        if not bool((ax > 0).all() and (ay > 0).all()):
            poison = torch.add(along_x(0.0 / ax), along_y(0.0 / ay))  # NaN on 1-pixel axes
    else:
        s00, s01, s02, s10, s11, s20, t00, t01, t10 = sums.unbind(1)
        # Covariances of the offsets times S00 (exact integers), and their determinant times
        # S00^2: zero exactly when the window's points are collinear (or fewer than 3).
        dxx = torch.mul(s00, s20, out=w[0]).addcmul_(s10, s10, value=-1.0)
        dyy = torch.mul(s00, s02, out=w[1]).addcmul_(s01, s01, value=-1.0)
        dxy = torch.mul(s00, s11, out=w[2]).addcmul_(s10, s01, value=-1.0)
        inv_delta = torch.mul(dxx, dyy, out=w[3]).addcmul_(dxy, dxy, value=-1.0)
        inv_delta.clamp_min_(0.0).reciprocal_()  # inf where degenerate
        # Plane fit through the window centroid: slopes m0, m1 per pixel offset ...
        ex = t10.mul_(s00).addcmul_(s10, t00, value=-1.0)
        ey = t01.mul_(s00).addcmul_(s01, t00, value=-1.0)
        m0 = torch.mul(dyy, ex, out=w[4]).addcmul_(dxy, ey, value=-1.0).mul_(inv_delta)
        m1 = torch.mul(dxx, ey, out=w[5]).addcmul_(dxy, ex, value=-1.0).mul_(inv_delta)
        # ... and m2 = the fitted 1/depth at the centre pixel.
        m2 = t00.addcmul_(m0, s10, value=-1.0).addcmul_(m1, s01, value=-1.0).div_(s00)
        poison = inv_delta.mul_(0.0)  # 0 * inf = NaN
    du, dv = pixel_grid(params, height, width, dtype)
    fx = params[:, 0, None, None].to(dtype)
    fy = params[:, 1, None, None].to(dtype)
    n = out if dtype == out.dtype else scratch.take('normals_n64', out.shape, dtype)
    torch.mul(m0, fx, out=n[:, 0])
    torch.mul(m1, fy, out=n[:, 1])
    torch.addcmul(m2, du, m0, value=-1.0, out=n[:, 2]).addcmul_(dv, m1, value=-1.0)
    scale = torch.mul(n[:, 0], n[:, 0], out=w[0]).addcmul_(n[:, 1], n[:, 1])
    scale.addcmul_(n[:, 2], n[:, 2]).rsqrt_()
    if poison is not None:
        scale.add_(poison)
    if orient:
        # Reference orientation: sign(n . P) with P the unmasked point, i.e. sign(m2) where
        # depth > 0; where that is 0, n_z >= 0 (sign 0 counts as +): sign(2 s + sign(n_z) + 1/2).
        sign = torch.mul(m2, has_depth.to(dtype), out=w[1]).sign_()
        sign = torch.sign(n[:, 2], out=w[2]).add_(0.5).add_(sign, alpha=2.0).sign_()
        scale.mul_(sign)
    n.mul_(scale[:, None])
    if n is not out:
        out.copy_(n)
    return out


def dot3(n: torch.Tensor, v: torch.Tensor, out: torch.Tensor,
         blas: bool | None = None) -> torch.Tensor:
    """
    ``out[B, P] = sum_k n[B, k, P] v[B, k]`` in plain float32.

    ``blas`` (default: on the CPU) uses matrix-vector products, the fastest there; elsewhere an
    elementwise product and sum (a GPU matmul could run in TF32).
    """
    if n.device.type == 'cpu' if blas is None else blas:
        for i in range(n.shape[0]):
            torch.mv(n[i].T, v[i], out=out[i])
        return out
    return torch.sum(n * v[:, :, None], 1, out=out)


def _reduce(a: torch.Tensor, w: torch.Tensor, out: torch.Tensor, blas: bool | None = None):
    """``out[B, K] = sum_p a[B, K, p] w[B, p]`` in plain float32 (``blas`` as in ``dot3``)."""
    if a.device.type == 'cpu' if blas is None else blas:
        for i in range(a.shape[0]):
            torch.mv(a[i], w[i], out=out[i])
        return out
    return torch.sum(a * w[:, None, :], -1, out=out)


def _classify(sim: torch.Tensor, sin_t: float, cos_t: float, buf: torch.Tensor,
              buf2: torch.Tensor) -> torch.Tensor:
    """
    ``v`` (in ``buf``) from ``sim = |n.y|``: -2 for wall-like normals (``|n.y| < sin``), +2 for
    floor-like ones (``|n.y| > cos``), else 0; then ``A = -outer . v / 2``. (A normal exactly on
    a float32 threshold would get half weight; the reference compares in float64 anyway.)
    """
    v = torch.sub(sim, sin_t, out=buf).sign_()
    return v.add_(torch.sub(sim, cos_t, out=buf2).sign_())


_TRI = ((0, 1, 2), (1, 3, 4), (2, 4, 5))  # symmetric 3x3 from its 6 upper entries


def _eigen_step(a6: torch.Tensor, y: torch.Tensor, use_numpy: bool | None = None):
    """
    New gravity ``[B, 3]`` (float64): eigenvector of the smallest eigenvalue of A.

    :param a6: ``[B, 6]`` upper entries of the symmetric A; ``y``: float64 ``[B, 3]``.
    :param use_numpy: default on the CPU (less per-call overhead for 3x3 matrices).
    """
    if a6.device.type == 'cpu' if use_numpy is None else use_numpy:
        a = a6.numpy().astype(np.float64)[:, _TRI]
        y_np = y.numpy()
        y_new = np.linalg.eigh(a)[1][:, :, 0]  # eigenvalues ascending
        y_new *= np.where((y_new * y_np).sum(1, keepdims=True) < 0, -1.0, 1.0)  # agree with y
        empty = (a6.numpy() == 0).all(1, keepdims=True)  # no floor or wall normal: keep y
        return torch.from_numpy(np.where(empty, y_np, y_new))
    tri = torch.tensor(_TRI, device=a6.device)
    _, vecs = torch.linalg.eigh(a6.to(torch.float64)[:, tri])
    y_new = vecs[:, :, 0]
    y_new = torch.where((y_new * y).sum(1, keepdim=True) < 0, -y_new, y_new)
    empty = (a6 == 0).all(1, keepdim=True)
    return torch.where(empty, y, y_new)


def gravity_from_normals(normals: torch.Tensor, scratch: Scratch) -> torch.Tensor:
    """
    Gravity (unit, down, float64 ``[B, 3]``) from normals ``[B, 3, H, W]`` (NaN = none).

    Overwrites ``normals`` (NaN -> 0). The per-iteration cost is two matrix-vector products
    over all normals plus a few elementwise passes; on the CPU a stage stops early when the
    floor and wall sets repeat (then y is a fixed point: exact, not a tolerance).
    """
    batch = normals.shape[0]
    points = normals[0, 0].numel()
    n = torch.nan_to_num_(normals.flatten(2), nan=0.0)  # missing normals contribute nothing
    outer = scratch.take('gravity_outer', (batch, 6, points))
    for k, (i, j) in enumerate(((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))):
        torch.mul(n[:, i], n[:, j], out=outer[:, k])
    sim, buf, buf2 = (scratch.take(f'gravity_{i}', (batch, points)) for i in range(3))
    a6 = torch.empty(batch, 6, device=normals.device)
    y = torch.zeros(batch, 3, dtype=torch.float64, device=normals.device)
    y[:, 1] = 1.0
    check_fixed_point = normals.device.type == 'cpu'  # on GPUs the check would add a sync
    for thresh_deg, iterations in GRAVITY_STAGES:
        cos_t = math.cos(math.radians(thresh_deg))
        sin_t = math.sin(math.radians(thresh_deg))
        a6_prev = None
        for _ in range(iterations):
            dot3(n, y.to(torch.float32), sim).abs_()
            _reduce(outer, _classify(sim, sin_t, cos_t, buf, buf2), a6).mul_(-0.5)
            if check_fixed_point:
                if a6_prev is not None and torch.equal(a6, a6_prev):
                    break  # same sets, same A: y is a fixed point for the rest of the stage
                a6_prev = a6.clone()
            y = _eigen_step(a6, y)
    return y


def check_box_filter(box_filter: str) -> None:
    """``ValueError`` unless ``box_filter`` is one of ``KNOWN_BOX_FILTERS``."""
    if box_filter not in KNOWN_BOX_FILTERS:
        raise ValueError(f'unknown box_filter {box_filter!r}; expected one of {KNOWN_BOX_FILTERS}')
