# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
ONNX export of a segmentation network (the part after preprocessing).

The graph takes the normalised inputs named after the model's modalities (``rgb``
``[B, 3, H, W]``, ``hha`` ``[B, 3, H, W]``, ``depth`` ``[B, 1, H, W]``, float32) at one fixed
spatial size and returns ``logits`` ``[B, K, H, W]``; the batch dimension is dynamic. HHA and
normalisation stay in ``core/preprocess.py``. With a ``Segmenter`` the checkpoint metadata is
written into the ONNX file's ``metadata_props`` under ``rgbd_seg_ros``.
"""

from __future__ import annotations

from collections.abc import Sequence
import io
import json
import os
from pathlib import Path
import warnings

import torch
from torch import nn

from rgbd_seg_ros.core.models import MODALITY_CHANNELS

DEFAULT_OPSET = 17


class PositionalInputs(nn.Module):
    """ONNX needs positional tensors: ``forward(*inputs)`` -> ``model(dict(...))``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.modalities = tuple(model.modalities)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.model(dict(zip(self.modalities, inputs)))


def export_onnx(
    model_or_segmenter: nn.Module | object,
    path: str | os.PathLike,
    size: Sequence[int] | None = None,
    batch_size: int = 1,
    opset: int = DEFAULT_OPSET,
) -> Path:
    """
    Write an ONNX file of the network.

    :param model_or_segmenter: a ``SegmentationNet`` or a ``core.inference.Segmenter``.
    :param path: output ``.onnx`` file.
    :param size: (H, W) of the graph's inputs; default the Segmenter's ``meta.input_size``.
    :param batch_size: batch of the example input (the batch axis is dynamic).
    :param opset: ONNX opset version.
    :returns: the written path.
    """
    from rgbd_seg_ros.core.inference import Segmenter

    meta = None
    if isinstance(model_or_segmenter, Segmenter):
        model = model_or_segmenter.model
        meta = model_or_segmenter.meta
        size = size or meta.input_size
    elif isinstance(model_or_segmenter, nn.Module) and hasattr(model_or_segmenter, 'modalities'):
        model = model_or_segmenter
    else:
        raise ValueError('export_onnx needs a SegmentationNet or a Segmenter, got '
                         f'{type(model_or_segmenter).__name__}')
    if size is None or len(size) != 2 or min(size) <= 0:
        raise ValueError(f'export_onnx needs size=(H, W) with positive sides, got {size}')
    h, w = int(size[0]), int(size[1])
    path = Path(path)
    device = next(model.parameters()).device
    wrapper = PositionalInputs(model)
    names = list(wrapper.modalities)
    example = tuple(
        torch.zeros(batch_size, MODALITY_CHANNELS[m], h, w, device=device) for m in names
    )
    was_training = model.training
    model.eval()
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings():
            # Shape checks become constants in the trace: intended, the graph has a fixed size.
            warnings.filterwarnings('ignore', category=torch.jit.TracerWarning)
            # The TorchScript exporter (dynamo=False) is deprecated but needs no onnxscript.
            warnings.filterwarnings('ignore', category=DeprecationWarning, module='torch.onnx')
            warnings.filterwarnings('ignore', category=DeprecationWarning, module=__name__)
            torch.onnx.export(
                wrapper, example, buffer, input_names=names, output_names=['logits'],
                opset_version=opset, dynamo=False,
                dynamic_axes={**{m: {0: 'batch'} for m in names}, 'logits': {0: 'batch'}},
            )
    finally:
        model.train(was_training)
    data = buffer.getvalue()
    if meta is not None:
        import onnx

        proto = onnx.load_from_string(data)
        entry = proto.metadata_props.add()
        entry.key = 'rgbd_seg_ros'
        entry.value = json.dumps(meta.to_dict())
        data = proto.SerializeToString()
    tmp = path.with_name(f'.{path.name}.tmp')
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path
