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
                   backend: str = 'torch') -> ModelSet:
        """
        Load and check the checkpoints (empty path: that mode is not available), then switch
        each to ``backend`` (``core/backends.py``: built and warmed up here, torch with a
        warning when it cannot load).
        """
        paths = {'rgbd': fusion_model, 'rgb': rgb_model, 'depth': depth_model}
        if not rgb_model:
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
        models = cls.from_segmenters(segmenters)
        from rgbd_seg_ros.core.backends import apply_backend

        for mode, seg in models.segmenters.items():
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
                              params.device, params.precision, params.backend)

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
            seg.warmup(1)

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
