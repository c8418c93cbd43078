# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Segmentation models: timm encoders, RGB-D fusion (CMX, SE-add), SegFormer/light decoders.

``create_model(ModelConfig(...))`` builds a ``Segmentor``; see docs/architecture.md (Models).
Importing this package imports torch and timm.
"""

from .config import (
    KNOWN_ARCHS,
    KNOWN_DECODERS,
    KNOWN_DEPTH_MODALITIES,
    KNOWN_FUSIONS,
    KNOWN_MODALITIES,
    ModelConfig,
)
from .decoder import create_decoder
from .encoder import TESTED_BACKBONES, Encoder
from .fusion import FusionEncoder, create_fusion
from .segmentor import MODALITY_CHANNELS, Segmentor, create_model

__all__ = [
    'KNOWN_ARCHS', 'KNOWN_DECODERS', 'KNOWN_DEPTH_MODALITIES', 'KNOWN_FUSIONS',
    'KNOWN_MODALITIES', 'MODALITY_CHANNELS', 'TESTED_BACKBONES', 'Encoder', 'FusionEncoder',
    'ModelConfig', 'Segmentor', 'create_decoder', 'create_fusion', 'create_model',
]
