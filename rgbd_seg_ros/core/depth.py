# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Raw depth images to float32 metres plus a validity mask.

REP 117/118: ``16UC1`` and ``mono16`` carry millimetres with 0 = no return; ``32FC1`` carries
metres with NaN (no return) and -Inf/+Inf (too close / too far) as invalid. Some sensors use
other integer scales (TUM: 5000 units per metre; the Depth2HHA demo: 10000): pass
``depth_scale`` = metres per unit to override the encoding's default.
"""

from __future__ import annotations

import numpy as np

KNOWN_DEPTH_ENCODINGS = ('16UC1', 'mono16', '32FC1')

# Metres per raw unit for each encoding (REP 117/118).
_DEFAULT_SCALE = {'16UC1': 1e-3, 'mono16': 1e-3, '32FC1': 1.0}


def depth_to_metres(
    raw: np.ndarray, encoding: str, depth_scale: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """
    Convert a raw depth image to metres.

    :param raw: ``[H, W]`` uint16 (``16UC1``/``mono16``) or float32 (``32FC1``).
    :param encoding: one of ``KNOWN_DEPTH_ENCODINGS``.
    :param depth_scale: metres per raw unit; default from the encoding (1e-3 or 1.0).
    :returns: ``(depth_m, valid)``: float32 ``[H, W]`` metres with 0 where invalid, and the bool
        ``[H, W]`` mask of finite, positive depth.
    """
    if encoding not in _DEFAULT_SCALE:
        raise ValueError(
            f'unknown depth encoding {encoding!r}; expected one of {KNOWN_DEPTH_ENCODINGS}'
        )
    raw = np.asarray(raw)
    if raw.ndim == 3 and raw.shape[2] == 1:
        raw = raw[:, :, 0]
    if raw.ndim != 2 or raw.size == 0:
        raise ValueError(f'depth image must be a non-empty [H, W] array, got shape {raw.shape}')
    scale = _DEFAULT_SCALE[encoding] if depth_scale is None else float(depth_scale)
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(f'depth_scale must be a positive finite number, got {depth_scale}')
    if encoding == '32FC1':
        if not np.issubdtype(raw.dtype, np.floating):
            raise ValueError(f'32FC1 depth must be a float array, got dtype {raw.dtype}')
        depth = raw.astype(np.float32, copy=True)
        if scale != 1.0:
            depth *= np.float32(scale)
    else:
        if raw.dtype != np.uint16:
            raise ValueError(f'{encoding} depth must be uint16, got dtype {raw.dtype}')
        depth = raw.astype(np.float32) * np.float32(scale)
    valid = np.isfinite(depth) & (depth > 0)
    depth[~valid] = 0.0
    return depth, valid


def metres_to_depth_mm(depth_m: np.ndarray) -> np.ndarray:
    """Float metres ``[H, W]`` to uint16 millimetres (0 for invalid, saturating at 65.535 m)."""
    depth_m = np.asarray(depth_m, dtype=np.float32)
    valid = np.isfinite(depth_m) & (depth_m > 0)
    mm = np.where(valid, np.rint(depth_m * 1000.0), 0.0)
    return np.clip(mm, 0, 65535).astype(np.uint16)


def valid_fraction(valid: np.ndarray) -> float:
    """Fraction of valid pixels in a bool mask (0.0 for an empty mask)."""
    return float(np.count_nonzero(valid)) / valid.size if valid.size else 0.0


def valid_samples(raw: np.ndarray, stride: int = 4) -> tuple[np.ndarray, int]:
    """
    The valid raw values of depth ``[H, W]`` (uint16: > 0; float: finite and > 0) on every
    ``stride``-th row and column, and how many pixels were sampled: one pass gives both the
    valid ratio and the plausibility median.
    """
    sample = np.asarray(raw)[::stride, ::stride]
    valid = (np.isfinite(sample) & (sample > 0)) if sample.dtype.kind == 'f' else (sample > 0)
    return sample[valid], sample.size


def depth_median_m(values: np.ndarray, encoding: str,
                   depth_scale: float | None = None) -> float | None:
    """
    Median in metres of valid raw depth values (``valid_samples``); ``None`` when there are
    none: the plausibility check's statistic.
    """
    if values.size == 0:
        return None
    scale = _DEFAULT_SCALE.get(encoding, 1.0) if not depth_scale else float(depth_scale)
    return float(np.median(values)) * scale


def implausible_depth(median_m: float | None, max_m: float, encoding: str,
                      depth_scale: float | None = None) -> str:
    """
    Why depth with this median is implausible ('' when it is plausible), naming the fix.

    A median beyond ``max_m`` (the ``depth_max_m`` parameter) is no scene a depth camera sees:
    almost always a unit mix-up (``32FC1`` that holds millimetres, a 16-bit sensor in 0.1 mm).
    """
    if median_m is None or median_m <= max_m:
        return ''
    used = depth_scale or _DEFAULT_SCALE.get(encoding, 1.0)
    likely = median_m / 1000.0  # the usual mistake: millimetres read as metres
    hint = (f'{encoding} that holds millimetres? set depth_scale:=0.001' if encoding == '32FC1'
            else f"another unit than {used:g} m per raw unit? set depth_scale to the sensor's "
            'metres per unit')
    return (f'depth median {median_m:.1f} m is beyond depth_max_m {max_m:g} m ({likely:.2f} m '
            f'if it were millimetres): counted as invalid, running the fallback; {hint} '
            '(or raise depth_max_m)')


def missing_depth(height: int, width: int) -> np.ndarray:
    """
    What a depth-reading model is fed when depth is absent: float32 metres ``[H, W]``, every
    pixel invalid (0). The one definition shared by training (``data.depth_dropout_p``), the
    evaluation's depth dropout, the replay's fusion-alone scoring and the node's same-model
    fallback (``rgb_fallback: fusion_model``); its HHA is ``core.hha.MISSING_HHA``.
    """
    return np.zeros((height, width), np.float32)


def nearest_indices(out_size: int, in_size: int) -> np.ndarray:
    """
    Source index of each output index of a nearest-neighbour resize by pixel centres: output
    ``j`` takes input ``floor((j + 0.5) * in_size / out_size)`` (int64 ``[out_size]``). The one
    rule for depth and masks everywhere (``resize_nearest``, ``core.preprocess.resize_inputs``).
    """
    return np.minimum(((np.arange(out_size) + 0.5) * (in_size / out_size)).astype(np.int64),
                      in_size - 1)


def resize_nearest(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """
    Nearest-neighbour resize of ``[H, W]`` or ``[H, W, C]`` by pixel centres (depth-safe: no
    value mixing; :func:`nearest_indices`).
    """
    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image
    rows, cols = nearest_indices(height, h), nearest_indices(width, w)
    return np.take(np.take(image, rows, axis=0), cols, axis=1)


def resize_nearest_batch(images: np.ndarray, width: int, height: int) -> np.ndarray:
    """:func:`resize_nearest` of each image of ``[B, H, W]``."""
    b, h, w = images.shape
    if (w, h) == (width, height):
        return images
    rows, cols = nearest_indices(height, h), nearest_indices(width, w)
    return np.take(np.take(images, rows, axis=1), cols, axis=2)
