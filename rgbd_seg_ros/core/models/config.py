# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The model configuration: one frozen dataclass, JSON/YAML friendly.

Importing this module imports neither torch nor timm, so training configs and checkpoint metadata
can be parsed anywhere.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

KNOWN_ARCHS = ('single', 'fusion')
KNOWN_MODALITIES = ('rgb', 'hha', 'depth')
KNOWN_DEPTH_MODALITIES = ('hha', 'depth')
KNOWN_DECODERS = ('segformer', 'light')
KNOWN_FUSIONS = ('cmx', 'se_add')


def _choice(field: str, value: str, known: tuple[str, ...]) -> None:
    if value not in known:
        raise ValueError(f'ModelConfig.{field}: unknown value {value!r}; expected one of {known}')


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of a segmentation model; ``create_model(cfg)`` builds it."""

    arch: str = 'single'  # 'single' (one encoder) or 'fusion' (two encoders, RGB + depth)
    backbone: str = 'resnet18'  # timm model name with features_only support
    modality: str = 'rgb'  # input of a single-stream model: 'rgb' | 'hha' | 'depth'
    num_classes: int = 40  # output classes K
    decoder: str = 'segformer'  # 'segformer' (all-MLP head) or 'light' (small FPN head, CPU)
    embed_dim: int = 256  # decoder width (SegFormer/CMX use 512 for MiT-B2 and up)
    fusion: str = 'cmx'  # fusion only: 'cmx' (FRM + FFM per stage) or 'se_add' (ESANet SE-add)
    depth_modality: str = 'hha'  # fusion only: encoding of the depth stream, 'hha' | 'depth'
    pretrained: str = ''  # local .safetensors file of backbone weights; '' = random init
    pretrained_depth: str = ''  # the depth stream's own weights (fusion or hha/depth model);
    #                             '' = the depth stream starts from ``pretrained`` too
    num_stages: int = 4  # deepest backbone feature levels used (stride 4..32 for 4)
    ffm_head_dim: int = 64  # CMX FFM: channels per attention head (heads = C // head_dim)
    decoder_dropout: float = 0.1  # dropout before the classifier (SegFormer default 0.1)

    def __post_init__(self) -> None:
        _choice('arch', self.arch, KNOWN_ARCHS)
        _choice('modality', self.modality, KNOWN_MODALITIES)
        _choice('decoder', self.decoder, KNOWN_DECODERS)
        _choice('fusion', self.fusion, KNOWN_FUSIONS)
        _choice('depth_modality', self.depth_modality, KNOWN_DEPTH_MODALITIES)
        if not isinstance(self.backbone, str) or not self.backbone:
            raise ValueError('ModelConfig.backbone must be a non-empty timm model name')
        if self.arch == 'fusion' and self.modality != 'rgb':
            raise ValueError(
                "ModelConfig.modality: a fusion model's first stream is always 'rgb'; choose the "
                f'depth stream with depth_modality (got modality={self.modality!r})'
            )
        for name, low in (('num_classes', 1), ('embed_dim', 1), ('num_stages', 1),
                          ('ffm_head_dim', 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f'ModelConfig.{name} must be an integer >= {low}, got {value!r}')
        if not 0.0 <= float(self.decoder_dropout) < 1.0:
            raise ValueError(
                f'ModelConfig.decoder_dropout must be in [0, 1), got {self.decoder_dropout}'
            )
        for name in ('pretrained', 'pretrained_depth'):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f'ModelConfig.{name} must be a file path string or empty')

    @property
    def modalities(self) -> tuple[str, ...]:
        """Input keys the model reads, in stream order, e.g. ``('rgb',)`` or ``('rgb', 'hha')``."""
        if self.arch == 'fusion':
            return ('rgb', self.depth_modality)
        return (self.modality,)

    @property
    def depth_weights(self) -> str:
        """The backbone file of the depth stream: ``pretrained_depth``, else ``pretrained``."""
        return self.pretrained_depth or self.pretrained

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON/YAML)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        """Strict inverse of ``to_dict``: an unknown key raises ``ValueError`` naming it."""
        if not isinstance(d, dict):
            raise ValueError(f'model config must be a mapping, got {type(d).__name__}')
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f'model config has unknown keys {unknown}; known: {sorted(known)}')
        return cls(**d)
