# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
``Segmenter``: the deployment path (node, replay) and the evaluation path in one object.

``predict`` takes numpy images as the ROS layer delivers them; ``predict_logits`` takes tensors
as ``training/evaluate.py`` has them. Both run the same steps:

1. Fit the image into the checkpoint's ``input_size`` keeping its aspect ratio (scale
   ``min(H_in / H, W_in / W)``, up or down): RGB bilinear, depth and valid mask nearest,
   intrinsics scaled (``core.preprocess``; depth registered at another resolution than the RGB
   is resized once, straight to the network size).
2. ``core.preprocess.build_inputs`` at that network resolution: HHA is computed there, on the
   model's device, with the scaled intrinsics (as in training, where HHA is computed on the
   augmented crop), then normalised.
3. The model (padding to its stride internally), under ``torch.inference_mode()`` and, on CUDA
   only, autocast to fp16/bf16.
4. Logits (float32) upsampled bilinearly to the input resolution; labels are their argmax,
   confidence the largest softmax probability. ``predict`` gets the labels without upsampling
   every class map (``core.upsample``: the same labels, a fraction of the cost at 640x480).
"""

from __future__ import annotations

from collections.abc import Sequence
import contextlib
import logging
import os

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from rgbd_seg_ros.core.camera import CameraIntrinsics
from rgbd_seg_ros.core.checkpoint import CheckpointMeta, load_checkpoint
from rgbd_seg_ros.core.depth import resize_nearest_batch
from rgbd_seg_ros.core.device import resolve_device
from rgbd_seg_ros.core.labels import LabelSet
from rgbd_seg_ros.core.names import KNOWN_PRECISIONS
from rgbd_seg_ros.core.preprocess import (
    check_inputs,
    encode_inputs,
    fit_size,
    resize_inputs,
    resize_rgb,
)
from rgbd_seg_ros.core.upsample import upsampled_confidence, upsampled_labels

logger = logging.getLogger(__name__)

_AUTOCAST_DTYPES = {'fp16': torch.float16, 'bf16': torch.bfloat16}
_DEPTH_MODALITIES = ('hha', 'depth')


def _as_tensor(array: np.ndarray) -> torch.Tensor:
    """CPU tensor over ``array``; read-only buffers (ROS/bag messages) are copied once."""
    array = np.ascontiguousarray(array)
    if not array.flags.writeable:
        array = array.copy()
    return torch.from_numpy(array)


class Segmenter:
    """
    Runs a segmentation model on RGB(-D) images with the checkpoint's preprocessing.

    :param model: a ``SegmentationNet`` (moved to ``device`` and set to eval mode).
    :param meta: its ``CheckpointMeta`` (labels, normalisation, input size).
    :param device: ``'cpu'``, ``'cuda'`` or ``'cuda:N'``.
    :param precision: ``'fp32'``, or ``'fp16'``/``'bf16'`` autocast (CUDA only).
    """

    def __init__(
        self,
        model: nn.Module,
        meta: CheckpointMeta,
        device: str | torch.device = 'cpu',
        precision: str = 'fp32',
    ) -> None:
        if not isinstance(meta, CheckpointMeta):
            raise ValueError(f'meta must be a CheckpointMeta, got {type(meta).__name__}')
        if precision not in KNOWN_PRECISIONS:
            raise ValueError(f'unknown precision {precision!r}; expected one of '
                             f'{KNOWN_PRECISIONS}')
        self._device = resolve_device(device)
        if precision != 'fp32' and self._device.type != 'cuda':
            raise ValueError(f'precision {precision!r} needs a CUDA device; use fp32 on the CPU')
        modalities = tuple(getattr(model, 'modalities', ()))
        if modalities != meta.modalities:
            raise ValueError(
                f'model reads {modalities} but the metadata says {meta.modalities}'
            )
        self._model = model.to(self._device).eval()
        self._meta = meta
        self._precision = precision
        self._host_buffers: dict[str, torch.Tensor] = {}
        self._network = self._model  # inputs -> logits: torch eager, or core/backends.py
        self._backend = 'torch'

    def use_network(self, network: object | None, backend: str) -> None:
        """
        Run ``network(inputs: dict[str, Tensor]) -> logits [B, K, h, w]`` instead of the torch
        model (``core/backends.py``); None restores torch. Preprocessing is unchanged.
        """
        self._network = self._model if network is None else network
        self._backend = 'torch' if network is None else backend

    @property
    def backend(self) -> str:
        """``'torch'``, ``'onnxruntime'`` or ``'tensorrt'``."""
        return self._backend

    @classmethod
    def from_checkpoint(
        cls, path: str | os.PathLike, device: str | torch.device = 'cpu', precision: str = 'fp32'
    ) -> Segmenter:
        """Load and validate a checkpoint (``core.checkpoint.load_checkpoint``)."""
        model, meta = load_checkpoint(path, device='cpu')
        return cls(model, meta, device=device, precision=precision)

    @property
    def model(self) -> nn.Module:
        """The wrapped model (eval mode, on ``device``)."""
        return self._model

    @property
    def meta(self) -> CheckpointMeta:
        """The checkpoint metadata."""
        return self._meta

    @property
    def modalities(self) -> tuple[str, ...]:
        """Input modalities, e.g. ``('rgb',)`` or ``('rgb', 'hha')``."""
        return self._meta.modalities

    @property
    def labels(self) -> LabelSet:
        """Output classes."""
        return self._meta.labels

    @property
    def device(self) -> torch.device:
        """Where the model runs."""
        return self._device

    @property
    def precision(self) -> str:
        """``'fp32'``, ``'fp16'`` or ``'bf16'``."""
        return self._precision

    @property
    def needs_depth(self) -> bool:
        """Whether ``predict`` needs ``depth_m`` (HHA or depth input)."""
        return any(m in _DEPTH_MODALITIES for m in self.modalities)

    @property
    def needs_intrinsics(self) -> bool:
        """Whether ``predict`` needs ``intrinsics`` (HHA input)."""
        return 'hha' in self.modalities

    def network_size(self, height: int, width: int) -> tuple[int, int]:
        """Network input (H, W) for an image of ``height`` x ``width``."""
        return fit_size(height, width, self._meta.input_size)

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self._precision == 'fp32':
            return contextlib.nullcontext()
        return torch.autocast('cuda', dtype=_AUTOCAST_DTYPES[self._precision])

    def _to_device(self, name: str, x: torch.Tensor) -> torch.Tensor:
        """Host tensor -> device, through a reused pinned buffer on CUDA."""
        if self._device.type != 'cuda' or x.device.type != 'cpu':
            return x.to(self._device)
        buf = self._host_buffers.get(name)
        if buf is None or buf.shape != x.shape or buf.dtype != x.dtype:
            buf = torch.empty(x.shape, dtype=x.dtype, pin_memory=True)
            self._host_buffers[name] = buf
        buf.copy_(x)
        return buf.to(self._device, non_blocking=True)

    @torch.inference_mode()
    def predict_logits(
        self,
        rgb: torch.Tensor,
        depth_m: torch.Tensor | None = None,
        K: torch.Tensor | None = None,  # noqa: N803
        valid: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """
        Logits at the input resolution, with the deployment preprocessing.

        :param rgb: uint8 ``[B, 3, H, W]`` (any device).
        :param depth_m: float metres ``[B, 1, H, W]``, 0 = invalid; needed for HHA/depth models.
        :param K: ``[B, 3, 3]`` 0-based intrinsics of this image size; needed for HHA models.
        :param valid: optional bool ``[B, 1, H, W]`` (default: finite depth > 0).
        :returns: float32 ``[B, K, H, W]`` on ``device`` (an inference-mode tensor).
        """
        if self.needs_depth and depth_m is None:
            raise ValueError(
                f'this model reads {self.modalities} and needs depth_m; without depth use an '
                'RGB-only model'
            )
        if self.needs_intrinsics and K is None:
            raise ValueError(f'this model reads {self.modalities} and needs the intrinsics K')
        if not self.needs_depth:
            depth_m = K = valid = None  # noqa: N806
        depth_m, valid = check_inputs(rgb, depth_m, K, self.modalities, valid)
        h, w = rgb.shape[-2:]
        rgb = rgb.to(self._device, non_blocking=True)
        if depth_m is not None:
            depth_m = depth_m.to(self._device, torch.float32, non_blocking=True)
            valid = None if valid is None else valid.to(self._device, non_blocking=True)
            K = None if K is None else K.to(self._device, torch.float32)  # noqa: N806
        size = self.network_size(h, w)
        rgb, depth_m, K, valid = resize_inputs(rgb, depth_m, K, valid, size)  # noqa: N806
        logits = self.network_logits(rgb, depth_m, K, valid)
        if size != (h, w):
            logits = F.interpolate(logits, size=(h, w), mode='bilinear', align_corners=False)
        return logits

    @torch.inference_mode()
    def network_logits(
        self,
        rgb: torch.Tensor,
        depth_m: torch.Tensor | None = None,
        K: torch.Tensor | None = None,  # noqa: N803
        valid: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """
        The network alone on inputs already at its size (``network_size``), on ``device``, and
        already checked (``predict`` and ``predict_logits`` check them once, on the way in):
        encoding (``core.preprocess.encode_inputs``: HHA, normalisation) and the forward pass.

        :returns: float32 logits ``[B, K, h, w]`` at the input size.
        """
        inputs = encode_inputs(rgb, depth_m, K, self.modalities, valid=valid,
                               normalization=self._meta.normalization)
        with self._autocast():
            logits = self._network(inputs)
        return logits.float()

    def _intrinsics_tensor(
        self, intrinsics: CameraIntrinsics | Sequence[CameraIntrinsics], batch: int,
        height: int, width: int, size: tuple[int, int],
    ) -> torch.Tensor:
        """``[B, 3, 3]`` intrinsics scaled from the ``height`` x ``width`` image to ``size``."""
        items = [intrinsics] if isinstance(intrinsics, CameraIntrinsics) else list(intrinsics)
        if len(items) == 1:
            items = items * batch
        if len(items) != batch:
            raise ValueError(f'{len(items)} intrinsics for a batch of {batch} images')
        for c in items:
            if not isinstance(c, CameraIntrinsics):
                raise ValueError(f'intrinsics must be CameraIntrinsics, got {type(c).__name__}')
            if (c.width, c.height) != (width, height):
                raise ValueError(
                    f'intrinsics are for {c.width}x{c.height} images but the image is '
                    f'{width}x{height}; pass intrinsics.scaled({width}, {height})'
                )
        scaled = [c.scaled(size[1], size[0]) for c in items]
        return torch.from_numpy(np.stack([c.K for c in scaled]).astype(np.float32))

    @torch.inference_mode()
    def predict(
        self,
        rgb: np.ndarray,
        depth_m: np.ndarray | None = None,
        intrinsics: CameraIntrinsics | Sequence[CameraIntrinsics] | None = None,
        return_confidence: bool = False,
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """
        Segment one image or a batch.

        :param rgb: uint8 ``[H, W, 3]`` or ``[B, H, W, 3]``, RGB order.
        :param depth_m: float metres ``[H, W]`` or ``[B, H, W]`` registered to ``rgb`` (or at
            another resolution with the same aspect ratio, e.g. 320x240 for 640x480), 0/NaN =
            invalid; needed for HHA/depth models, ignored by RGB-only ones.
        :param intrinsics: ``CameraIntrinsics`` of the ``rgb`` size (one, or one per image);
            needed for HHA models.
        :param return_confidence: also return the largest softmax probability per pixel.
        :returns: labels uint8 (uint16 for more than 256 classes) ``[H, W]`` or ``[B, H, W]``,
            and with ``return_confidence`` float32 confidence of the same shape.
        """
        rgb = np.asarray(rgb)
        if rgb.dtype != np.uint8:
            raise ValueError(f'rgb must be uint8, got dtype {rgb.dtype}')
        single = rgb.ndim == 3
        if rgb.ndim not in (3, 4) or rgb.shape[-1] != 3:
            raise ValueError(f'rgb must be [H, W, 3] or [B, H, W, 3], got shape {rgb.shape}')
        if single:
            rgb = rgb[None]
        b, h, w = rgb.shape[:3]
        size = self.network_size(h, w)
        rgb_t = self._to_device('rgb', _as_tensor(rgb)).permute(0, 3, 1, 2)
        rgb_t = resize_rgb(rgb_t, size)
        depth_t = k_t = None
        if self.needs_depth:
            depth = self._registered_depth(depth_m, single, b, h, w)
            depth = resize_nearest_batch(depth, size[1], size[0])  # once: straight to the net
            depth_t = self._to_device('depth', _as_tensor(depth[:, None]))
            if self.needs_intrinsics:
                if intrinsics is None:
                    raise ValueError(
                        f'this model reads {self.modalities} and needs the camera intrinsics'
                    )
                k_t = self._intrinsics_tensor(intrinsics, b, h, w, size).to(self._device)
        logits = self.network_logits(rgb_t, depth_t, k_t)
        if return_confidence:
            labels, conf = upsampled_confidence(logits, (h, w))
            return (labels[0], conf[0]) if single else (labels, conf)
        labels = upsampled_labels(logits, (h, w))
        return labels[0] if single else labels

    def _registered_depth(self, depth_m: np.ndarray | None, single: bool, b: int, h: int,
                          w: int) -> np.ndarray:
        """Checked float32 ``[B, h_d, w_d]`` metres registered to the ``h`` x ``w`` RGB."""
        if depth_m is None:
            raise ValueError(
                f'this model reads {self.modalities} and needs depth_m; without depth use '
                'an RGB-only model'
            )
        depth_m = np.asarray(depth_m)
        if not np.issubdtype(depth_m.dtype, np.floating):
            raise ValueError(
                f'depth_m must be float metres, got dtype {depth_m.dtype} (convert raw '
                'depth with core.depth.depth_to_metres)'
            )
        if depth_m.ndim == 2:
            depth_m = depth_m[None]
        if depth_m.ndim != 3 or depth_m.shape[0] != b or min(depth_m.shape[1:]) < 1:
            expected = (h, w) if single else (b, h, w)
            raise ValueError(f'depth_m must have shape {expected} like rgb, got {depth_m.shape}')
        hd, wd = depth_m.shape[1:]
        # registered depth at another resolution must show the same field of view: its aspect
        # ratio equals the RGB's to within half a depth pixel
        if abs(hd * w / wd - h) > 0.5 * h / hd:
            raise ValueError(
                f'depth_m must have shape {(h, w)} like rgb (or the same aspect ratio, registered '
                f'at another resolution), got {depth_m.shape[1:]}'
            )
        return np.asarray(depth_m, dtype=np.float32)

    def warmup(self, iterations: int = 2, batch_size: int = 1) -> None:
        """Run ``predict`` on synthetic input of the checkpoint's size (allocations, kernels)."""
        h, w = self._meta.input_size
        rgb = np.zeros((batch_size, h, w, 3), np.uint8)
        depth = np.full((batch_size, h, w), 2.0, np.float32)
        intr = CameraIntrinsics(float(w), float(w), (w - 1) / 2.0, (h - 1) / 2.0, w, h)
        for _ in range(max(1, iterations)):
            self.predict(rgb, depth, intr)
        if self._device.type == 'cuda':
            torch.cuda.synchronize(self._device)
