# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The training loop, in one place.

``fit(cfg, out_dir)`` trains the task of ``cfg.method`` for ``cfg.train.max_iters`` steps:
AdamW with a no-decay group (biases, norms), per-iteration warm-up + poly learning rate, AMP on
CUDA (bf16, or fp16 with a GradScaler), gradient clipping, validation every
``cfg.train.eval_every`` steps through ``core.inference.Segmenter`` (the deployment path), the
best model kept on the *validation* split, and ``last.safetensors`` written atomically with
everything a resume needs (optimizer moments, step, RNG states). Data order is a pure function of
``(seed, step)``, so a resumed run continues exactly where the interrupted one stopped.

Run directory::

    config.yaml          resolved configuration
    train.log            log of rank 0
    metrics.csv          step, split, name, value (long format; TensorBoard too when installed)
    model.safetensors    best on validation (CroDiNo-KD: rgb.safetensors, depth.safetensors)
    last.safetensors     latest state, with optimizer/RNG/step as extra tensors
"""

from __future__ import annotations

import contextlib
import csv
from dataclasses import dataclass, field
import hashlib
import json
import logging
import math
from pathlib import Path
import random
import signal
import sys
import time
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler
from tqdm import tqdm

from training import distributed as ddp
from training.config import OptimConfig, TrainConfig, dump_config, to_dict

LOG = logging.getLogger(__name__)

EXIT_INTERRUPTED = 130
# Settings that do not change the training trajectory and may differ on resume.
RESUME_FREE_KEYS = frozenset({
    'train.num_workers', 'train.eval_every', 'train.checkpoint_every', 'train.log_every',
    'train.val_batch_size', 'data.validate',
})
_TASK_PREFIX = 'task/'
_OPTIM_PREFIX = 'optimizer/'
_RNG_PREFIX = 'rng/'


# --------------------------------------------------------------------------------------------
# Optimiser and schedule


def param_groups(module: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """
    AdamW groups: decay on conv/linear weights (ndim >= 2), none on biases and norm parameters.

    Frozen parameters (teachers) are left out.
    """
    decay, no_decay = [], []
    for _, p in module.named_parameters():
        if not p.requires_grad:
            continue
        (decay if p.ndim >= 2 else no_decay).append(p)
    return [
        {'params': decay, 'weight_decay': weight_decay},
        {'params': no_decay, 'weight_decay': 0.0},
    ]


def create_optimizer(module: nn.Module, cfg: OptimConfig) -> torch.optim.AdamW:
    """AdamW over the trainable parameters of ``module`` (the fused kernel: ~2x faster on CPU)."""
    groups = param_groups(module, cfg.weight_decay)
    try:
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, fused=True)
    except (RuntimeError, TypeError):  # a device without the fused kernel
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps)


def lr_at(step: int, cfg: OptimConfig, max_iters: int) -> float:
    """
    Learning rate of iteration ``step`` (0-based).

    Linear warm-up from ``warmup_start * lr`` to ``lr`` over ``warmup_iters`` steps, then
    ``min_lr + (lr - min_lr) * (1 - progress) ** poly_power`` with progress 0 -> 1 over the rest.
    """
    if step < cfg.warmup_iters:
        factor = cfg.warmup_start + (1.0 - cfg.warmup_start) * step / cfg.warmup_iters
        return cfg.lr * factor
    span = max(1, max_iters - cfg.warmup_iters)
    progress = min(1.0, (step - cfg.warmup_iters) / span)
    return cfg.min_lr + (cfg.lr - cfg.min_lr) * (1.0 - progress) ** cfg.poly_power


# --------------------------------------------------------------------------------------------
# Data order


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


# --------------------------------------------------------------------------------------------
# Reproducibility and resume state


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and all GPUs)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors = {'torch': torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f'cuda{i}'] = s
    np_state = np.random.get_state()
    tensors['numpy_keys'] = torch.from_numpy(np_state[1].astype(np.int64))
    py_version, py_state, py_gauss = random.getstate()
    tensors['python'] = torch.tensor(py_state, dtype=torch.int64)
    meta = {
        'numpy': [np_state[0], int(np_state[2]), int(np_state[3]), float(np_state[4])],
        'python': [py_version, py_gauss],
    }
    return tensors, meta


def _set_rng_state(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    torch.set_rng_state(tensors['torch'].to(torch.uint8))
    cuda = sorted(k for k in tensors if k.startswith('cuda'))
    if cuda and torch.cuda.is_available():
        states = [tensors[k].to(torch.uint8) for k in cuda][: torch.cuda.device_count()]
        torch.cuda.set_rng_state_all(states)
    name, pos, has_gauss, gauss = meta['numpy']
    np.random.set_state((name, tensors['numpy_keys'].numpy().astype(np.uint32), pos, has_gauss,
                         gauss))
    version, py_gauss = meta['python']
    random.setstate((version, tuple(int(v) for v in tensors['python'].tolist()), py_gauss))


def _parameter_digest(module: nn.Module) -> torch.Tensor:
    """64-bit digest of all trainable parameter bytes (equal on all ranks when in sync)."""
    h = hashlib.sha256()
    for p in module.parameters():
        if p.requires_grad:
            h.update(p.detach().to('cpu', copy=True).contiguous().view(-1).view(torch.uint8)
                     .numpy().tobytes())
    return torch.tensor(int.from_bytes(h.digest()[:8], 'little', signed=True),
                        dtype=torch.int64)


def _optimizer_tensors(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], Any]:
    sd = opt.state_dict()
    tensors, scalars = {}, {}
    for idx, state in sd['state'].items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                tensors[f'{idx}/{key}'] = value
            else:
                scalars[f'{idx}/{key}'] = value
    return tensors, {'param_groups': sd['param_groups'], 'scalars': scalars}


def _optimizer_state_dict(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        idx, key = name.split('/', 1)
        state.setdefault(int(idx), {})[key] = value
    for name, value in meta['scalars'].items():
        idx, key = name.split('/', 1)
        state.setdefault(int(idx), {})[key] = value
    return {'state': state, 'param_groups': meta['param_groups']}


# --------------------------------------------------------------------------------------------
# Outputs


class MetricsWriter:
    """Appends ``step, split, name, value`` rows to metrics.csv (and TensorBoard if present)."""

    def __init__(self, out_dir: Path, enabled: bool = True) -> None:
        self.enabled = enabled
        self._file = None
        self._tb = None
        if not enabled:
            return
        path = out_dir / 'metrics.csv'
        new = not path.exists()
        self._file = path.open('a', newline='', encoding='utf-8')
        self._csv = csv.writer(self._file)
        if new:
            self._csv.writerow(['step', 'split', 'name', 'value'])
        try:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(out_dir / 'tensorboard'))
        except ImportError:
            self._tb = None

    def write(self, step: int, split: str, values: dict[str, float]) -> None:
        """Record scalar ``values`` of ``split`` ('train', 'val/<model>') at ``step``."""
        if not self.enabled:
            return
        for name, value in values.items():
            self._csv.writerow([step, split, name, f'{float(value):.6g}'])
            if self._tb is not None:
                self._tb.add_scalar(f'{split}/{name}', float(value), step)
        self._file.flush()

    def close(self) -> None:
        """Flush and close."""
        if self._file is not None:
            self._file.close()
        if self._tb is not None:
            self._tb.close()


def _setup_logging(out_dir: Path, is_main: bool) -> logging.Handler | None:
    if not is_main:
        return None
    handler = logging.FileHandler(out_dir / 'train.log', encoding='utf-8')
    handler.setFormatter(logging.Formatter('%(asctime)s %(levelname)s %(name)s: %(message)s'))
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return handler


def _remove_handler(handler: logging.Handler | None) -> None:
    if handler is not None:
        logging.getLogger().removeHandler(handler)
        handler.close()


class _StopFlag:
    """First Ctrl-C (SIGINT/SIGTERM): finish the step, save, exit 130. Second: abort now."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopFlag:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread
                pass
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        LOG.warning('interrupt received: stopping after this step (again to abort now)')

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


# --------------------------------------------------------------------------------------------
# The run


@dataclass
class TrainState:
    """What changes during training besides weights and optimizer moments."""

    step: int = 0  # completed optimisation steps
    best: dict[str, float] = field(default_factory=dict)  # export name -> best val mIoU
    best_step: dict[str, int] = field(default_factory=dict)  # export name -> step of best
    samples_seen: int = 0  # training samples consumed (global)


def _autocast(device: str, amp: str) -> contextlib.AbstractContextManager:
    if not device.startswith('cuda') or amp == 'off':
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if amp == 'bf16' else torch.float16
    return torch.autocast('cuda', dtype=dtype)


def _freeze_batchnorm(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()


class Trainer:
    """Holds the pieces of one run; ``fit()`` is the loop."""

    def __init__(self, cfg: TrainConfig, out_dir: str | Path, dist: ddp.DistInfo) -> None:
        from training.data import create_dataset
        from training.data.dataset import create_reader
        from training.methods import create_task

        self.cfg = cfg
        self.out_dir = Path(out_dir)
        self.dist = dist
        self.device = dist.device
        if dist.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        ddp.barrier()
        self._log_handler = _setup_logging(self.out_dir, dist.is_main)
        try:
            seed_everything(cfg.train.seed)
            # the class count is checked before any file of the dataset is read
            labels = create_reader(cfg.data, 'train').labels
            if labels.num_classes != cfg.model.num_classes:
                raise ValueError(
                    f'model.num_classes is {cfg.model.num_classes} but the data has '
                    f'{labels.num_classes} classes ({labels.name}); set '
                    f'--set model.num_classes={labels.num_classes}'
                )
            self.train_set = create_dataset(cfg.data, 'train')
            self.val_set = create_dataset(cfg.data, 'val')
            self.labels = self.train_set.labels
            self.task = create_task(cfg).to(self.device)
            if cfg.train.sync_bn and dist.enabled and self.device.startswith('cuda'):
                for student in self.task.students().values():
                    setattr(self.task, self._attr_of(student),
                            nn.SyncBatchNorm.convert_sync_batchnorm(student))
            self.optimizer = create_optimizer(self.task, cfg.optim)
            self.scaler = torch.amp.GradScaler(
                'cuda', enabled=self.device.startswith('cuda') and cfg.train.amp == 'fp16'
            )
            self.state = TrainState()
            # Runtime randomness (masks, MixUp) differs per rank; initial weights do not.
            seed_everything(cfg.train.seed + 1_000_003 * dist.rank)
            self.model: nn.Module = self.task
            if dist.enabled:
                self.model = nn.parallel.DistributedDataParallel(
                    self.task,
                    device_ids=[torch.device(self.device).index] if self.device.startswith('cuda')
                    else None,
                    find_unused_parameters=self.task.find_unused_parameters,
                )
        except BaseException:
            _remove_handler(self._log_handler)
            raise
        self.metrics = MetricsWriter(self.out_dir, enabled=dist.is_main)

    def _attr_of(self, module: nn.Module) -> str:
        for name, child in self.task.named_children():
            if child is module:
                return name
        raise ValueError('student is not a direct child of the task')

    # ---- checkpoints ----------------------------------------------------------------------

    def _meta(self, name: str, model: nn.Module, metrics: dict[str, Any]) -> dict[str, Any]:
        cfg = self.cfg
        return {
            'labels': self.labels,
            'input_size': tuple(self.cfg.data.crop_size),
            'provenance': {
                'method': cfg.method,
                'export': name,
                'dataset': self.train_set.name,
                'metrics': metrics,
                'step': self.state.step,
                'config': to_dict(cfg),
            },
        }

    def save_best(self, name: str, metrics: dict[str, Any]) -> None:
        """Write ``model.safetensors`` (or ``rgb``/``depth``) for export ``name`` (rank 0)."""
        from rgbd_seg_ros.core.checkpoint import save_checkpoint

        model = self.task.students()[name]
        save_checkpoint(self.out_dir / f'{name}.safetensors', model,
                         self._meta(name, model, metrics))

    def save_last(self) -> None:
        """Write ``last.safetensors``: first student + task/optimizer/RNG state (collective)."""
        from rgbd_seg_ros.core.checkpoint import save_checkpoint

        rng_tensors, rng_meta = _rng_state()
        # Every rank's torch RNG (same shape everywhere) so a resume restores all of them.
        per_rank = ddp.gather_tensors(rng_tensors['torch'].to(self.device))
        digest = _parameter_digest(self.task).to(self.device)
        digests = [int(d) for d in ddp.gather_tensors(digest)]
        if len(set(digests)) > 1:
            LOG.error('model replicas differ between ranks at step %d: %s', self.state.step,
                      digests)
        if not self.dist.is_main:
            return
        name, model = next(iter(self.task.students().items()))
        prefix = self._attr_of(model) + '.'
        extra: dict[str, torch.Tensor] = {}
        for key, value in self.task.trainable_state_dict().items():
            if not key.startswith(prefix):
                extra[_TASK_PREFIX + key] = value
        opt_tensors, opt_meta = _optimizer_tensors(self.optimizer)
        extra.update({_OPTIM_PREFIX + k: v for k, v in opt_tensors.items()})
        extra.update({_RNG_PREFIX + k: v for k, v in rng_tensors.items()})
        for r, t in enumerate(per_rank):
            extra[f'{_RNG_PREFIX}rank{r}/torch'] = t.cpu()
        resume = {
            'step': self.state.step,
            'best': self.state.best,
            'best_step': self.state.best_step,
            'samples_seen': self.state.samples_seen,
            'world_size': self.dist.world_size,
            'replica_digests': digests,
            'optimizer': opt_meta,
            'rng': rng_meta,
            'scaler': self.scaler.state_dict() if self.scaler.is_enabled() else None,
        }
        meta = self._meta(name, model, {})
        meta['provenance']['resume'] = resume
        save_checkpoint(self.out_dir / 'last.safetensors', model, meta, extra_tensors=extra)

    def resume(self, path: Path) -> None:
        """Restore weights, optimizer, scaler, RNG and step from ``last.safetensors``."""
        from rgbd_seg_ros.core.checkpoint import load_checkpoint, read_extra_tensors

        model, meta = load_checkpoint(path, 'cpu')
        resume = meta.provenance.get('resume')
        if not resume:
            raise ValueError(f'{path} holds no resume state (not a last.safetensors)')
        saved_cfg = meta.provenance.get('config')
        diff = [d for d in _config_diff(saved_cfg or {}, json.loads(json.dumps(to_dict(self.cfg))))
                if d.split(':')[0] not in RESUME_FREE_KEYS]
        if saved_cfg is not None and diff:
            raise ValueError(
                f'cannot resume {path}: the configuration changed ({", ".join(diff[:5])}); '
                'resume with the same config or start a new run directory'
            )
        extra = read_extra_tensors(path)
        _, first = next(iter(self.task.students().items()))
        prefix = self._attr_of(first) + '.'
        state = {prefix + k: v for k, v in model.state_dict().items()}
        state.update({k[len(_TASK_PREFIX):]: v for k, v in extra.items()
                      if k.startswith(_TASK_PREFIX)})
        own = self.task.trainable_state_dict()
        missing = sorted(set(own) - set(state))
        if missing:
            raise ValueError(f'{path} lacks task tensors {missing[:5]}')
        self.task.load_state_dict(state, strict=False)
        opt_tensors = {k[len(_OPTIM_PREFIX):]: v for k, v in extra.items()
                       if k.startswith(_OPTIM_PREFIX)}
        self.optimizer.load_state_dict(_optimizer_state_dict(opt_tensors, resume['optimizer']))
        if resume.get('scaler') and self.scaler.is_enabled():
            self.scaler.load_state_dict(resume['scaler'])
        rng = {k[len(_RNG_PREFIX):]: v for k, v in extra.items() if k.startswith(_RNG_PREFIX)}
        own_rank = rng.get(f'rank{self.dist.rank}/torch')
        if resume.get('world_size') == self.dist.world_size and own_rank is not None:
            rng['torch'] = own_rank
        _set_rng_state(rng, resume['rng'])
        self.state = TrainState(
            step=int(resume['step']), best=dict(resume['best']),
            best_step={k: int(v) for k, v in resume['best_step'].items()},
            samples_seen=int(resume['samples_seen']),
        )
        LOG.info('resumed from %s at step %d', path, self.state.step)

    # ---- evaluation -----------------------------------------------------------------------

    def validate(self) -> dict[str, dict[str, Any]]:
        """Val mIoU etc. of every exported model (all ranks; confusion matrices all-reduced)."""
        from rgbd_seg_ros.core.checkpoint import CheckpointMeta
        from rgbd_seg_ros.core.inference import Segmenter
        from training.evaluate import evaluate

        loader = val_loader(self.val_set, self.cfg.train.val_batch_size,
                            self.cfg.train.num_workers, self.dist.rank, self.dist.world_size)
        # BatchNorm running statistics drift per rank (DDP broadcasts them before each forward,
        # then every rank updates its own): evaluate everywhere with rank 0's.
        ddp.broadcast_buffers(self.task)
        results = {}
        for name, model in self.task.students().items():
            meta = CheckpointMeta.from_dict({
                'model': model.cfg.to_dict(), 'labels': self.labels.to_dict(),
                'input_size': list(self.cfg.data.crop_size),
            })
            segmenter = Segmenter(model, meta, device=self.device)
            results[name] = evaluate(segmenter, loader, progress=False)
        self.task.train()
        if self.cfg.train.freeze_bn:
            _freeze_batchnorm(self.task)
        return results

    # ---- the loop -------------------------------------------------------------------------

    def fit(self, stop_after: int | None = None) -> int:
        """Train until ``max_iters`` (or ``stop_after`` more steps); returns an exit code."""
        cfg, tcfg = self.cfg, self.cfg.train
        is_main = self.dist.is_main
        end = tcfg.max_iters if stop_after is None else min(
            tcfg.max_iters, self.state.step + stop_after)
        sampler = StepSampler(tcfg.batch_size, tcfg.seed, self.state.step, end,
                              self.dist.rank, self.dist.world_size)
        loader = train_loader(PositionDataset(self.train_set, tcfg.seed), sampler,
                              tcfg.num_workers, pin=self.device.startswith('cuda'))
        self.task.train()
        if tcfg.freeze_bn:
            _freeze_batchnorm(self.task)
        trainable = [p for p in self.task.parameters() if p.requires_grad]
        bar = tqdm(total=tcfg.max_iters, initial=self.state.step, disable=not is_main,
                   dynamic_ncols=True, desc=cfg.method,
                   mininterval=0.1 if sys.stderr.isatty() else 10.0)
        window_t, window_n = time.perf_counter(), 0
        interrupted = False
        with _StopFlag() as stop:
            for batch in loader:
                step = self.state.step
                lr = lr_at(step, cfg.optim, tcfg.max_iters)
                for group in self.optimizer.param_groups:
                    group['lr'] = lr
                batch = to_device(batch, self.device)
                with _autocast(self.device, tcfg.amp):
                    out = self.model(batch)
                loss = out['loss']
                if not torch.isfinite(loss):
                    raise FloatingPointError(
                        f'loss is {loss.item()} at step {step} (parts: '
                        f'{ {k: float(v) for k, v in out.items()} }); lower optim.lr or '
                        'use train.amp=bf16'
                    )
                self.scaler.scale(loss).backward()
                if cfg.optim.grad_clip > 0:
                    self.scaler.unscale_(self.optimizer)
                    torch.nn.utils.clip_grad_norm_(trainable, cfg.optim.grad_clip)
                self.scaler.step(self.optimizer)
                self.scaler.update()
                self.optimizer.zero_grad(set_to_none=True)
                self.state.step = step + 1
                self.state.samples_seen += tcfg.batch_size
                window_n += tcfg.batch_size
                if self.state.step % tcfg.log_every == 0 or self.state.step == end:
                    parts = {k: float(v.detach()) for k, v in out.items()}
                    parts = ddp.all_reduce_mean(parts, self.device)
                    rate = window_n / max(1e-9, time.perf_counter() - window_t)
                    window_t, window_n = time.perf_counter(), 0
                    self.metrics.write(self.state.step, 'train',
                                       {**parts, 'lr': lr, 'images_per_s': rate})
                    bar.set_postfix(loss=f'{parts["loss"]:.3f}', lr=f'{lr:.2e}',
                                    img_s=f'{rate:.1f}')
                bar.update(1)
                done = self.state.step == tcfg.max_iters
                if (tcfg.eval_every and self.state.step % tcfg.eval_every == 0) or done:
                    self._validate_and_keep_best()
                if (tcfg.checkpoint_every and self.state.step % tcfg.checkpoint_every == 0) or (
                    self.state.step == end
                ):
                    self.save_last()
                if ddp.any_rank(stop.requested, self.device):
                    interrupted = True
                    if self.state.step != end:
                        self.save_last()
                    break
        bar.close()
        if interrupted:
            LOG.warning('interrupted at step %d; resume with --resume', self.state.step)
            return EXIT_INTERRUPTED
        if is_main and self.state.step == tcfg.max_iters:
            summary = {name: {'best_miou': self.state.best.get(name),
                              'best_step': self.state.best_step.get(name)}
                       for name in self.task.students()}
            LOG.info('finished %d steps: %s', self.state.step, summary)
        return 0

    def _validate_and_keep_best(self) -> None:
        t0 = time.perf_counter()
        results = self.validate()
        for name, res in results.items():
            scalars = {'miou': res['miou'], 'pixel_acc': res['pixel_acc'],
                       'mean_acc': res['mean_acc']}
            self.metrics.write(self.state.step, f'val/{name}', scalars)
            improved = res['miou'] > self.state.best.get(name, -math.inf)
            if improved:
                self.state.best[name] = res['miou']
                self.state.best_step[name] = self.state.step
                if self.dist.is_main:
                    self.save_best(name, {'val_miou': res['miou'],
                                          'val_pixel_acc': res['pixel_acc'],
                                          'step': self.state.step})
            LOG.info('step %d val %s: mIoU %.4f pixel acc %.4f%s (%.1f s)', self.state.step,
                     name, res['miou'], res['pixel_acc'], ' (best)' if improved else '',
                     time.perf_counter() - t0)

    def close(self) -> None:
        """Close files and detach the log handler."""
        self.metrics.close()
        _remove_handler(self._log_handler)


def _config_diff(a: Any, b: Any, path: str = '') -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += _config_diff(a.get(k), b.get(k), f'{path}.{k}' if path else k)
        return out
    return [] if a == b else [f'{path}: {a!r} -> {b!r}']


def fit(
    cfg: TrainConfig, out_dir: str | Path, resume: bool = False, stop_after: int | None = None,
) -> int:
    """
    Train ``cfg`` into ``out_dir``; the entry point of ``python -m training.train``.

    :param resume: continue from ``out_dir/last.safetensors`` when it exists.
    :param stop_after: stop (saving ``last``) after this many steps of this invocation.
    :returns: 0 when done or stopped as asked, 130 after Ctrl-C.
    """
    dist = ddp.init_distributed(cfg.train.device)
    trainer = None
    try:
        trainer = Trainer(cfg, out_dir, dist)
        last = trainer.out_dir / 'last.safetensors'
        if resume and last.exists():
            trainer.resume(last)
        elif resume:
            LOG.info('no %s yet: starting from scratch', last)
        elif last.exists():
            raise ValueError(
                f'{trainer.out_dir} already holds a run (last.safetensors); pass --resume to '
                'continue it or choose another --out'
            )
        if dist.is_main:
            (trainer.out_dir / 'config.yaml').write_text(dump_config(cfg), encoding='utf-8')
        if trainer.state.step >= cfg.train.max_iters:
            LOG.info('nothing to do: %s is at step %d of %d', last, trainer.state.step,
                     cfg.train.max_iters)
            return 0
        return trainer.fit(stop_after)
    finally:
        if trainer is not None:
            trainer.close()
        ddp.cleanup_distributed()
