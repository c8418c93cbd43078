# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""The training loop: schedule, parameter groups, data order, resume equality, Ctrl-C."""

import os
import signal

import pytest
from safetensors.torch import load_file
import torch
from torch import nn

from training import engine
from training.config import OptimConfig
from training.loader import PositionDataset, StepSampler
from training.optim import lr_at, param_groups
from training.train import main

# Tiny settings: timm's test_convnext + light head at 64x80, two images per step, no workers.
TINY = [
    'model.num_classes=14', 'model.backbone=test_convnext', 'model.decoder=light',
    'model.embed_dim=16', 'model.decoder_dropout=0.0', 'data.size=(64, 80)',
    'data.crop_size=(64, 80)', 'data.synthetic_val_length=2', 'train.batch_size=2',
    'train.num_workers=0', 'train.val_batch_size=2', 'train.log_every=1', 'optim.lr=1e-3',
    'optim.warmup_iters=1',
]


def _argv(out, *extra):
    argv = ['--out', str(out)]
    for item in TINY + list(extra):
        argv += ['--set', item]
    return argv


def test_lr_schedule_closed_form():
    cfg = OptimConfig(lr=1.0, warmup_iters=4, warmup_start=0.2, poly_power=1.0, min_lr=0.1)
    assert lr_at(0, cfg, 14) == pytest.approx(0.2)
    assert lr_at(2, cfg, 14) == pytest.approx(0.2 + 0.8 * 2 / 4)
    assert lr_at(4, cfg, 14) == pytest.approx(1.0)
    assert lr_at(9, cfg, 14) == pytest.approx(0.1 + 0.9 * 0.5)  # half way through the decay
    assert lr_at(14, cfg, 14) == pytest.approx(0.1)
    poly = OptimConfig(lr=2.0, poly_power=0.9)
    assert lr_at(5, poly, 10) == pytest.approx(2.0 * 0.5 ** 0.9)


def test_param_groups_exclude_biases_norms_and_frozen():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Linear(4, 2))
    model[2].requires_grad_(False)
    decay, no_decay = param_groups(model, 0.05)
    assert decay['weight_decay'] == 0.05 and no_decay['weight_decay'] == 0.0
    assert [tuple(p.shape) for p in decay['params']] == [(4, 3, 3, 3)]
    assert sorted(tuple(p.shape) for p in no_decay['params']) == [(4,), (4,), (4,)]


def test_step_sampler_shards_global_batches():
    whole = list(StepSampler(4, seed=0, start_step=0, end_step=3))
    assert whole == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    ranks = [list(StepSampler(4, 0, 0, 3, rank=r, world_size=2)) for r in range(2)]
    assert [a + b for a, b in zip(*ranks)] == whole
    assert list(StepSampler(4, 0, 2, 3)) == whole[2:]
    with pytest.raises(ValueError, match='divisible'):
        StepSampler(3, 0, 0, 1, world_size=2)


class _Reader:
    labels = None
    name = 'toy'

    def __len__(self):
        return 5

    def __getitem__(self, i):
        return i


class _Toy:
    """Just enough of RGBDDataset for PositionDataset.index."""

    reader = _Reader()
    hha_cache = None
    transform = None

    def __len__(self):
        return 5


def test_position_dataset_permutes_each_epoch_once():
    ds = PositionDataset(_Toy(), seed=3)
    epoch0 = [ds.index(p) for p in range(5)]
    epoch1 = [ds.index(p) for p in range(5, 10)]
    assert sorted(epoch0) == sorted(epoch1) == [0, 1, 2, 3, 4]
    assert [PositionDataset(_Toy(), seed=3).index(p) for p in range(5)] == epoch0


def test_train_samples_depend_on_position_only():
    from training.config_io import load_config
    from training.data import create_dataset

    cfg = load_config(None, TINY)
    a = PositionDataset(create_dataset(cfg.data, 'train'), seed=0)
    b = PositionDataset(create_dataset(cfg.data, 'train'), seed=0)
    b[5]  # a different history must not change what position 3 gives
    s1, s2 = a[3], b[3]
    for key in ('rgb', 'depth_m', 'label', 'K'):
        assert torch.equal(s1[key], s2[key]), key
    assert not torch.equal(a[4]['rgb'], s1['rgb'])


def _weights(path):
    return load_file(str(path))


def test_resume_continues_exactly(tmp_path):
    steps = ['train.max_iters=4', 'train.eval_every=2', 'train.checkpoint_every=0']
    assert main(_argv(tmp_path / 'full', *steps)) == 0
    # Interrupted run: 2 steps, "killed", resumed with a data worker process this time.
    assert main(_argv(tmp_path / 'cut', *steps) + ['--stop-after', '2']) == 0
    half = _weights(tmp_path / 'cut' / 'last.safetensors')
    assert main(_argv(tmp_path / 'cut', *steps, 'optim.lr=0.5') + ['--resume']) == 2
    # (another trajectory is refused; data workers are not part of the trajectory)
    assert main(_argv(tmp_path / 'cut', *steps, 'train.num_workers=1') + ['--resume']) == 0
    full = _weights(tmp_path / 'full' / 'last.safetensors')
    cut = _weights(tmp_path / 'cut' / 'last.safetensors')
    assert set(full) == set(cut)
    changed = [k for k in half if not k.startswith('extra/') and not torch.equal(half[k], cut[k])]
    assert changed, 'the resumed run did not train'
    for key in full:
        if key.startswith('extra/rng'):
            continue
        assert torch.equal(full[key], cut[key]), key
    assert (tmp_path / 'cut' / 'model.safetensors').exists()
    lines = (tmp_path / 'cut' / 'metrics.csv').read_text().splitlines()
    assert lines[0] == 'step,split,name,value'
    assert any(line.startswith('4,val/model,miou,') for line in lines)


def test_existing_run_needs_resume(tmp_path, capsys):
    argv = _argv(tmp_path, 'train.max_iters=1', 'train.eval_every=0')
    assert main(argv) == 0
    assert main(argv) == 2
    assert '--resume' in capsys.readouterr().err
    assert main(argv + ['--resume']) == 0  # already complete: nothing to do


def test_ctrl_c_saves_last_and_exits_130(tmp_path, monkeypatch):
    real_lr_at = engine.lr_at

    def lr_at_with_interrupt(step, cfg, max_iters):
        if step == 1:
            os.kill(os.getpid(), signal.SIGINT)
        return real_lr_at(step, cfg, max_iters)

    monkeypatch.setattr(engine, 'lr_at', lr_at_with_interrupt)
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when pytest runs as a background job
    rc = main(_argv(tmp_path, 'train.max_iters=50', 'train.eval_every=0',
                    'train.checkpoint_every=0'))
    assert rc == 130
    from rgbd_seg_ros.core.checkpoint import inspect_checkpoint

    meta = inspect_checkpoint(tmp_path / 'last.safetensors')['metadata']
    assert meta['provenance']['resume']['step'] == 2  # the running step was completed
    assert signal.getsignal(signal.SIGINT) is before  # the caller's handler is restored


@pytest.mark.cuda
@pytest.mark.parametrize('amp', ['bf16', 'fp16'])
def test_cuda_amp_steps(tmp_path, amp):
    if not torch.cuda.is_available():
        pytest.skip('no CUDA device')
    assert main(_argv(tmp_path, 'train.max_iters=3', 'train.eval_every=3',
                      'train.device=cuda', f'train.amp={amp}', 'optim.grad_clip=1.0')) == 0
    assert (tmp_path / 'model.safetensors').exists()
