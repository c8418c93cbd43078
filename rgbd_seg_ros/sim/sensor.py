# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Sensor models that turn a noise-free render into what an RGB-D camera delivers.

Depth (structured-light / active-stereo style): range limits, distance-dependent Gaussian noise
``sigma(z) = base + quadratic * (z - 0.4)^2`` (Nguyen et al. 2012 for the Kinect v1), millimetre
quantisation, holes at depth discontinuities (with the projector shadow on the left of
foreground edges), on dark (IR-absorbing), specular and transparent surfaces, and an invalid
border. RGB: auto exposure with an error, optical blur, the sRGB curve and additive noise.
Every effect is switched by one field of the frozen ``SensorConfig``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:  # render -> scene -> style -> sensor: the buffers are only an annotation here
    from rgbd_seg_ros.sim.render import RenderBuffers


@dataclass(frozen=True)
class SensorConfig:
    """Switches and parameters of the simulated RGB-D sensor; ``ideal()`` turns all off."""

    range_limits: bool = True  # invalidate depth outside [min_depth_m, max_depth_m]
    min_depth_m: float = 0.3  # closest valid depth, metres
    max_depth_m: float = 8.0  # farthest valid depth, metres
    depth_noise: bool = True  # add Gaussian depth noise with sigma(z) below
    depth_noise_base_m: float = 0.0012  # sigma at z = 0.4 m, metres
    depth_noise_quadratic: float = 0.0019  # sigma growth, metres per (z - 0.4 m)^2
    disparity_step_px: float = 0.0  # > 0: quantise disparity to this step (Kinect v1: 1/8)
    disparity_focal_px: float = 580.0  # focal length of the disparity image at 640 px width
    stereo_baseline_m: float = 0.075  # projector-camera baseline, metres
    quantize_mm: bool = True  # round depth to whole millimetres (16UC1)
    edge_holes: bool = True  # holes at depth discontinuities and in the projector shadow
    edge_threshold: float = 0.05  # relative depth jump that counts as a discontinuity
    shadow_width_px: float = 6.0  # projector shadow width at 640 px image width
    edge_hole_px: float = 0.0  # > 0: hole band per side of a jump at 640 px, scaled to the image
    #                            (a pixel is missing with the band's share of it); 0: 1 px at
    #                            any size, so low-resolution frames outline every object in holes
    dark_holes: bool = True  # holes on IR-dark surfaces
    dark_albedo: float = 0.03  # material IR albedo below which a surface is IR-dark
    dark_hole_prob: float = 0.7  # per-pixel hole probability on dark surfaces
    specular_holes: bool = True  # holes where a highlight saturates the IR image
    specular_threshold: float = 0.25  # specular strength above which depth is lost
    transparent_holes: bool = True  # holes on glass (windows)
    transparent_hole_prob: float = 0.9  # per-pixel hole probability on glass
    invalid_border: bool = True  # an unregistered border of invalid depth
    invalid_border_px: float = 8.0  # border width at 640 px image width
    rgb_noise: bool = True  # additive Gaussian noise on the 8-bit RGB image
    rgb_noise_std: float = 2.0  # noise standard deviation, 8-bit grey levels
    rgb_blur: bool = True  # Gaussian optical blur
    rgb_blur_sigma_px: float = 0.6  # blur sigma at 640 px image width
    exposure_jitter: bool = True  # auto-exposure error
    exposure_jitter_rel: float = 0.25  # relative exposure error, uniform +-

    def __post_init__(self) -> None:
        if not 0 <= self.min_depth_m < self.max_depth_m:
            raise ValueError(
                f'SensorConfig: need 0 <= min_depth_m < max_depth_m, got '
                f'{self.min_depth_m}, {self.max_depth_m}')
        for name in ('dark_hole_prob', 'transparent_hole_prob'):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f'SensorConfig.{name} must be in [0, 1]')
        for name in ('depth_noise_base_m', 'depth_noise_quadratic', 'shadow_width_px',
                     'edge_hole_px',
                     'invalid_border_px', 'rgb_noise_std', 'rgb_blur_sigma_px',
                     'exposure_jitter_rel', 'edge_threshold', 'disparity_step_px'):
            if getattr(self, name) < 0:
                raise ValueError(f'SensorConfig.{name} must be >= 0')
        if not (self.disparity_focal_px > 0 and self.stereo_baseline_m > 0):
            raise ValueError('SensorConfig: disparity_focal_px and stereo_baseline_m must be > 0')

    @classmethod
    def ideal(cls) -> SensorConfig:
        """A perfect sensor: every effect off (depth equals the clean depth, no RGB noise)."""
        off: dict[str, object] = {f.name: False for f in fields(cls) if f.type in (bool, 'bool')}
        return cls(**off, disparity_step_px=0.0)

    def disparity_quantize(self, depth_m: np.ndarray) -> np.ndarray:
        """
        Depth after rounding its disparity ``f * b / z`` to ``disparity_step_px``: steps of
        ``z^2 * step / (f * b)`` metres (2 m: 11 mm, 4 m: 46 mm for the Kinect v1). float32.
        """
        if self.disparity_step_px <= 0:
            return depth_m
        fb = np.float32(self.disparity_focal_px * self.stereo_baseline_m)
        step = np.float32(self.disparity_step_px)
        with np.errstate(divide='ignore', invalid='ignore'):
            disp = np.rint(fb / depth_m / step) * step
            out = np.where(disp > 0, fb / np.maximum(disp, step), 0.0)
        return out.astype(np.float32)

    def depth_sigma_m(self, depth_m: np.ndarray | float) -> np.ndarray | float:
        """Depth noise standard deviation (metres) at ``depth_m``."""
        return self.depth_noise_base_m + self.depth_noise_quadratic * (
            np.maximum(np.asarray(depth_m) - 0.4, 0.0) ** 2)


_GAMMA_LUT_SIZE = 4096
_GAMMA_LUT = (np.power(np.linspace(0.0, 1.0, _GAMMA_LUT_SIZE), 1.0 / 2.2) * 255.0
              ).astype(np.float32)


def apply_rgb(buffers: RenderBuffers, cfg: SensorConfig, rng: np.random.Generator
              ) -> np.ndarray:
    """Expose, blur, tone-map and add noise: uint8 ``[H, W, 3]`` RGB."""
    rad = buffers.radiance
    w = rad.shape[1]
    lum = rad[..., 0] * 0.2126 + rad[..., 1] * 0.7152 + rad[..., 2] * 0.0722
    # auto exposure on the mean of the (clipped) luminance: mid grey ~0.2 linear
    level = float(np.mean(np.minimum(lum, 4.0 * float(np.mean(lum)) + 1e-6)))
    exposure = 0.2 / max(level, 1e-6)
    if cfg.exposure_jitter:
        exposure *= 1.0 + rng.uniform(-cfg.exposure_jitter_rel, cfg.exposure_jitter_rel)
    img = rad * np.float32(exposure)
    if cfg.rgb_blur and cfg.rgb_blur_sigma_px > 0:
        sigma = cfg.rgb_blur_sigma_px * w / 640.0
        img = cv2.GaussianBlur(img, (0, 0), sigmaX=sigma, sigmaY=sigma)
    idx = (np.clip(img, 0.0, 1.0) * (_GAMMA_LUT_SIZE - 1) + 0.5).astype(np.int32)
    out = _GAMMA_LUT[idx]
    if cfg.rgb_noise and cfg.rgb_noise_std > 0:
        # one normal field, read at three offsets: independent per channel, a third the cost
        n = out.shape[0] * out.shape[1]
        z = rng.standard_normal(n + 2, dtype=np.float32) * np.float32(cfg.rgb_noise_std)
        for c in range(3):
            out[..., c] += z[c:c + n].reshape(out.shape[:2])
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def apply_depth(buffers: RenderBuffers, cfg: SensorConfig, rng: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray]:
    """Noisy, holey depth: ``(depth_m float32 [H, W] with 0 invalid, valid bool [H, W])``."""
    clean = buffers.depth_m
    h, w = clean.shape
    depth = clean.copy()
    valid = np.isfinite(clean) & (clean > 0)
    if cfg.depth_noise:
        sigma = cfg.depth_sigma_m(clean).astype(np.float32)
        depth += rng.standard_normal(depth.shape, dtype=np.float32) * sigma
    depth = cfg.disparity_quantize(depth)
    if cfg.quantize_mm:
        depth = np.rint(depth * 1000.0) * np.float32(0.001)
    if cfg.range_limits:
        valid &= (depth >= cfg.min_depth_m) & (depth <= cfg.max_depth_m)
    if cfg.edge_holes:
        valid &= ~_edge_holes(clean, cfg, rng)
    u = None
    if cfg.dark_holes:
        u = rng.random((h, w), dtype=np.float32)
        valid &= ~((buffers.ir_albedo < cfg.dark_albedo) & (u < cfg.dark_hole_prob))
    if cfg.specular_holes:
        spec = buffers.specular > cfg.specular_threshold
        if spec.any():
            spec = cv2.dilate(spec.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
            valid &= ~spec
    if cfg.transparent_holes and buffers.transparent.any():
        u = rng.random((h, w), dtype=np.float32) if u is None else np.roll(u, 7, axis=1)
        valid &= ~(buffers.transparent & (u < cfg.transparent_hole_prob))
    if cfg.invalid_border and cfg.invalid_border_px > 0:
        b = int(round(cfg.invalid_border_px * w / 640.0))
        if b > 0:
            valid[:b] = False
            valid[-b:] = False
            valid[:, :b] = False
            valid[:, -b:] = False
    depth = np.where(valid, depth, 0.0).astype(np.float32)
    return depth, valid


def _edge_holes(clean: np.ndarray, cfg: SensorConfig, rng: np.random.Generator) -> np.ndarray:
    """Missing pixels along depth discontinuities plus the projector shadow left of them."""
    h, w = clean.shape
    jump_x = np.abs(np.diff(clean, axis=1)) > cfg.edge_threshold * clean[:, 1:]
    jump_y = np.abs(np.diff(clean, axis=0)) > cfg.edge_threshold * clean[1:, :]
    edge = np.zeros((h, w), bool)
    edge[:, 1:] |= jump_x
    edge[:, :-1] |= jump_x
    edge[1:, :] |= jump_y
    edge[:-1, :] |= jump_y
    # the band's share of a pixel, at this image width (1: every edge pixel and its fray)
    share = min(1.0, cfg.edge_hole_px * w / 640.0) if cfg.edge_hole_px > 0 else 1.0
    if share < 1.0:
        edge &= rng.random((h, w), dtype=np.float32) < share
    # shadow: background pixels to the left of a nearer surface (IR projector to the right)
    shadow_seed = np.zeros((h, w), np.uint8)
    shadow_seed[:, :-1] = (clean[:, :-1] - clean[:, 1:]) > cfg.edge_threshold * clean[:, 1:]
    width = int(round(cfg.shadow_width_px * w / 640.0))
    holes = edge
    if width > 0 and shadow_seed.any():
        kernel = np.zeros((1, 2 * width + 1), np.uint8)
        kernel[0, width:] = 1  # dilate leftwards only
        shadow = cv2.dilate(shadow_seed, kernel, anchor=(width, 0)).astype(bool)
        # ragged shadow: random per-row extent
        keep = rng.random((h, 1)) < 0.85
        holes = holes | (shadow & keep)
    # fray the hole boundary so it is not a clean 1-px line
    fray = cv2.dilate(holes.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return holes | (fray & (rng.random((h, w), dtype=np.float32) < 0.4 * share))
