# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Data loading of the training loop: step-indexed sampling, so data order is a pure function of
``(seed, step)`` and a resumed run continues exactly where the interrupted one stopped.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler


class StepSampler(Sampler[list[int]]):
    """
    Global sample positions of steps ``start_step .. end_step - 1``, this rank's share.

    Global batch ``s`` holds positions ``s * B .. s * B + B - 1``; rank ``r`` of ``R`` takes the
    contiguous slice ``r * B / R .. (r + 1) * B / R``. ``PositionDataset`` turns a position into
    a sample and its augmentation, so the whole data stream depends on ``(seed, step)`` only:
    resuming at step ``k`` gives exactly the batches an uninterrupted run sees from step ``k``.
    """

    def __init__(
        self, global_batch: int, seed: int, start_step: int, end_step: int, rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if global_batch % world_size:
            raise ValueError(
                f'train.batch_size {global_batch} is not divisible by the {world_size} ranks'
            )
        self.global_batch = global_batch
        self.local_batch = global_batch // world_size
        self.seed = seed
        self.start_step = start_step
        self.end_step = end_step
        self.rank = rank

    def __len__(self) -> int:
        return max(0, self.end_step - self.start_step)

    def __iter__(self):
        for step in range(self.start_step, self.end_step):
            first = step * self.global_batch + self.rank * self.local_batch
            yield list(range(first, first + self.local_batch))


class PositionDataset(Dataset):
    """
    Training samples addressed by global stream position instead of dataset index.

    Position ``p`` reads sample ``perm_e[p % N]`` (``e = p // N``, a seeded permutation per
    epoch) of a finite dataset, or sample ``p`` of an unbounded stream, and augments it with a
    generator seeded by ``(seed, p)``: every epoch augments differently, and the result does not
    depend on worker processes, ranks or how often the loader was restarted.
    """

    def __init__(self, dataset: Any, seed: int) -> None:
        self.dataset = dataset
        self.seed = int(seed)
        self.num_samples = _dataset_length(dataset)
        self._perm: tuple[int, torch.Tensor] | None = None

    def index(self, position: int) -> int:
        """Dataset index of global position ``position``."""
        if self.num_samples is None:
            return position
        epoch, offset = divmod(position, self.num_samples)
        if self._perm is None or self._perm[0] != epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm = (epoch, torch.randperm(self.num_samples, generator=g))
        return int(self._perm[1][offset])

    def __getitem__(self, position: int) -> dict[str, Any]:
        from training.data.dataset import to_tensors
        from training.data.files import read_hha

        base = self.dataset
        sample = base.reader[self.index(position)]
        if base.hha_cache is not None:
            sample['hha'] = read_hha(base.hha_cache / f'{sample["name"]}.png')
        if base.transform is not None:
            rng = np.random.default_rng(np.random.SeedSequence([self.seed, 7, int(position)]))
            sample = base.transform(sample, rng)
        return to_tensors(sample)


def _dataset_length(dataset: Any) -> int | None:
    try:
        return len(dataset)
    except TypeError:
        return None


def _generator(seed: int) -> torch.Generator:
    # A private generator: creating a DataLoader iterator must not consume the global RNG
    # (it draws the worker base seed), or a resumed run would drift from an uninterrupted one.
    return torch.Generator().manual_seed(seed)


def train_loader(dataset: Any, sampler: StepSampler, num_workers: int, pin: bool) -> DataLoader:
    """Loader over ``sampler``'s batches; worker seeds depend on (seed, start step, rank)."""
    seed = (sampler.seed * 1_000_003 + sampler.start_step) * 64 + sampler.rank
    return DataLoader(
        dataset, batch_sampler=sampler, num_workers=num_workers, pin_memory=pin,
        generator=_generator(seed), prefetch_factor=2 if num_workers > 0 else None,
    )


def val_loader(dataset: Any, batch_size: int, num_workers: int, rank: int = 0,
               world_size: int = 1, pin: bool = False) -> DataLoader:
    """Ordered batches of this rank's shard of a validation/test set (every sample once)."""
    n = len(dataset)
    indices = list(range(rank, n, world_size))
    batches = [indices[i:i + batch_size] for i in range(0, len(indices), batch_size)]
    return DataLoader(dataset, batch_sampler=batches, num_workers=num_workers, pin_memory=pin,
                      generator=_generator(rank))


def to_device(batch: dict[str, Any], device: str) -> dict[str, Any]:
    """Move the tensors of a batch dict to ``device`` (non-blocking)."""
    return {
        k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v
        for k, v in batch.items()
    }
