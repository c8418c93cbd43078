# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
``CheckpointMeta``: a checkpoint's JSON metadata as a frozen dataclass (model config, labels,
input size, normalisation, HHA settings, provenance), strict ``from_dict``/``to_dict``; written
and read by ``core/checkpoint.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import json
from typing import Any

from torch import nn

from rgbd_seg_ros.core.labels import LabelSet
from rgbd_seg_ros.core.models.config import ModelConfig
from rgbd_seg_ros.core.preprocess import Normalization, hha_settings

FORMAT_VERSION = 1  # checkpoint layout version


@dataclass(frozen=True)
class CheckpointMeta:
    """Everything needed to rebuild and run a model, stored beside its weights."""

    model: ModelConfig  # architecture ('pretrained' is kept as provenance, never re-read)
    labels: LabelSet  # class names, colours and ignore id of the outputs
    input_size: tuple[int, int] = (480, 640)  # network input (H, W); images are fitted to it
    normalization: Normalization = field(default_factory=Normalization)  # input encodings
    hha: dict[str, Any] = field(default_factory=hha_settings)  # HHA encoding settings
    provenance: dict[str, Any] = field(default_factory=dict)  # method, dataset, metrics, git
    format_version: int = FORMAT_VERSION  # checkpoint layout version

    def __post_init__(self) -> None:
        if not isinstance(self.model, ModelConfig):
            raise ValueError(f'meta.model must be a ModelConfig, got {type(self.model).__name__}')
        if not isinstance(self.labels, LabelSet):
            raise ValueError(f'meta.labels must be a LabelSet, got {type(self.labels).__name__}')
        if self.labels.num_classes != self.model.num_classes:
            raise ValueError(
                f'meta: label set {self.labels.name!r} has {self.labels.num_classes} classes '
                f'but the model predicts {self.model.num_classes}'
            )
        size = tuple(self.input_size)
        if len(size) != 2 or not all(isinstance(v, int) and v > 0 for v in size):
            raise ValueError(f'meta.input_size must be (H, W) positive ints, got {size}')
        object.__setattr__(self, 'input_size', size)
        if not isinstance(self.provenance, dict) or not isinstance(self.hha, dict):
            raise ValueError('meta.provenance and meta.hha must be dicts')
        try:
            json.dumps(self.provenance)
            json.dumps(self.hha)
        except (TypeError, ValueError) as exc:
            raise ValueError(f'meta.provenance/hha must be JSON-serialisable: {exc}') from exc

    @property
    def modalities(self) -> tuple[str, ...]:
        """Input modalities of the model, e.g. ``('rgb', 'hha')``."""
        return self.model.modalities

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (without the integrity record)."""
        return {
            'format_version': self.format_version,
            'model': self.model.to_dict(),
            'modalities': list(self.modalities),
            'labels': self.labels.to_dict(),
            'normalization': self.normalization.to_dict(),
            'hha': dict(self.hha),
            'input_size': list(self.input_size),
            'provenance': dict(self.provenance),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CheckpointMeta:
        """Strict inverse of ``to_dict``; ``ValueError`` names the bad key."""
        if not isinstance(d, Mapping):
            raise ValueError(f'metadata must be a JSON object, got {type(d).__name__}')
        known = {'format_version', 'model', 'modalities', 'labels', 'normalization', 'hha',
                 'input_size', 'provenance'}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f'metadata has unknown keys {unknown}')
        missing = sorted({'model', 'labels'} - set(d))
        if missing:
            raise ValueError(f'metadata is missing keys {missing}')
        try:
            model = ModelConfig.from_dict(dict(d['model']))
        except (TypeError, ValueError) as exc:
            raise ValueError(f'metadata "model": {exc}') from exc
        try:
            labels = LabelSet.from_dict(dict(d['labels']))
        except (TypeError, ValueError) as exc:
            raise ValueError(f'metadata "labels": {exc}') from exc
        kwargs: dict[str, Any] = {'model': model, 'labels': labels}
        if 'normalization' in d:
            kwargs['normalization'] = Normalization.from_dict(dict(d['normalization']))
        if 'input_size' in d:
            kwargs['input_size'] = tuple(d['input_size'])
        for key in ('hha', 'provenance', 'format_version'):
            if key in d:
                kwargs[key] = d[key]
        meta = cls(**kwargs)
        if 'modalities' in d and tuple(d['modalities']) != model.modalities:
            raise ValueError(
                f'metadata "modalities" {d["modalities"]} disagree with the model config '
                f'({list(model.modalities)})'
            )
        return meta


def as_meta(meta: CheckpointMeta | Mapping[str, Any], model: nn.Module) -> CheckpointMeta:
    cfg = getattr(model, 'cfg', None)
    if isinstance(meta, CheckpointMeta):
        out = meta
    elif isinstance(meta, Mapping):
        d = dict(meta)
        if isinstance(d.get('labels'), LabelSet):
            d['labels'] = d['labels'].to_dict()
        if isinstance(d.get('normalization'), Normalization):
            d['normalization'] = d['normalization'].to_dict()
        if isinstance(d.get('model'), ModelConfig):
            d['model'] = d['model'].to_dict()
        if 'normalization' not in d and isinstance(getattr(model, 'normalization', None),
                                                   Normalization):
            d['normalization'] = model.normalization.to_dict()  # the weights' own (imagenet)
        if 'model' not in d:
            if not isinstance(cfg, ModelConfig):
                raise ValueError('meta has no "model" and the model carries no ModelConfig cfg')
            d['model'] = cfg.to_dict()
        out = CheckpointMeta.from_dict(d)
    else:
        raise ValueError(f'meta must be a CheckpointMeta or a dict, got {type(meta).__name__}')
    if isinstance(cfg, ModelConfig) and cfg != out.model:
        raise ValueError(f"meta.model {out.model} differs from the model's own config {cfg}")
    return out
