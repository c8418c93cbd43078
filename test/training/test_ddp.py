# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Two CPU processes (gloo, through torchrun) against one process on the same global batch.

Why the weights can match: DDP averages the ranks' gradients, and each rank's loss is the mean
cross-entropy over its own pixels. That equals the gradient of the single-process mean over the
global batch exactly when every image has the same number of labelled pixels, and when nothing
in the forward depends on the batch composition. So the test uses (1) a backbone without
BatchNorm (timm's ``test_convnext``, LayerNorm) and ``train.freeze_bn=true`` for the decoder's
BatchNorm layers (eval-mode BN uses running statistics, not batch statistics; SyncBN would also
work, but it is CUDA-only), (2) no dropout, (3) scale 1 with crop = image size (no padding
pixels) and a synthetic seed whose first frames have no ignore pixels. The data stream is
addressed by global position, so rank r reads exactly the images single-process training puts at
its slice of the global batch.
"""

import os
from pathlib import Path
import socket
import subprocess
import sys

import numpy as np
from safetensors.torch import load_file

from rgbd_seg_ros.core.checkpoint import inspect_checkpoint
from training.train import main

REPO = Path(__file__).resolve().parents[2]
STEPS, BATCH = 3, 4


def _clean_seed(frames: int) -> int:
    """First synthetic seed whose first ``frames`` training frames have no ignore pixels."""
    from rgbd_seg_ros.sim import sample_frame
    from training.data.synthetic import split_seed

    for seed in range(50):
        if all((sample_frame(split_seed(seed, 'train'), i, 80, 64).label != 255).all()
               for i in range(frames)):
            return seed
    raise AssertionError('no synthetic seed without ignore pixels found')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _sets(seed: int) -> list[str]:
    items = [
        'model.num_classes=14', 'model.backbone=test_convnext', 'model.decoder=light',
        'model.embed_dim=16', 'model.decoder_dropout=0.0', 'data.size=(64, 80)',
        'data.crop_size=(64, 80)', 'data.scales=(1.0,)', f'data.synthetic_seed={seed}',
        'data.synthetic_val_length=2', f'train.batch_size={BATCH}', 'train.num_workers=0',
        'train.val_batch_size=1', f'train.max_iters={STEPS}', 'train.eval_every=0',
        'train.checkpoint_every=0', 'train.freeze_bn=True', 'train.device=cpu',
        'optim.lr=1e-3', 'optim.grad_clip=1.0',
    ]
    out = []
    for item in items:
        out += ['--set', item]
    return out


def test_two_gloo_ranks_match_single_process(tmp_path):
    seed = _clean_seed(STEPS * BATCH)
    single = tmp_path / 'single'
    assert main(['--out', str(single)] + _sets(seed)) == 0

    env = dict(os.environ, OMP_NUM_THREADS='1', GLOO_SOCKET_IFNAME='lo',
               PYTHONPATH=str(REPO), MASTER_ADDR='127.0.0.1')
    for key in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK'):
        env.pop(key, None)
    double = tmp_path / 'ddp'
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nnodes', '1', '--nproc_per_node',
           '2', '--master_addr', '127.0.0.1', '--master_port', str(_free_port()),
           '-m', 'training.train', '--out', str(double)] + _sets(seed)
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]

    resume = inspect_checkpoint(double / 'last.safetensors')['metadata']['provenance']['resume']
    assert resume['world_size'] == 2 and resume['step'] == STEPS
    digests = resume['replica_digests']
    assert len(digests) == 2 and digests[0] == digests[1], 'ranks ended with different weights'

    a = load_file(str(single / 'last.safetensors'))
    b = load_file(str(double / 'last.safetensors'))
    weights = [k for k in a if not k.startswith('extra/') and a[k].is_floating_point()]
    assert weights
    # Tolerance far below one update (lr 1e-3 per step): only summation-order noise may differ.
    for key in weights:
        np.testing.assert_allclose(b[key].numpy(), a[key].numpy(), rtol=1e-4, atol=2e-6,
                                   err_msg=key)
    assert (double / 'model.safetensors').exists() and (double / 'metrics.csv').exists()
