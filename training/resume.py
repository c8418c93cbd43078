# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Resume state of the training loop: seeding, RNG states, optimizer state as tensors, and
``last.safetensors`` (first student + task/optimizer/RNG tensors + step) written and read back.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
import random
from typing import Any

import numpy as np
import torch
from torch import nn

from rgbd_seg_ros.core.checkpoint import load_checkpoint, read_extra_tensors, save_checkpoint
from training import distributed as ddp
from training.config_io import to_dict

LOG = logging.getLogger('training.engine')

# Settings that do not change the training trajectory and may differ on resume.
RESUME_FREE_KEYS = frozenset({
    'train.num_workers', 'train.eval_every', 'train.checkpoint_every', 'train.log_every',
    'train.val_batch_size', 'data.validate',
})
_TASK_PREFIX = 'task/'
_OPTIM_PREFIX = 'optimizer/'
_RNG_PREFIX = 'rng/'


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


def _config_diff(a: Any, b: Any, path: str = '') -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += _config_diff(a.get(k), b.get(k), f'{path}.{k}' if path else k)
        return out
    return [] if a == b else [f'{path}: {a!r} -> {b!r}']


def save_last(trainer: Any) -> None:
    """Write ``last.safetensors``: first student + task/optimizer/RNG state (collective)."""
    rng_tensors, rng_meta = _rng_state()
    # Every rank's torch RNG (same shape everywhere) so a resume restores all of them.
    per_rank = ddp.gather_tensors(rng_tensors['torch'].to(trainer.device))
    digest = _parameter_digest(trainer.task).to(trainer.device)
    digests = [int(d) for d in ddp.gather_tensors(digest)]
    if len(set(digests)) > 1:
        LOG.error('model replicas differ between ranks at step %d: %s', trainer.state.step,
                  digests)
    if not trainer.dist.is_main:
        return
    name, model = next(iter(trainer.task.students().items()))
    prefix = trainer.student_attr(model) + '.'
    extra: dict[str, torch.Tensor] = {}
    for key, value in trainer.task.trainable_state_dict().items():
        if not key.startswith(prefix):
            extra[_TASK_PREFIX + key] = value
    opt_tensors, opt_meta = _optimizer_tensors(trainer.optimizer)
    extra.update({_OPTIM_PREFIX + k: v for k, v in opt_tensors.items()})
    extra.update({_RNG_PREFIX + k: v for k, v in rng_tensors.items()})
    for r, t in enumerate(per_rank):
        extra[f'{_RNG_PREFIX}rank{r}/torch'] = t.cpu()
    resume = {
        'step': trainer.state.step,
        'best': trainer.state.best,
        'best_step': trainer.state.best_step,
        'samples_seen': trainer.state.samples_seen,
        'world_size': trainer.dist.world_size,
        'replica_digests': digests,
        'optimizer': opt_meta,
        'rng': rng_meta,
        'scaler': trainer.scaler.state_dict() if trainer.scaler.is_enabled() else None,
    }
    meta = trainer.checkpoint_meta(name, model, {})
    meta['provenance']['resume'] = resume
    save_checkpoint(trainer.out_dir / 'last.safetensors', model, meta, extra_tensors=extra)


def resume(trainer: Any, path: Path) -> None:
    """Restore weights, optimizer, scaler, RNG and step from ``last.safetensors``."""
    model, meta = load_checkpoint(path, 'cpu')
    resume = meta.provenance.get('resume')
    if not resume:
        raise ValueError(f'{path} holds no resume state (not a last.safetensors)')
    saved_cfg = meta.provenance.get('config')
    current = json.loads(json.dumps(to_dict(trainer.cfg)))
    diff = [d for d in _config_diff(saved_cfg or {}, current)
            if d.split(':')[0] not in RESUME_FREE_KEYS]
    if saved_cfg is not None and diff:
        raise ValueError(
            f'cannot resume {path}: the configuration changed ({", ".join(diff[:5])}); '
            'resume with the same config or start a new run directory'
        )
    extra = read_extra_tensors(path)
    _, first = next(iter(trainer.task.students().items()))
    prefix = trainer.student_attr(first) + '.'
    state = {prefix + k: v for k, v in model.state_dict().items()}
    state.update({k[len(_TASK_PREFIX):]: v for k, v in extra.items()
                  if k.startswith(_TASK_PREFIX)})
    own = trainer.task.trainable_state_dict()
    missing = sorted(set(own) - set(state))
    if missing:
        raise ValueError(f'{path} lacks task tensors {missing[:5]}')
    trainer.task.load_state_dict(state, strict=False)
    opt_tensors = {k[len(_OPTIM_PREFIX):]: v for k, v in extra.items()
                   if k.startswith(_OPTIM_PREFIX)}
    trainer.optimizer.load_state_dict(_optimizer_state_dict(opt_tensors, resume['optimizer']))
    if resume.get('scaler') and trainer.scaler.is_enabled():
        trainer.scaler.load_state_dict(resume['scaler'])
    rng = {k[len(_RNG_PREFIX):]: v for k, v in extra.items() if k.startswith(_RNG_PREFIX)}
    own_rank = rng.get(f'rank{trainer.dist.rank}/torch')
    if resume.get('world_size') == trainer.dist.world_size and own_rank is not None:
        rng['torch'] = own_rank
    _set_rng_state(rng, resume['rng'])
    trainer.state = type(trainer.state)(
        step=int(resume['step']), best=dict(resume['best']),
        best_step={k: int(v) for k, v in resume['best_step'].items()},
        samples_seen=int(resume['samples_seen']),
    )
    LOG.info('resumed from %s at step %d', path, trainer.state.step)
