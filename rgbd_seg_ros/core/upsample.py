# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Labels and confidence at the input resolution from logits at the network resolution.

The labels are the argmax of the logits upsampled bilinearly (``align_corners=False``), as
``F.interpolate`` followed by ``argmax`` gives them, without upsampling every class map:

- Each output pixel is a convex combination of (at most) four logit vectors of one low-resolution
  cell. If the argmax class ``c`` is the same at all four, ``c`` wins at every point of the cell:
  ``l_c(p_i) >= l_k(p_i)`` for each corner ``i`` sums, with the same non-negative weights, to
  ``l_c(p) >= l_k(p)``. Such a pixel takes ``c`` with no arithmetic.
- Only the pixels of cells whose corners disagree (class boundaries, typically 5-10 % of the
  image) get their logits interpolated and compared.

At 640x480 from 128x96 this replaces a ``[1, K, 480, 640]`` upsampling and a channels-first
argmax (tens of milliseconds on a CPU) by index lookups and arithmetic on the boundary pixels.
Ties aside (two logits equal after rounding), the labels equal the full computation's;
``test/core/test_upsample.py`` checks it against ``F.interpolate``. The work is done in numpy in
class-major layout (``[K, pixels]``: the logits' own), where gathers and the per-class running
maximum read contiguous rows. On a GPU the full computation is cheap and is used as is.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F


def _source(out_size: int, in_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """
    Bilinear source of each output index (``align_corners=False``, PyTorch's float32 rule): the
    lower and upper input index (int64 ``[out]``) and the weight of the upper one (float32).
    """
    scale = np.float32(in_size) / np.float32(out_size)
    src = (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
    src = np.maximum(src, np.float32(0.0))
    lower = np.minimum(src.astype(np.int64), in_size - 1)
    upper = np.minimum(lower + 1, in_size - 1)
    return lower, upper, (src - lower).astype(np.float32)


def _argmax_rows(values: np.ndarray) -> np.ndarray:
    """Index of the largest row of ``values`` ``[K, N]`` per column (the first of equals)."""
    best = values[0].copy()
    index = np.zeros(values.shape[1], np.int64)
    for k in range(1, values.shape[0]):
        better = values[k] > best
        index[better] = k
        np.maximum(best, values[k], out=best)
    return index


def _labels_one(cf: np.ndarray, out_h: int, out_w: int, dtype: np.dtype) -> np.ndarray:
    """:func:`upsampled_labels` of one image: ``cf`` float32 ``[K, h, w]`` -> ``[H, W]``."""
    k, h, w = cf.shape
    rows = cf.reshape(k, h * w)
    low = _argmax_rows(rows).astype(dtype).reshape(h, w)
    if (h, w) == (out_h, out_w):
        return low
    y0, y1, wy = _source(out_h, h)
    x0, x1, wx = _source(out_w, w)
    # Cells (i, j)-(i+1, j+1), clamped at the last row/column, whose corners disagree.
    down = np.concatenate([low[1:], low[-1:]], axis=0)
    right = np.concatenate([low[:, 1:], low[:, -1:]], axis=1)
    diag = np.concatenate([down[:, 1:], down[:, -1:]], axis=1)
    mixed = (low != down) | (low != right) | (low != diag)
    # output pixel (Y, X) lies in cell (y0[Y], x0[X])
    labels = np.take(np.take(low, y0, axis=0), x0, axis=1)
    where = np.flatnonzero(np.take(np.take(mixed, y0, axis=0), x0, axis=1))
    if where.size == 0:
        return labels
    yi, xi = np.divmod(where, out_w)
    r0, r1, c0, c1 = y0[yi] * w, y1[yi] * w, x0[xi], x1[xi]
    ly, lx = wy[yi], wx[xi]
    top = np.take(rows, r0 + c0, axis=1) * (1.0 - lx) + np.take(rows, r0 + c1, axis=1) * lx
    bottom = np.take(rows, r1 + c0, axis=1) * (1.0 - lx) + np.take(rows, r1 + c1, axis=1) * lx
    np.put(labels, where, _argmax_rows(top * (1.0 - ly) + bottom * ly))  # flat C-order index
    return labels


def upsampled_labels(logits: torch.Tensor, size: Sequence[int]) -> np.ndarray:
    """
    ``argmax`` over classes of ``logits`` upsampled bilinearly to ``size``.

    :param logits: float ``[B, K, h, w]`` (any device).
    :param size: output (H, W), any ratio to (h, w).
    :returns: labels ``[B, H, W]``, uint8 for up to 256 classes, else uint16.
    """
    if logits.ndim != 4:
        raise ValueError(f'logits must be [B, K, h, w], got {tuple(logits.shape)}')
    out_h, out_w = int(size[0]), int(size[1])
    dtype = np.dtype(np.uint8 if logits.shape[1] <= 256 else np.uint16)
    if logits.device.type != 'cpu':
        full = F.interpolate(logits.float(), size=(out_h, out_w), mode='bilinear',
                             align_corners=False)
        return full.argmax(dim=1).to(torch.int32).cpu().numpy().astype(dtype)
    cf = np.ascontiguousarray(logits.detach().float().numpy())
    return np.stack([_labels_one(x, out_h, out_w, dtype) for x in cf])


def upsampled_confidence(logits: torch.Tensor, size: Sequence[int]
                         ) -> tuple[np.ndarray, np.ndarray]:
    """
    Labels and the largest softmax probability of ``logits`` upsampled bilinearly to ``size``.

    Every pixel needs its whole class vector here, so the logits are upsampled, in channels-last
    memory (the class reductions then read contiguous vectors).

    :param logits: float ``[B, K, h, w]``.
    :param size: output (H, W).
    :returns: (labels ``[B, H, W]`` as :func:`upsampled_labels`, float32 confidence 0..1).
    """
    if logits.ndim != 4:
        raise ValueError(f'logits must be [B, K, h, w], got {tuple(logits.shape)}')
    out = (int(size[0]), int(size[1]))
    dtype = np.dtype(np.uint8 if logits.shape[1] <= 256 else np.uint16)
    x = logits.float().contiguous(memory_format=torch.channels_last)
    if tuple(x.shape[-2:]) != out:
        x = F.interpolate(x, size=out, mode='bilinear', align_corners=False)
    top, labels = x.max(dim=1)
    confidence = torch.exp(top - torch.logsumexp(x, dim=1))
    return (labels.to(torch.int32).cpu().numpy().astype(dtype),
            confidence.cpu().numpy().astype(np.float32))
