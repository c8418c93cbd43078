# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""Metrics from hand-made confusion matrices, and evaluation through the deployment path."""

import json

import numpy as np
import pytest
import torch

from rgbd_seg_ros.core.camera import CameraIntrinsics
from rgbd_seg_ros.core.checkpoint import CheckpointMeta, save_checkpoint
from rgbd_seg_ros.core.inference import Segmenter
from rgbd_seg_ros.core.models import ModelConfig, create_model
from rgbd_seg_ros.sim import SYNTHETIC_LABELS
from training.evaluate import evaluate, main
from training.loader import val_loader

K = SYNTHETIC_LABELS.num_classes


def _segmenter(arch='single'):
    torch.manual_seed(0)
    model = create_model(ModelConfig(arch=arch, backbone='test_convnext', num_classes=K,
                                     decoder='light', embed_dim=16, ffm_head_dim=8))
    meta = CheckpointMeta(model=model.cfg, labels=SYNTHETIC_LABELS, input_size=(64, 80))
    return Segmenter(model, meta)


def _dataset(n=3):
    from torch.utils.data import Subset

    from training.data import create_eval_dataset

    ds = create_eval_dataset('synthetic', 'val', (64, 80), labels=SYNTHETIC_LABELS)
    return Subset(ds, range(n))


@pytest.mark.parametrize('arch', ['single', 'fusion'])
def test_evaluate_matches_segmenter_predict(arch):
    segmenter = _segmenter(arch)
    ds = _dataset()
    scores = evaluate(segmenter, val_loader(ds, 2, 0), progress=False)
    # Independent route: numpy images through Segmenter.predict, the node's call.
    expected = np.zeros((K, K), np.int64)
    for i in range(len(ds)):
        s = ds[i]
        rgb = s['rgb'].permute(1, 2, 0).numpy()
        k = s['K'].numpy().astype(np.float64)
        intr = CameraIntrinsics.from_matrix(k, rgb.shape[1], rgb.shape[0])
        pred = segmenter.predict(rgb, s['depth_m'][0].numpy(), intr).astype(np.int64)
        label = s['label'].numpy()
        keep = label != 255
        expected += np.bincount(label[keep] * K + pred[keep], minlength=K * K).reshape(K, K)
    assert np.array_equal(np.asarray(scores['confusion']), expected)


def test_depth_dropout_one_equals_missing_depth():
    segmenter = _segmenter('fusion')
    ds = _dataset(2)
    dropped = evaluate(segmenter, val_loader(ds, 2, 0), depth_dropout=1.0, progress=False)
    batches = []
    for batch in val_loader(ds, 2, 0):
        batch['depth_m'] = torch.zeros_like(batch['depth_m'])
        batch['valid'] = torch.zeros_like(batch['valid'])
        batches.append(batch)
    missing = evaluate(segmenter, batches, progress=False)
    assert dropped['confusion'] == missing['confusion']
    normal = evaluate(segmenter, val_loader(ds, 2, 0), progress=False)
    assert normal['confusion'] != missing['confusion']


def test_multiscale_flip_runs():
    segmenter = _segmenter()
    scores = evaluate(segmenter, val_loader(_dataset(1), 1, 0), scales=(0.75, 1.0, 1.25),
                      flip=True, progress=False)
    assert 0.0 <= scores['miou'] <= 1.0 and scores['num_pixels'] > 0


def test_cli_json_png_and_degraded_case(tmp_path, capsys):
    segmenter = _segmenter('fusion')
    ckpt = tmp_path / 'model.safetensors'
    save_checkpoint(ckpt, segmenter.model, {'labels': SYNTHETIC_LABELS, 'input_size': (64, 80),
                                             'provenance': {}})
    out = tmp_path / 'eval' / 'scores.json'
    rc = main(['--checkpoint', str(ckpt), '--data', 'synthetic', '--split', 'val',
               '--max-images', '2', '--num-workers', '0', '--json', str(out), '--quiet',
               '--device', 'cpu'])
    assert rc == 0
    report = json.loads(out.read_text())
    assert 0.0 <= report['miou'] <= 1.0 and 0.0 <= report['pixel_acc'] <= 1.0
    assert set(report['per_class_iou']) == set(SYNTHETIC_LABELS.names)
    assert 0.0 <= report['depth_missing']['miou'] <= 1.0
    assert report['num_images'] == 2 and report['modalities'] == ['rgb', 'hha']
    assert report['world'] == 'nyu_like'  # the default synthetic world
    assert (tmp_path / 'eval' / 'scores_confusion.png').stat().st_size > 1000
    assert 'mIoU' in capsys.readouterr().out
    assert main(['--checkpoint', str(tmp_path / 'nope.safetensors'), '--data', 'synthetic']) == 2


def test_cli_renders_nyu_like_by_default_and_honours_world(tmp_path, monkeypatch):
    import training.data.dataset as dataset_module

    built = []
    real = dataset_module.create_eval_dataset

    def spy(*args, **kwargs):
        ds = real(*args, **{**kwargs, 'synthetic_length': 1})
        built.append(ds.reader.world)
        return ds

    monkeypatch.setattr(dataset_module, 'create_eval_dataset', spy)
    ckpt = tmp_path / 'model.safetensors'
    segmenter = _segmenter()
    save_checkpoint(ckpt, segmenter.model, {'labels': SYNTHETIC_LABELS, 'input_size': (32, 40),
                                             'provenance': {}})
    common = ['--checkpoint', str(ckpt), '--data', 'synthetic', '--num-workers', '0', '--quiet',
              '--device', 'cpu']
    for extra, world in (([], 'nyu_like'), (['--world', 'depth_favoured'], 'depth_favoured')):
        out = tmp_path / f'{world}.json'
        assert main(common + extra + ['--json', str(out), '--png', str(tmp_path / 'c.png')]) == 0
        assert built[-1] == world and json.loads(out.read_text())['world'] == world
    with pytest.raises(SystemExit):
        main(common + ['--world', 'mars'])


def test_depth_valid_zero_equals_missing_depth_and_one_is_unchanged():
    segmenter = _segmenter('fusion')
    ds = _dataset(2)
    none = evaluate(segmenter, val_loader(ds, 2, 0), depth_valid=0.0, progress=False)
    dropped = evaluate(segmenter, val_loader(ds, 2, 0), depth_dropout=1.0, progress=False)
    assert none['confusion'] == dropped['confusion']
    full = evaluate(segmenter, val_loader(ds, 2, 0), depth_valid=1.0, progress=False)
    assert full['confusion'] == evaluate(segmenter, val_loader(ds, 2, 0),
                                         progress=False)['confusion']
    half = evaluate(segmenter, val_loader(ds, 2, 0), depth_valid=0.5, progress=False)
    assert half['confusion'] != full['confusion']


def test_cli_scores_by_depth_valid_fraction(tmp_path):
    segmenter = _segmenter('fusion')
    ckpt = tmp_path / 'model.safetensors'
    save_checkpoint(ckpt, segmenter.model, {'labels': SYNTHETIC_LABELS, 'input_size': (64, 80),
                                             'provenance': {}})
    out = tmp_path / 'scores.json'
    common = ['--checkpoint', str(ckpt), '--data', 'synthetic', '--split', 'val',
              '--max-images', '2', '--num-workers', '0', '--quiet', '--device', 'cpu']
    assert main([*common, '--json', str(out), '--depth-valid', '0.5', '0']) == 0
    report = json.loads(out.read_text())
    assert set(report['by_depth_valid']) == {'0.5', '0'}
    assert report['by_depth_valid']['0'] == pytest.approx(report['depth_missing']['miou'])
    assert main([*common, '--depth-valid', '1.5']) == 2
