# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Process-group set-up for ``torchrun`` and small collective helpers.

``torchrun --nproc_per_node G -m training.train ...`` sets ``RANK``, ``LOCAL_RANK`` and
``WORLD_SIZE``; ``init_distributed`` then joins the group with NCCL on CUDA and gloo on CPU.
Without those variables everything runs as a single process and the helpers are no-ops.
"""

from __future__ import annotations

from dataclasses import dataclass
import datetime
import logging
import os

import torch
import torch.distributed as dist

from rgbd_seg_ros.core.device import resolve_device

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in the job."""

    rank: int = 0  # global rank
    local_rank: int = 0  # rank on this machine (selects the GPU)
    world_size: int = 1  # number of processes
    device: str = 'cpu'  # torch device of this process

    @property
    def is_main(self) -> bool:
        """True on the process that logs and writes files (rank 0)."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        """True when a process group with more than one process is active."""
        return self.world_size > 1


def init_distributed(device: str = 'auto', timeout_s: float = 1800.0) -> DistInfo:
    """
    Join the process group described by torchrun's environment, or run single-process.

    Backend: NCCL when the resolved device is CUDA, gloo otherwise.
    """
    world_size = int(os.environ.get('WORLD_SIZE', '1'))
    rank = int(os.environ.get('RANK', '0'))
    local_rank = int(os.environ.get('LOCAL_RANK', '0'))
    resolved = str(resolve_device(device, local_rank))
    if world_size <= 1:
        return DistInfo(0, 0, 1, resolved)
    if resolved.startswith('cuda'):
        torch.cuda.set_device(torch.device(resolved))
    backend = 'nccl' if resolved.startswith('cuda') else 'gloo'
    if not dist.is_initialized():
        dist.init_process_group(
            backend=backend,
            rank=rank,
            world_size=world_size,
            timeout=datetime.timedelta(seconds=timeout_s),
        )
    LOG.info('rank %d/%d joined (%s on %s)', rank, world_size, backend, resolved)
    return DistInfo(rank, local_rank, world_size, resolved)


def cleanup_distributed() -> None:
    """
    Leave the process group if one is active.

    All ranks meet at a barrier first: a rank that tears gloo down while its peer is still
    sending can abort the peer's process at exit ("terminate called without an active
    exception").
    """
    if dist.is_available() and dist.is_initialized():
        try:
            dist.barrier()
        except RuntimeError as exc:  # a peer already failed; still release our resources
            LOG.warning('barrier before leaving the process group failed: %s', exc)
        dist.destroy_process_group()


def is_initialized() -> bool:
    """True when a process group is active."""
    return dist.is_available() and dist.is_initialized()


def barrier() -> None:
    """Wait for all ranks (no-op single-process)."""
    if is_initialized():
        dist.barrier()


def all_reduce_mean(values: dict[str, float], device: str = 'cpu') -> dict[str, float]:
    """Average a dict of Python floats over ranks (same keys on every rank)."""
    if not is_initialized() or not values:
        return dict(values)
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    t /= dist.get_world_size()
    return {k: float(v) for k, v in zip(keys, t.tolist())}


def any_rank(flag: bool, device: str = 'cpu') -> bool:
    """True if ``flag`` is true on any rank (used to stop all ranks together on Ctrl-C)."""
    if not is_initialized():
        return flag
    t = torch.tensor([1 if flag else 0], dtype=torch.int32, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def gather_tensors(t: torch.Tensor) -> list[torch.Tensor]:
    """All ranks' copies of a same-shaped tensor (``[t]`` single-process)."""
    if not is_initialized():
        return [t]
    out = [torch.empty_like(t) for _ in range(dist.get_world_size())]
    dist.all_gather(out, t)
    return out


def broadcast_buffers(module: torch.nn.Module) -> None:
    """Copy rank 0's buffers (e.g. BatchNorm running statistics) to every rank."""
    if not is_initialized():
        return
    for buf in module.buffers():
        dist.broadcast(buf, src=0)
