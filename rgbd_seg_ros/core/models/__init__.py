# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Segmentation models: timm encoders, RGB-D fusion (CMX, SE-add), SegFormer/light decoders.

``create_model(ModelConfig(...))`` builds a ``SegmentationNet``; see docs/architecture.md (Models).
The config names load eagerly (no torch); everything else loads torch and timm on first use, so
``from rgbd_seg_ros.core.models.config import ModelConfig`` stays light.
"""

from importlib import import_module
from typing import Any

from .config import (
    KNOWN_ARCHS,
    KNOWN_DECODERS,
    KNOWN_DEPTH_MODALITIES,
    KNOWN_FUSIONS,
    KNOWN_MODALITIES,
    ModelConfig,
)

_LAZY = {
    'create_decoder': '.decoder',
    'Encoder': '.encoder',
    'TESTED_BACKBONES': '.encoder',
    'create_fusion': '.fusion',
    'FusionEncoder': '.fusion',
    'create_model': '.segmentor',
    'MODALITY_CHANNELS': '.segmentor',
    'SegmentationNet': '.segmentor',
}

__all__ = [
    'KNOWN_ARCHS', 'KNOWN_DECODERS', 'KNOWN_DEPTH_MODALITIES', 'KNOWN_FUSIONS',
    'KNOWN_MODALITIES', 'ModelConfig', *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
