# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""tools.deploy: from tiny trained runs to a folder a real node process starts on."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
import time

import numpy as np
import pytest
from ros_test_helpers import start_module, stop_process, write_params
from safetensors import safe_open
import torch

from rgbd_seg_ros.core.checkpoint import load_checkpoint, load_meta
from rgbd_seg_ros.core.models import MODALITY_CHANNELS
from tools.deploy import main
from training.train import main as train_main

REPO = Path(__file__).resolve().parents[2]
TINY = ['model.backbone=test_convnext', 'model.pretrained=', 'model.embed_dim=16',
        'model.ffm_head_dim=8', 'data.size=(32, 40)', 'data.crop_size=(32, 40)',
        'data.synthetic_train_length=4', 'data.synthetic_val_length=2', 'train.num_workers=0',
        'train.eval_every=2', 'train.batch_size=2', 'train.val_batch_size=2',
        'optim.warmup_iters=1']


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp('deploy_runs')
    out = {}
    for name in ('rgb', 'rgbd', 'rgbd_dropout'):
        config = name.removesuffix('_dropout')
        argv = ['--config', str(REPO / 'training' / 'configs' / f'demo_{config}.yaml'),
                '--out', str(root / name), '--max-iters', '2',
                '--set', f'data.synthetic_cache={root / "frames"}']
        for kv in TINY + (['data.depth_dropout_p=0.3'] if name == 'rgbd_dropout' else []):
            argv += ['--set', kv]
        assert train_main(argv) == 0
        out[name] = root / name / 'model.safetensors'
    return out


def test_deploy_writes_checked_fp16_bundles_and_onnx(tmp_path, runs, capsys):
    out = tmp_path / 'robot'
    assert main(['--fusion', str(runs['rgbd']), '--rgb', str(runs['rgb']), '--out', str(out),
                 '--onnx']) == 0
    printed = capsys.readouterr().out
    bundle = out / 'rgbd.safetensors'
    assert f'fusion_model:={bundle.resolve()}' in printed and 'ros2 launch' in printed
    for name in ('rgbd', 'rgb'):
        path = out / f'{name}.safetensors'
        assert path.stat().st_mode & 0o777 == 0o644  # the node's user can read it
        with safe_open(str(path), 'pt') as f:
            assert {f.get_slice(k).get_dtype() for k in f.keys()} <= {'F16', 'I64'}
        deployed = load_meta(path).provenance['deploy']
        digest = hashlib.sha256(runs[name].read_bytes()).hexdigest()
        assert deployed == {'source': str(runs[name]), 'source_sha256': digest,
                            'dtype': 'float16'}
    report = json.loads((out / 'deploy.json').read_text())
    assert set(report['modes']) == {'rgbd', 'rgb'}
    assert runs['rgbd'].stat().st_mode & 0o777 == 0o644  # training checkpoints too (was 0600)
    # the ONNX graph computes what the source checkpoint does on the documented inputs
    import onnxruntime as ort

    model, meta = load_checkpoint(runs['rgbd'])
    h, w = meta.input_size
    g = torch.Generator().manual_seed(3)
    inputs = {m: torch.randn(1, MODALITY_CHANNELS[m], h, w, generator=g)
              for m in meta.modalities}
    session = ort.InferenceSession(str(out / 'rgbd.onnx'), providers=['CPUExecutionProvider'])
    got = session.run(['logits'], {k: v.numpy() for k, v in inputs.items()})[0]
    with torch.inference_mode():
        ref = model(inputs).numpy()
    assert got.shape == ref.shape and np.abs(got - ref).max() < 0.05  # fp16 weights
    doc = (out / 'ONNX.md').read_text()
    assert 'computed outside the graph' in doc and f'`hha` [B, 3, {h}, {w}]' in doc


def test_a_depth_dropout_fusion_model_deploys_alone(tmp_path, runs, capsys):
    out = tmp_path / 'one'
    assert main(['--fusion', str(runs['rgbd_dropout']), '--out', str(out)]) == 0
    printed = capsys.readouterr().out
    assert 'rgb_fallback:=fusion_model' in printed and 'rgb_model' not in printed
    from rgbd_seg_ros.core.model_set import ModelSet

    models = ModelSet.from_paths(str(out / 'rgbd.safetensors'), '', rgb_fallback='fusion_model')
    assert models.same_model_fallback and models.modes == ('rgbd', 'rgb')


def test_deploy_refuses_what_the_node_would(tmp_path, runs, capsys):
    assert main(['--fusion', str(runs['rgbd']), '--out', str(tmp_path / 'x')]) == 2
    assert '--rgb is required' in capsys.readouterr().err
    assert main(['--rgb', str(tmp_path / 'missing.safetensors'), '--out',
                 str(tmp_path / 'y')]) == 2
    assert 'no such checkpoint' in capsys.readouterr().err
    broken = tmp_path / 'broken.safetensors'
    broken.write_bytes(runs['rgb'].read_bytes()[:1000])
    assert main(['--rgb', str(broken), '--out', str(tmp_path / 'z')]) == 2


@pytest.mark.ros
def test_a_node_starts_on_the_deployed_folder(tmp_path, runs, ros_domain_id):
    out = tmp_path / 'robot'
    assert main(['--fusion', str(runs['rgbd']), '--rgb', str(runs['rgb']), '--out',
                 str(out)]) == 0
    params = write_params(tmp_path / 'p.yaml', {
        'fusion_model': str(out / 'rgbd.safetensors'), 'rgb_model': str(out / 'rgb.safetensors')})
    log = tmp_path / 'node.log'
    proc = start_module('rgbd_seg_ros.nodes.segmentation_node', ros_domain_id, [params], log)
    try:
        deadline = time.monotonic() + 120.0
        while time.monotonic() < deadline and proc.poll() is None:
            if 'models for modes' in log.read_text():
                break
            time.sleep(0.2)
        text = log.read_text()
        assert proc.poll() is None, text
        assert "models for modes ('rgbd', 'rgb')" in text, text
    finally:
        assert stop_process(proc) == 0
