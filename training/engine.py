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

The pieces around the loop live beside it: ``optim.py`` (AdamW groups, the schedule),
``loader.py`` (step-indexed sampling and loaders), ``resume.py`` (seeding, RNG and optimizer
state, ``last.safetensors``) and ``run_log.py`` (``metrics.csv``, ``train.log``).

Run directory::

    config.yaml          resolved configuration
    train.log            log of rank 0
    metrics.csv          step, split, name, value (long format; TensorBoard too when installed)
    model.safetensors    best on validation (CroDiNo-KD: rgb.safetensors, depth.safetensors)
    last.safetensors     latest state, with optimizer/RNG/step as extra tensors
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
import logging
import math
from pathlib import Path
import signal
import sys
import time
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from training import distributed as ddp
from training import resume as resume_state
from training.config import TrainConfig
from training.config_io import dump_config, to_dict
from training.loader import (  # noqa: F401 - val_loader: bench.methods imports it from here
    PositionDataset,
    StepSampler,
    to_device,
    train_loader,
    val_loader,
)
from training.optim import create_optimizer, lr_at
from training.resume import seed_everything
from training.run_log import MetricsWriter, remove_handler, setup_run_logging

LOG = logging.getLogger(__name__)

EXIT_INTERRUPTED = 130


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
        self._log_handler = setup_run_logging(self.out_dir, dist.is_main)
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
                    setattr(self.task, self.student_attr(student),
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
            remove_handler(self._log_handler)
            raise
        self.metrics = MetricsWriter(self.out_dir, enabled=dist.is_main)

    def student_attr(self, module: nn.Module) -> str:
        """The task attribute holding student ``module`` (its state-dict key prefix)."""
        for name, child in self.task.named_children():
            if child is module:
                return name
        raise ValueError('student is not a direct child of the task')

    # ---- checkpoints ----------------------------------------------------------------------

    def checkpoint_meta(self, name: str, model: nn.Module, metrics: dict[str, Any]
                        ) -> dict[str, Any]:
        """Checkpoint metadata of export ``name`` (labels, input size, provenance)."""
        from training.imagenet import init_provenance

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
                'init': init_provenance(model.cfg),
                'config': to_dict(cfg),
            },
        }

    def save_best(self, name: str, metrics: dict[str, Any]) -> None:
        """Write ``model.safetensors`` (or ``rgb``/``depth``) for export ``name`` (rank 0)."""
        from rgbd_seg_ros.core.checkpoint import save_checkpoint

        model = self.task.students()[name]
        save_checkpoint(self.out_dir / f'{name}.safetensors', model,
                         self.checkpoint_meta(name, model, metrics))

    def save_last(self) -> None:
        """Write ``last.safetensors``: first student + task/optimizer/RNG state (collective)."""
        resume_state.save_last(self)

    def resume(self, path: Path) -> None:
        """Restore weights, optimizer, scaler, RNG and step from ``last.safetensors``."""
        resume_state.resume(self, path)

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
                'normalization': model.normalization.to_dict(),
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
            if res['miou'] is None:
                raise ValueError(f'validation of {name}: no labelled pixel in the validation '
                                 'split (every label is the ignore value); check data.val_split')
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
        remove_handler(self._log_handler)


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
