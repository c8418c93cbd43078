# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""The one device-name rule of the node, replay, training and the tools."""

from __future__ import annotations

from typing import Any


def resolve_device(device: Any, local_rank: int = 0) -> Any:
    """
    A ``torch.device`` from a name: ``'auto'`` (CUDA when available, else CPU), ``'cpu'``,
    ``'cuda'`` (the ``local_rank``-th GPU, so one per torchrun process), ``'cuda:N'``, or a
    ``torch.device``.

    :raises ValueError: an unparsable name, a device type other than cpu/cuda, or CUDA asked
        for where it is not available (the message says to use ``cpu``).
    """
    import torch

    if isinstance(device, str) and device in ('auto', 'cuda'):
        if device == 'auto' and not torch.cuda.is_available():
            return torch.device('cpu')
        device = f'cuda:{local_rank}'
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f'invalid device {device!r}: {exc}') from exc
    if dev.type not in ('cpu', 'cuda'):
        raise ValueError(f'device {device!r}: only cpu and cuda are supported')
    if dev.type == 'cuda' and not torch.cuda.is_available():
        raise ValueError(f'device {device!r} requested but CUDA is not available (use "cpu")')
    return dev
