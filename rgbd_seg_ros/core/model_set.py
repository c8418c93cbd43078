# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The node's models, one per mode, loaded and cross-checked at start-up.

ROS-free: ``core/pipeline.py`` runs the same set in the node and in both replays. Every
problem (missing file, wrong input modality, class sets that differ between the fusion and the
fallback models) raises ``ModelSetError`` (a ``ValueError``) with a message that names the
parameter and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
import os
from typing import Any

import numpy as np

from rgbd_seg_ros.core.camera import CameraIntrinsics, match_intrinsics
from rgbd_seg_ros.core.depth import missing_depth
from rgbd_seg_ros.core.names import KNOWN_MODES

# Modalities each mode's model must read (one entry per KNOWN_MODES).
_EXPECTED = {
    'rgbd': (('rgb', 'hha'), ('rgb', 'depth')),
    'rgb': (('rgb',),),
    'depth': (('hha',), ('depth',)),
}
_PARAM = {'rgbd': 'fusion_model', 'rgb': 'rgb_model', 'depth': 'depth_model'}
_WANTED = {'rgbd': 'an RGB-D fusion model (model.arch: fusion)',
           'rgb': 'an RGB-only model (model.modality: rgb)',
           'depth': 'a depth-only model (model.modality: hha or depth)'}


def trained_without_depth(meta: Any) -> float:
    """
    The share of training passes a checkpoint saw ``core.depth.missing_depth`` in
    (``provenance.config.data.depth_dropout_p``, or 0.5 for method ``dropout_sd``: every batch
    twice, with and without depth; 0.0 when it records neither): above 0 it was trained for
    missing depth.
    """
    config = (getattr(meta, 'provenance', None) or {}).get('config') or {}
    if config.get('method') == 'dropout_sd':
        return 0.5
    try:
        return float((config.get('data') or {}).get('depth_dropout_p') or 0.0)
    except (TypeError, ValueError):
        return 0.0


class MissingDepthFallback:
    """
    The rgb mode of a one-model node: the fusion segmenter fed ``core.depth.missing_depth``
    (what it saw under depth dropout in training). Shares the fusion model (no second model in
    memory, nothing to switch); HHA of missing depth does not depend on the intrinsics, so a
    frame without camera_info still runs.
    """

    modalities = ('rgb',)

    def __init__(self, fusion: Any) -> None:
        self.fusion = fusion
        self.labels = fusion.labels

    @property
    def backend(self) -> str:
        """The fusion model's backend."""
        return getattr(self.fusion, 'backend', 'torch')

    def predict(self, rgb: np.ndarray, depth_m: np.ndarray | None = None,
                intrinsics: CameraIntrinsics | None = None,
                return_confidence: bool = False) -> Any:
        """``fusion.predict`` on ``rgb`` uint8 ``[H, W, 3]`` with depth missing."""
        h, w = rgb.shape[:2]
        nominal = CameraIntrinsics(float(w), float(w), (w - 1) / 2.0, (h - 1) / 2.0, w, h)
        return self.fusion.predict(rgb, missing_depth(h, w), nominal,
                                   return_confidence=return_confidence)


def _mode_of(modalities: tuple[str, ...]) -> str:
    """The mode whose model reads ``modalities`` ('' for none)."""
    return next((m for m, allowed in _EXPECTED.items() if modalities in allowed), '')


class ModelSetError(ValueError):
    """Bad model configuration (missing checkpoint, wrong modality, differing classes)."""


@dataclass
class ModelSet:
    """Segmenters by mode: 'rgb' always, 'rgbd' and 'depth' when configured."""

    segmenters: dict[str, Any]

    @classmethod
    def from_paths(cls, fusion_model: str, rgb_model: str, depth_model: str = '',
                   device: str = 'cpu', precision: str = 'fp32',
                   backend: str = 'torch', rgb_fallback: str = 'rgb_model') -> ModelSet:
        """
        Load and check the checkpoints (empty path: that mode is not available), then switch
        each to ``backend`` (``core/backends.py``: built and warmed up here, torch with a
        warning when it cannot load). ``rgb_fallback='fusion_model'``: no RGB model; the fusion
        model runs the rgb mode with depth missing (``MissingDepthFallback``), and must have
        been trained for it (``trained_without_depth``).
        """
        paths = {'rgbd': fusion_model, 'rgb': rgb_model, 'depth': depth_model}
        if rgb_fallback == 'fusion_model':
            if not fusion_model or rgb_model:
                raise ModelSetError('rgb_fallback fusion_model runs the fusion model in rgb '
                                    'mode: set fusion_model and leave rgb_model empty')
        elif not rgb_model:
            raise ModelSetError('rgb_model is required: the RGB-only checkpoint used as fallback')
        for mode, path in paths.items():
            if path and not os.path.isfile(path):
                raise ModelSetError(f'{_PARAM[mode]}: no such checkpoint file {path!r}')
        from rgbd_seg_ros.core.device import resolve_device

        try:  # before any checkpoint: a missing GPU is not the fault of fusion_model
            resolve_device(device)
        except ValueError as exc:
            raise ModelSetError(f'parameter device: {exc}; set device:=cpu (or auto), or '
                                'install a CUDA build of torch on a machine with a GPU') from exc
        from rgbd_seg_ros.core.inference import Segmenter

        segmenters = {}
        for mode, path in paths.items():
            if not path:
                continue
            try:
                segmenters[mode] = Segmenter.from_checkpoint(path, device=device,
                                                             precision=precision)
            except (ValueError, KeyError, OSError) as exc:
                raise ModelSetError(f'{_PARAM[mode]} {path!r}: {exc}') from exc
        if rgb_fallback == 'fusion_model':
            p_drop = trained_without_depth(segmenters['rgbd'].meta)
            if p_drop <= 0:
                raise ModelSetError(
                    f'rgb_fallback fusion_model: fusion_model {fusion_model!r} was not trained '
                    'for missing depth (its checkpoint records no data.depth_dropout_p > 0); '
                    'train it with --set data.depth_dropout_p=0.3, or give an RGB model as '
                    'rgb_model with rgb_fallback:=rgb_model')
            segmenters['rgb'] = MissingDepthFallback(segmenters['rgbd'])
        models = cls.from_segmenters(segmenters)
        from rgbd_seg_ros.core.backends import apply_backend

        for mode, seg in models.segmenters.items():
            if paths[mode]:  # the same-model fallback shares the fusion model's network
                apply_backend(seg, backend, paths[mode])
        return models

    @classmethod
    def from_params(cls, params: Any) -> ModelSet:
        """
        The node's models from its parameters (``core.node_config.SegmentationParams``): the
        one construction of the node and of both replays (checkpoints, device, precision,
        backend).
        """
        return cls.from_paths(params.fusion_model, params.rgb_model, params.depth_model,
                              params.device, params.precision, params.backend,
                              params.rgb_fallback)

    @classmethod
    def from_segmenters(cls, segmenters: dict[str, Any]) -> ModelSet:
        """Check already loaded segmenters (modalities and class sets)."""
        unknown = set(segmenters) - set(_EXPECTED)
        if unknown:
            raise ModelSetError(f'unknown modes {sorted(unknown)}; expected {tuple(_EXPECTED)}')
        if 'rgb' not in segmenters:
            raise ModelSetError('rgb_model is required: the RGB-only checkpoint used as fallback')
        for mode, seg in segmenters.items():
            modalities = tuple(seg.modalities)
            if modalities not in _EXPECTED[mode]:
                own = _mode_of(modalities)
                hint = f'; it is {_WANTED[own]}: pass it as {_PARAM[own]} instead' if own else ''
                raise ModelSetError(
                    f'{_PARAM[mode]} reads {modalities} but {mode} mode needs '
                    f'{_WANTED[mode]}{hint}')
        reference = segmenters['rgb'].labels
        for mode, seg in segmenters.items():
            labels = seg.labels
            if tuple(labels.names) != tuple(reference.names):
                raise ModelSetError(
                    f'class sets differ: {_PARAM[mode]} has {labels.num_classes} classes '
                    f'({labels.name}) but rgb_model has {reference.num_classes} '
                    f'({reference.name}); all models of the node must share one label set')
        return cls(dict(segmenters))

    @property
    def labels(self) -> Any:
        """The shared LabelSet."""
        return self.segmenters['rgb'].labels

    @property
    def backends(self) -> dict[str, str]:
        """The inference backend each mode's model runs on (``core/backends.py``)."""
        return {mode: getattr(seg, 'backend', 'torch') for mode, seg in self.segmenters.items()}

    @property
    def modes(self) -> tuple[str, ...]:
        """Available modes."""
        return tuple(m for m in KNOWN_MODES if m in self.segmenters)

    def warmup(self) -> None:
        """One forward pass per model at its checkpoint size (allocations happen here)."""
        for seg in self.segmenters.values():
            if not isinstance(seg, MissingDepthFallback):  # its model is the fusion model
                seg.warmup(1)

    @property
    def same_model_fallback(self) -> bool:
        """Whether rgb mode runs the fusion model with depth missing (one model in memory)."""
        return isinstance(self.segmenters['rgb'], MissingDepthFallback)

    def for_mode(self, mode: str) -> Any:
        """The segmenter of ``mode`` (the RGB one when ``mode`` has no model)."""
        return self.segmenters.get(mode, self.segmenters['rgb'])

    def predict(self, mode: str, rgb: np.ndarray, depth_m: np.ndarray | None,
                intrinsics: CameraIntrinsics | None, return_confidence: bool = False) -> Any:
        """
        Run the model of ``mode`` on one frame: the node worker's and bag replay's one path.

        Depth registered at another resolution goes to the segmenter as it is (it is resized
        once, to the network size); intrinsics of another image size are scaled to the RGB
        size; the RGB model ignores depth.

        :param rgb: uint8 ``[H, W, 3]``.
        :param depth_m: float32 metres ``[h, w]`` (0 invalid), or None in ``rgb`` mode.
        :returns: uint8 labels ``[H, W]`` (and float32 confidence when asked).
        """
        if mode not in self.segmenters:
            raise ModelSetError(f'no {mode} model loaded (modes: {self.modes}); the '
                                'synchroniser runs such frames in rgb mode')
        if mode == 'rgb':
            depth_m = intrinsics = None
        elif intrinsics is not None:
            height, width = rgb.shape[:2]
            intrinsics = match_intrinsics(intrinsics, width, height)
        return self.segmenters[mode].predict(rgb, depth_m, intrinsics,
                                             return_confidence=return_confidence)
