# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Network inputs from uint8 RGB and metric depth: the one place where this happens.

Training, evaluation, the node and replay all call ``build_inputs`` (the node and evaluation
through ``core/inference.py``), so every path feeds the network the same numbers.

Encodings (all float32 ``[B, C, H, W]``):

- ``rgb``: ``rgb / 255``, then ImageNet mean/std.
- ``hha``: ``core.hha.compute_hha`` grey levels (``[disparity, height, angle]``, 0..255) on the
  input's device, then ``/ 255`` and ImageNet mean/std, exactly like RGB (docs/training.md,
  "The ground every method shares").
- ``depth``: ``min(depth_m, depth_max_m) / depth_max_m`` (``depth_max_m`` = 10 m), then
  ``(x - depth_mean) / depth_std`` with NYU Depth v2 statistics (mean 2.842 m, std 1.417 m over
  valid pixels, as ESANet uses), and invalid pixels set to 0 (the mean) after normalisation.

Resizing (``resize_inputs``): RGB bilinear (``align_corners=False``, no antialias; rounded back
to uint8, the behaviour of ``cv2.resize(..., INTER_LINEAR)``), depth and the valid mask nearest
by pixel centres (``core.depth.nearest_indices``, the rule of ``F.interpolate``'s
``nearest-exact``) so invalid zeros never blend into valid depth, and the intrinsics scaled with
the OpenCV pixel-corner convention (``core.camera.scale_pinhole``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F

from rgbd_seg_ros.core.camera import scale_pinhole
from rgbd_seg_ros.core.depth import nearest_indices

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Normalization:
    """How uint8 RGB, HHA grey levels and depth in metres become network inputs."""

    mean: tuple[float, float, float] = IMAGENET_MEAN  # RGB and HHA mean after /255
    std: tuple[float, float, float] = IMAGENET_STD  # RGB and HHA std after /255
    depth_max_m: float = 10.0  # 'depth' input: metres are clipped to this and divided by it
    depth_mean: float = 0.2842  # 'depth' input: mean of depth_m / depth_max_m (NYU: 2.842 m)
    depth_std: float = 0.1417  # 'depth' input: std of depth_m / depth_max_m (NYU: 1.417 m)

    def __post_init__(self) -> None:
        for name in ('mean', 'std'):
            value = tuple(float(v) for v in getattr(self, name))
            if len(value) != 3:
                raise ValueError(f'Normalization.{name} needs 3 values, got {value}')
            object.__setattr__(self, name, value)
        if min(self.std) <= 0 or self.depth_std <= 0:
            raise ValueError('Normalization std values must be positive')
        if self.depth_max_m <= 0:
            raise ValueError(f'Normalization.depth_max_m must be > 0, got {self.depth_max_m}')

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON)."""
        d = asdict(self)
        d['mean'], d['std'] = list(self.mean), list(self.std)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Normalization:
        """Strict inverse of ``to_dict``."""
        if not isinstance(d, dict):
            raise ValueError(f'normalization must be a mapping, got {type(d).__name__}')
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f'normalization has unknown keys {unknown}; known: {sorted(known)}')
        d = dict(d)
        for name in ('mean', 'std'):
            if name in d:
                d[name] = tuple(d[name])
        return cls(**d)


def hha_settings() -> dict[str, Any]:
    """The HHA encoding as recorded in checkpoints (JSON types; compared when one is loaded)."""
    from rgbd_seg_ros.core import hha

    return {
        'channels': list(hha.HHA_CHANNELS),
        'range': [0, 255],
        'disparity_numerator': hha.DISPARITY_NUMERATOR,
        'normal_radius': hha.NORMAL_RADIUS,
        'gravity_normal_radius': hha.GRAVITY_NORMAL_RADIUS,
        'gravity_stages': [list(s) for s in hha.GRAVITY_STAGES],
        'assumed_floor_cm': hha.ASSUMED_FLOOR_CM,
        'computed_at': 'network_input_resolution',
        'depth_resize': 'nearest-exact',
        'normalization': 'divide by 255, then mean/std as rgb',
    }


def _check_image(rgb: torch.Tensor) -> None:
    if not isinstance(rgb, torch.Tensor) or rgb.ndim != 4 or rgb.shape[1] != 3:
        got = tuple(rgb.shape) if isinstance(rgb, torch.Tensor) else type(rgb).__name__
        raise ValueError(f'rgb must be a uint8 tensor [B, 3, H, W], got {got}')
    if rgb.dtype != torch.uint8:
        raise ValueError(f'rgb must be uint8 (0..255), got dtype {rgb.dtype}')


def _as_depth(depth_m: torch.Tensor, rgb: torch.Tensor) -> torch.Tensor:
    if not isinstance(depth_m, torch.Tensor) or not depth_m.is_floating_point():
        got = depth_m.dtype if isinstance(depth_m, torch.Tensor) else type(depth_m).__name__
        raise ValueError(f'depth_m must be a float tensor in metres [B, 1, H, W], got {got}')
    if depth_m.ndim == 3:
        depth_m = depth_m[:, None]
    b, _, h, w = rgb.shape
    if depth_m.ndim != 4 or tuple(depth_m.shape) != (b, 1, h, w):
        raise ValueError(
            f'depth_m must be [B, 1, H, W] = {[b, 1, h, w]} like rgb, got {tuple(depth_m.shape)}'
        )
    return depth_m


def _check_k(K: torch.Tensor, batch: int) -> None:  # noqa: N803
    if not isinstance(K, torch.Tensor) or tuple(K.shape) != (batch, 3, 3):
        got = tuple(K.shape) if isinstance(K, torch.Tensor) else type(K).__name__
        raise ValueError(f'K must be a float tensor [B, 3, 3] = [{batch}, 3, 3], got {got}')


def normalize_image(x: torch.Tensor, normalization: Normalization) -> torch.Tensor:
    """0..255 values ``[B, 3, H, W]`` (any dtype) -> float32 ``(x / 255 - mean) / std``."""
    mean = torch.tensor(normalization.mean, dtype=torch.float32, device=x.device)
    std = torch.tensor(normalization.std, dtype=torch.float32, device=x.device)
    scale = (1.0 / (255.0 * std)).view(1, 3, 1, 1)
    shift = (mean / std).view(1, 3, 1, 1)
    return x.to(torch.float32) * scale - shift


def normalize_depth(
    depth_m: torch.Tensor, valid: torch.Tensor, normalization: Normalization
) -> torch.Tensor:
    """Metres ``[B, 1, H, W]`` -> the ``depth`` network input (0 where not ``valid``)."""
    n = normalization
    x = depth_m.to(torch.float32).clamp(0.0, n.depth_max_m) / n.depth_max_m
    x = (x - n.depth_mean) / n.depth_std
    return torch.where(valid, x, torch.zeros((), dtype=x.dtype, device=x.device))


def build_inputs(
    rgb: torch.Tensor,
    depth_m: torch.Tensor | None = None,
    K: torch.Tensor | None = None,  # noqa: N803
    modalities: Sequence[str] = ('rgb',),
    valid: torch.Tensor | None = None,
    normalization: Normalization | None = None,
) -> dict[str, torch.Tensor]:
    """
    Network inputs for ``modalities`` (``rgb``, ``hha``, ``depth``).

    :param rgb: uint8 ``[B, 3, H, W]``.
    :param depth_m: float metres ``[B, 1, H, W]`` (or ``[B, H, W]``), 0 where invalid; needed
        for ``hha`` and ``depth``.
    :param K: float ``[B, 3, 3]`` intrinsics of this image size (0-based); needed for ``hha``.
    :param modalities: input names to produce.
    :param valid: bool ``[B, 1, H, W]``; always and-ed with finite ``depth_m > 0``.
    :param normalization: default ``Normalization()`` (ImageNet mean/std, 10 m depth scale).
    :returns: name -> float32 ``[B, C, H, W]`` on ``rgb``'s device.
    """
    depth_m, valid = check_inputs(rgb, depth_m, K, modalities, valid)
    return encode_inputs(rgb, depth_m, K, modalities, valid, normalization)


def check_inputs(
    rgb: torch.Tensor,
    depth_m: torch.Tensor | None,
    K: torch.Tensor | None,  # noqa: N803
    modalities: Sequence[str],
    valid: torch.Tensor | None = None,
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """
    The checks of :func:`build_inputs` (``ValueError`` naming the problem); returns
    ``depth_m`` and ``valid`` as ``[B, 1, H, W]`` (a ``[B, H, W]`` input gets its channel).
    """
    _check_image(rgb)
    unknown = [m for m in modalities if m not in ('rgb', 'hha', 'depth')]
    if unknown:
        raise ValueError(f'unknown modalities {unknown}; expected rgb, hha or depth')
    if 'hha' in modalities or 'depth' in modalities:
        if depth_m is None:
            raise ValueError(f'modalities {tuple(modalities)} need depth_m, got None')
        depth_m = _as_depth(depth_m, rgb)
        if valid is not None:
            if valid.ndim == 3:
                valid = valid[:, None]
            if tuple(valid.shape) != tuple(depth_m.shape):
                raise ValueError(
                    f'valid must be bool {list(depth_m.shape)}, got {tuple(valid.shape)}'
                )
    if 'hha' in modalities:
        if K is None:
            raise ValueError("modality 'hha' needs the intrinsics K [B, 3, 3], got None")
        _check_k(K, rgb.shape[0])
    return depth_m, valid


def encode_inputs(
    rgb: torch.Tensor,
    depth_m: torch.Tensor | None,
    K: torch.Tensor | None,  # noqa: N803
    modalities: Sequence[str],
    valid: torch.Tensor | None = None,
    normalization: Normalization | None = None,
) -> dict[str, torch.Tensor]:
    """
    :func:`build_inputs` on inputs its caller has already checked (``Segmenter``: the shapes
    were validated once, on the way in): uint8 ``rgb [B, 3, H, W]``, float ``depth_m
    [B, 1, H, W]`` and ``K [B, 3, 3]`` where the modalities need them, ``valid`` bool
    ``[B, 1, H, W]`` or None.
    """
    n = normalization or Normalization()
    out: dict[str, torch.Tensor] = {}
    if 'rgb' in modalities:
        out['rgb'] = normalize_image(rgb, n)
    if 'hha' not in modalities and 'depth' not in modalities:
        return out
    depth_m = depth_m.to(device=rgb.device, dtype=torch.float32)
    finite = torch.isfinite(depth_m) & (depth_m > 0)
    valid = finite if valid is None else valid.to(device=rgb.device, dtype=torch.bool) & finite
    if 'hha' in modalities:
        from rgbd_seg_ros.core.hha import compute_hha

        hha = compute_hha(depth_m, K.to(device=rgb.device, dtype=torch.float32), valid)
        out['hha'] = normalize_image(hha, n)
    if 'depth' in modalities:
        out['depth'] = normalize_depth(depth_m, valid, n)
    return out


def fit_size(height: int, width: int, input_size: Sequence[int]) -> tuple[int, int]:
    """
    Size that fits ``height`` x ``width`` into ``input_size`` (H, W) keeping the aspect ratio.

    The image is scaled (up or down) by ``min(H_in / height, W_in / width)``; sides are rounded
    to whole pixels (at least 1).
    """
    s = min(input_size[0] / height, input_size[1] / width)
    return max(1, round(height * s)), max(1, round(width * s))


def scale_intrinsics(K: torch.Tensor, sx: float, sy: float) -> torch.Tensor:  # noqa: N803
    """``[B, 3, 3]`` 0-based intrinsics after resizing by (sx, sy) (``camera.scale_pinhole``)."""
    K = K.clone()  # noqa: N806
    K[:, 0, 0], K[:, 1, 1], K[:, 0, 2], K[:, 1, 2] = scale_pinhole(
        K[:, 0, 0], K[:, 1, 1], K[:, 0, 2], K[:, 1, 2], sx, sy)
    return K


def resize_rgb(rgb: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """uint8 ``[B, 3, H, W]`` -> uint8 at ``size`` (H, W): bilinear, rounded (module docstring)."""
    size = (int(size[0]), int(size[1]))
    if tuple(rgb.shape[-2:]) == size:
        return rgb
    x = F.interpolate(rgb.to(torch.float32), size=size, mode='bilinear', align_corners=False)
    return x.round_().clamp_(0, 255).to(torch.uint8)


def resize_nearest_tensor(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """``[..., H, W]`` -> ``[..., *size]`` by ``core.depth.nearest_indices`` (no value mixing)."""
    h, w = x.shape[-2:]
    if (h, w) == (int(size[0]), int(size[1])):
        return x
    rows = torch.from_numpy(nearest_indices(int(size[0]), h)).to(x.device)
    cols = torch.from_numpy(nearest_indices(int(size[1]), w)).to(x.device)
    return x.index_select(-2, rows).index_select(-1, cols)


def resize_inputs(
    rgb: torch.Tensor,
    depth_m: torch.Tensor | None,
    K: torch.Tensor | None,  # noqa: N803
    valid: torch.Tensor | None,
    size: Sequence[int],
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
    """
    Resize an RGB-D batch to ``size`` (H, W); see the module docstring for the modes.

    :param rgb: uint8 ``[B, 3, H, W]``.
    :param depth_m: float ``[B, 1, H, W]`` or None.
    :param K: ``[B, 3, 3]`` or None.
    :param valid: bool ``[B, 1, H, W]`` or None.
    :returns: (rgb uint8, depth_m, K, valid) at ``size``.
    """
    h, w = rgb.shape[-2:]
    size = (int(size[0]), int(size[1]))
    if (h, w) == size:
        return rgb, depth_m, K, valid
    rgb = resize_rgb(rgb, size)
    if depth_m is not None:
        depth_m = resize_nearest_tensor(depth_m, size)
    if valid is not None:
        valid = resize_nearest_tensor(valid, size)
    if K is not None:
        K = scale_intrinsics(K.to(torch.float32), size[1] / w, size[0] / h)  # noqa: N806
    return rgb, depth_m, K, valid
