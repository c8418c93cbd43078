# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Inference backends for the network part of a ``Segmenter``: torch (eager), ONNX Runtime and
TensorRT.

Only the network changes: HHA, normalisation, resizing and the argmax stay in
``core/inference.py`` / ``core/preprocess.py``, so every backend sees the same normalised
inputs (``rgb``/``hha`` ``[B, 3, h, w]``, ``depth`` ``[B, 1, h, w]``, float32) and returns
float logits ``[B, K, h, w]`` at the network size.

- ``onnxruntime``: the network is exported to ONNX (``core/export.py``) once per network size
  and cached next to the checkpoint as ``<stem>.<digest16>.<h>x<w>.onnx``, where ``digest16``
  is the start of the checkpoint's sha256 content digest (a changed checkpoint gets new files).
  CPU: ``CPUExecutionProvider`` with torch's thread count; CUDA: ``CUDAExecutionProvider``
  with device-resident inputs and outputs (I/O binding, no host copies). It runs the fp32
  graph (``precision`` applies to torch and tensorrt).
- ``tensorrt`` (CUDA only): ONNX Runtime's ``TensorrtExecutionProvider`` on the same ONNX
  file, fp16 when ``precision`` is fp16, engines cached in ``<stem>.<digest16>.trt/`` next to
  the checkpoint (built once per size and GPU, minutes; reused on the next start). Without
  that provider, torch-tensorrt (``torch_tensorrt.compile``, dynamo) when importable, compiled
  at start-up (its on-disk format goes through pickle, which this project refuses to load).

When the checkpoint's folder is not writable the cache goes to
``$XDG_CACHE_HOME/rgbd_seg_ros`` (default ``~/.cache/rgbd_seg_ros``). ``apply_backend`` never
fails over a backend: when one cannot load (not installed, no GPU, provider missing, export
or build error) it logs a warning with the reason and the Segmenter keeps torch.
"""

from __future__ import annotations

from collections.abc import Callable
import logging
import os
from pathlib import Path
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from rgbd_seg_ros.core.names import KNOWN_BACKENDS

logger = logging.getLogger(__name__)

_DIGEST_CHARS = 16


class BackendUnavailableError(RuntimeError):
    """A backend that cannot run here; the message says why (and how to get it)."""


def checkpoint_digest(path: str | os.PathLike) -> str:
    """The first 16 hex digits of a checkpoint's sha256 content digest (header only)."""
    from rgbd_seg_ros.core.checkpoint import inspect_checkpoint

    integrity = inspect_checkpoint(path)['metadata'].get('integrity') or {}
    digest = integrity.get('digest')
    if not isinstance(digest, str) or len(digest) < _DIGEST_CHARS:
        raise ValueError(f'{path}: checkpoint has no sha256 content digest')
    return digest[:_DIGEST_CHARS]


def cache_dir(checkpoint_path: str | os.PathLike) -> Path:
    """Where built artefacts of a checkpoint go: its folder, or the user cache when read-only."""
    folder = Path(checkpoint_path).resolve().parent
    if os.access(folder, os.W_OK):
        return folder
    base = Path(os.environ.get('XDG_CACHE_HOME') or Path.home() / '.cache') / 'rgbd_seg_ros'
    base.mkdir(parents=True, exist_ok=True)
    logger.info('%s is read-only: caching exported models in %s', folder, base)
    return base


class OnnxRuntimeNetwork:
    """
    ``network(inputs: dict[str, Tensor]) -> logits Tensor``: one ONNX Runtime session per
    network size, exported on first use (or read from the cache).

    :param model: the torch ``SegmentationNet`` (used only to export).
    :param num_classes: K, the logits' channel count.
    :param device: where inputs arrive and logits must be returned.
    :param providers: ONNX Runtime providers, first = the one that must be active.
    :param stem: cache file prefix ``<folder>/<checkpoint stem>.<digest16>``.
    """

    def __init__(self, model: nn.Module, num_classes: int, device: torch.device,
                 providers: list[Any], stem: Path) -> None:
        import onnxruntime as ort

        self._ort = ort
        self._model = model
        self._num_classes = int(num_classes)
        self._device = device
        self._providers = providers
        self._stem = stem
        self._sessions: dict[tuple[int, int], Any] = {}
        self.modalities = tuple(model.modalities)

    @property
    def provider(self) -> str:
        """The execution provider that must run the graph."""
        first = self._providers[0]
        return first[0] if isinstance(first, tuple) else first

    def onnx_path(self, size: tuple[int, int]) -> Path:
        """Cache file of the graph for network size (h, w)."""
        return self._stem.with_name(f'{self._stem.name}.{size[0]}x{size[1]}.onnx')

    def session(self, size: tuple[int, int]) -> Any:
        """The session for network size (h, w), built (and exported) when first needed."""
        session = self._sessions.get(size)
        if session is not None:
            return session
        from rgbd_seg_ros.core.export import export_onnx

        path = self.onnx_path(size)
        started = time.perf_counter()
        if not path.is_file():
            export_onnx(self._model, path, size=size)
            logger.info('exported %s (%.1f s)', path, time.perf_counter() - started)
        options = self._ort.SessionOptions()
        options.intra_op_num_threads = max(1, torch.get_num_threads())
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        session = self._ort.InferenceSession(str(path), options, providers=self._providers)
        active = session.get_providers()
        if not active or active[0] != self.provider:
            # ONNX Runtime silently falls back to the CPU when a provider fails to load.
            raise BackendUnavailableError(f'{self.provider} did not load (active: {active})')
        logger.info('ONNX Runtime session %dx%d on %s ready (%.1f s)', size[0], size[1],
                    active[0], time.perf_counter() - started)
        self._sessions[size] = session
        return session

    def __call__(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        first = inputs[self.modalities[0]]
        batch, (h, w) = first.shape[0], tuple(first.shape[-2:])
        session = self.session((int(h), int(w)))
        if self._device.type == 'cpu':
            feed = {m: inputs[m].detach().float().contiguous().numpy() for m in self.modalities}
            return torch.from_numpy(session.run(['logits'], feed)[0])
        binding = session.io_binding()
        index = self._device.index or 0
        keep = []  # the bound tensors must outlive the run
        for m in self.modalities:
            x = inputs[m].detach().float().contiguous()
            keep.append(x)
            binding.bind_input(m, 'cuda', index, np.float32, tuple(x.shape), x.data_ptr())
        out = torch.empty((batch, self._num_classes, h, w), dtype=torch.float32,
                          device=self._device)
        binding.bind_output('logits', 'cuda', index, np.float32, tuple(out.shape),
                            out.data_ptr())
        torch.cuda.current_stream(self._device).synchronize()  # inputs written before ORT reads
        session.run_with_iobinding(binding)
        return out


class TorchTensorRTNetwork:
    """``network(inputs) -> logits`` through torch-tensorrt modules compiled per network size."""

    def __init__(self, model: nn.Module, precision: str) -> None:
        import torch_tensorrt

        from rgbd_seg_ros.core.export import PositionalInputs

        self._trt = torch_tensorrt
        self._wrapper = PositionalInputs(model).eval()
        self._dtype = torch.float16 if precision == 'fp16' else torch.float32
        self._compiled: dict[tuple[int, ...], Callable] = {}
        self.modalities = tuple(model.modalities)

    def __call__(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        args = [inputs[m].float().contiguous() for m in self.modalities]
        key = tuple(int(d) for a in args for d in a.shape)
        module = self._compiled.get(key)
        if module is None:
            started = time.perf_counter()
            module = self._trt.compile(self._wrapper, ir='dynamo', inputs=args,
                                       enabled_precisions={self._dtype})
            logger.info('torch-tensorrt compiled %s in %.0f s', key,
                        time.perf_counter() - started)
            self._compiled[key] = module
        return module(*args).float()


def _cuda_index(device: torch.device) -> int:
    return device.index if device.index is not None else 0


def create_network(backend: str, model: nn.Module, num_classes: int, device: torch.device,
                   precision: str, checkpoint_path: str | os.PathLike) -> Callable:
    """
    The network callable of ``backend`` (not ``torch``) for a model on ``device``.

    :raises BackendUnavailableError: the backend cannot run here (the message says why).
    :raises ValueError: unknown backend name.
    """
    if backend not in KNOWN_BACKENDS:
        raise ValueError(f'unknown backend {backend!r}; expected one of {KNOWN_BACKENDS}')
    if backend == 'torch':
        return model
    if backend == 'tensorrt' and device.type != 'cuda':
        raise BackendUnavailableError('tensorrt needs a CUDA device (device is cpu)')
    try:
        import onnxruntime as ort
    except ImportError as exc:
        ort = None
        if backend == 'onnxruntime':
            raise BackendUnavailableError(f'onnxruntime is not installed ({exc}); '
                                     'pip install onnxruntime (onnxruntime-gpu for CUDA)') from exc
    stem = cache_dir(checkpoint_path) / (
        f'{Path(checkpoint_path).stem}.{checkpoint_digest(checkpoint_path)}')
    available = ort.get_available_providers() if ort is not None else []
    if backend == 'onnxruntime':
        if device.type == 'cpu':
            providers: list[Any] = ['CPUExecutionProvider']
        elif 'CUDAExecutionProvider' in available:
            providers = [('CUDAExecutionProvider', {'device_id': _cuda_index(device)}),
                         'CPUExecutionProvider']
        else:
            raise BackendUnavailableError(
                f'onnxruntime has no CUDAExecutionProvider (available: {available}); '
                'install onnxruntime-gpu')
        return OnnxRuntimeNetwork(model, num_classes, device, providers, stem)
    if 'TensorrtExecutionProvider' in available:
        engines = stem.with_name(stem.name + '.trt')
        engines.mkdir(exist_ok=True)
        options = {'device_id': _cuda_index(device), 'trt_fp16_enable': precision == 'fp16',
                   'trt_engine_cache_enable': True, 'trt_engine_cache_path': str(engines),
                   'trt_timing_cache_enable': True, 'trt_timing_cache_path': str(engines)}
        providers = [('TensorrtExecutionProvider', options),
                     ('CUDAExecutionProvider', {'device_id': _cuda_index(device)}),
                     'CPUExecutionProvider']
        return OnnxRuntimeNetwork(model, num_classes, device, providers, stem)
    try:
        return TorchTensorRTNetwork(model, precision)
    except ImportError as exc:
        raise BackendUnavailableError(
            f'neither onnxruntime with TensorrtExecutionProvider (available: {available}) nor '
            f'torch-tensorrt is installed ({exc})') from exc


def apply_backend(segmenter: Any, backend: str, checkpoint_path: str | os.PathLike) -> str:
    """
    Switch ``segmenter`` (a ``core.inference.Segmenter``) to ``backend`` and build it at the
    checkpoint's input size; on any failure keep torch and log a warning.

    :returns: the backend in use: ``backend`` or ``'torch'``.
    :raises ValueError: unknown backend name (a configuration error, not a fallback).
    """
    if backend not in KNOWN_BACKENDS:
        raise ValueError(f'unknown backend {backend!r}; expected one of {KNOWN_BACKENDS}')
    if backend == 'torch':
        return 'torch'
    try:
        network = create_network(backend, segmenter.model, segmenter.labels.num_classes,
                                 segmenter.device, segmenter.precision, checkpoint_path)
        segmenter.use_network(network, backend)
        segmenter.warmup(iterations=1)  # export / session / engine build at the checkpoint size
    except Exception as exc:  # noqa: BLE001 - any failure of an optional backend -> torch
        segmenter.use_network(None, 'torch')
        logger.warning('backend %s unavailable for %s, falling back to torch: %s', backend,
                       checkpoint_path, exc)
        return 'torch'
    return backend
