# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""Dataset readers, transforms and the torch wrappers."""

from typing import Any

from training.data.config import DataConfig

__all__ = ['DataConfig', 'RGBDDataset', 'create_dataset', 'create_eval_dataset']

_LAZY = {'RGBDDataset', 'create_dataset', 'create_eval_dataset'}


def __getattr__(name: str) -> Any:
    # the torch-backed parts load on first use, so `DataConfig` stays importable without torch
    if name in _LAZY:
        from training.data import dataset

        return getattr(dataset, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
