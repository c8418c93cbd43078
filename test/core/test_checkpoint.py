# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""Checkpoints: exact round trips, metadata, extras, and every kind of bad file rejected."""

from __future__ import annotations

import json
from pathlib import Path
import struct

import pytest
from safetensors import safe_open
from safetensors.torch import load_file, save_file
import torch

from rgbd_seg_ros.core.checkpoint import (
    FORMAT_VERSION,
    CheckpointMeta,
    inspect_checkpoint,
    load_checkpoint,
    load_meta,
    read_extra_tensors,
    save_checkpoint,
)
from rgbd_seg_ros.core.labels import LabelSet
from rgbd_seg_ros.core.models import ModelConfig, create_model
from rgbd_seg_ros.core.preprocess import Normalization
from tools.inspect_checkpoint import main

LABELS = LabelSet(name='toy', names=('floor', 'wall', 'chair'),
                  colors=((10, 20, 30), (40, 50, 60), (70, 80, 90)))
CFG = ModelConfig(backbone='resnet18', modality='rgb', num_classes=3, embed_dim=16)


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    m = create_model(CFG).eval()
    # Non-default BatchNorm statistics, so that buffers are part of the round trip.
    with torch.no_grad():
        for module in m.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-1, 1)
                module.running_var.uniform_(0.5, 2)
    return m


@pytest.fixture(scope='module')
def saved(model, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp('ckpt') / 'model.safetensors'
    meta = {
        'labels': LABELS,
        'input_size': (48, 64),
        'provenance': {'method': 'supervised', 'dataset': 'toy', 'metrics': {'miou': 0.5}},
    }
    save_checkpoint(path, model, meta, extra_tensors={'optimizer/step': torch.tensor(7),
                                                      'optimizer/exp_avg/0': torch.ones(3, 2)})
    return path


def _copy(src: Path, dst: Path) -> Path:
    dst.write_bytes(src.read_bytes())
    return dst


def _rewrite(src: Path, dst: Path, edit_meta=None, edit_tensors=None) -> Path:
    """Re-save a checkpoint with edited metadata/tensors, keeping the stale integrity digest."""
    with safe_open(str(src), 'pt') as f:
        header = dict(f.metadata())
    meta = json.loads(header['rgbd_seg_ros'])
    tensors = load_file(str(src))
    if edit_meta:
        edit_meta(meta)
    if edit_tensors:
        edit_tensors(tensors)
    header['rgbd_seg_ros'] = json.dumps(meta)
    save_file(tensors, str(dst), metadata=header)
    return dst


def test_round_trip_gives_identical_logits(model, saved):
    loaded, meta = load_checkpoint(saved)
    x = {'rgb': torch.randn(2, 3, 45, 61)}
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
    assert not loaded.training
    assert meta.model == CFG
    assert meta.labels == LABELS
    assert meta.input_size == (48, 64)
    assert meta.normalization == Normalization()
    assert meta.modalities == ('rgb',)
    assert meta.provenance['method'] == 'supervised'
    assert meta.provenance['metrics'] == {'miou': 0.5}
    for key in ('code_version', 'git_commit', 'created'):
        assert key in meta.provenance


def test_half_size_bundle_is_half_the_bytes_and_loads_as_float32(model, saved, tmp_path):
    half = save_checkpoint(tmp_path / 'half.safetensors', model, load_meta(saved),
                           dtype=torch.float16)
    stored = load_file(str(half))
    assert stored['decoder.classifier.weight'].dtype == torch.float16
    assert stored['decoder.fuse.1.num_batches_tracked'].dtype == torch.int64  # ints unchanged
    floats = sum(t.numel() for t in model.state_dict().values() if t.dtype == torch.float32)
    assert saved.stat().st_size - half.stat().st_size == pytest.approx(2 * floats, rel=0.01)
    loaded, _ = load_checkpoint(half)
    for name, ref in model.state_dict().items():
        got = loaded.state_dict()[name]
        assert got.dtype == ref.dtype
        if ref.dtype == torch.float32:  # float16 rounding: relative error <= 2^-11
            assert torch.allclose(got, ref, rtol=2 ** -11, atol=1e-7), name
    with pytest.raises(ValueError, match='storage dtype'):
        save_checkpoint(tmp_path / 'x.safetensors', model, load_meta(saved), dtype=torch.int8)


def test_integer_tensor_stored_as_float_is_rejected(saved, tmp_path):
    """
    Only float32 weights may be stored at half size (the file is re-signed: only the dtype is
    wrong).
    """
    from rgbd_seg_ros.core.checkpoint import _digest

    tensors = load_file(str(saved))
    tensors['decoder.fuse.1.num_batches_tracked'] = tensors[
        'decoder.fuse.1.num_batches_tracked'].half()
    with safe_open(str(saved), 'pt') as f:
        header = dict(f.metadata())
    meta = json.loads(header['rgbd_seg_ros'])
    meta['integrity']['digest'] = _digest(meta, tensors)
    header['rgbd_seg_ros'] = json.dumps(meta)
    bad = tmp_path / 'bad.safetensors'
    save_file(tensors, str(bad), metadata=header)
    with pytest.raises(ValueError, match=r'num_batches_tracked.*dtype torch.float16.*int64'):
        load_checkpoint(bad)


def test_extras_are_separate(saved):
    extras = read_extra_tensors(saved)
    assert set(extras) == {'optimizer/step', 'optimizer/exp_avg/0'}
    assert extras['optimizer/step'].item() == 7
    assert torch.equal(extras['optimizer/exp_avg/0'], torch.ones(3, 2))


def test_inspect_and_cli(saved, capsys):
    info = inspect_checkpoint(saved)
    assert info['metadata']['format_version'] == FORMAT_VERSION
    assert info['metadata']['labels']['names'] == ['floor', 'wall', 'chair']
    assert info['extra_tensors'] == ['extra/optimizer/exp_avg/0', 'extra/optimizer/step']
    assert load_meta(saved).labels == LABELS
    assert main(['inspect', str(saved)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed['metadata']['model']['backbone'] == 'resnet18'
    assert main(['verify', str(saved)]) == 0
    assert capsys.readouterr().out.startswith('OK')


def test_save_is_atomic_and_overwrites(model, tmp_path):
    path = tmp_path / 'm.safetensors'
    path.write_bytes(b'old contents')
    save_checkpoint(path, model, {'labels': LABELS})
    assert [p.name for p in tmp_path.iterdir()] == ['m.safetensors']
    assert load_meta(path).labels == LABELS


def test_save_rejects_inconsistent_meta(model, tmp_path):
    two = LabelSet(name='two', names=('a', 'b'), colors=((0, 0, 0), (1, 1, 1)))
    with pytest.raises(ValueError, match='2 classes'):
        save_checkpoint(tmp_path / 'a.safetensors', model, {'labels': two})
    other = CheckpointMeta(model=ModelConfig(backbone='resnet34', num_classes=3), labels=LABELS)
    with pytest.raises(ValueError, match='differs'):
        save_checkpoint(tmp_path / 'b.safetensors', model, other)
    with pytest.raises(ValueError, match='unknown keys'):
        save_checkpoint(tmp_path / 'c.safetensors', model, {'labels': LABELS, 'epochs': 3})
    with pytest.raises(ValueError, match='.safetensors'):
        save_checkpoint(tmp_path / 'd.pt', model, {'labels': LABELS})


# ----------------------------------------------------------------------------- bad files


def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match='does not exist'):
        load_checkpoint(tmp_path / 'nope.safetensors')


@pytest.mark.parametrize('keep', [0, 4, 100, -1000])
def test_truncated(saved, tmp_path, keep):
    data = saved.read_bytes()
    bad = tmp_path / 'bad.safetensors'
    bad.write_bytes(data[:keep] if keep >= 0 else data[:keep])
    with pytest.raises(ValueError, match='truncated|not valid JSON'):
        load_checkpoint(bad)


def test_changed_tensor_byte(saved, tmp_path):
    data = bytearray(saved.read_bytes())
    data[-5000] ^= 0x01  # one bit in the tensor data
    bad = tmp_path / 'bad.safetensors'
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match='hash mismatch'):
        load_checkpoint(bad)


def test_edited_header_same_length(saved, tmp_path):
    data = saved.read_bytes()
    assert data.count(b'chair') == 1
    bad = tmp_path / 'bad.safetensors'
    bad.write_bytes(data.replace(b'chair', b'chain'))  # a class renamed in place
    with pytest.raises(ValueError, match='hash mismatch'):
        load_checkpoint(bad)


def test_broken_header_json(saved, tmp_path):
    data = bytearray(saved.read_bytes())
    (n,) = struct.unpack('<Q', data[:8])
    data[8 + n // 2] = ord('{')
    bad = tmp_path / 'bad.safetensors'
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match='not valid JSON'):
        load_checkpoint(bad)


def test_wrong_tensor_shape(saved, tmp_path):
    def reshape(t):
        t['decoder.classifier.bias'] = torch.zeros(4)

    bad = _rewrite(saved, tmp_path / 'bad.safetensors', edit_tensors=reshape)
    with pytest.raises(ValueError, match=r'decoder.classifier.bias.*shape \(4,\).*\(3,\)'):
        load_checkpoint(bad)


def test_missing_tensor(saved, tmp_path):
    bad = _rewrite(saved, tmp_path / 'bad.safetensors',
                   edit_tensors=lambda t: t.pop('decoder.fuse.1.running_var'))
    with pytest.raises(ValueError, match='1 missing'):
        load_checkpoint(bad)


def test_newer_format_version(saved, tmp_path):
    def bump(meta):
        meta['format_version'] = FORMAT_VERSION + 1

    bad = _rewrite(saved, tmp_path / 'bad.safetensors', edit_meta=bump)
    with pytest.raises(ValueError, match='newer'):
        load_checkpoint(bad)


def test_unknown_backbone(saved, tmp_path):
    def rename(meta):
        meta['model']['backbone'] = 'resnet18_from_the_future'

    bad = _rewrite(saved, tmp_path / 'bad.safetensors', edit_meta=rename)
    with pytest.raises(ValueError, match='unknown timm backbone'):
        load_checkpoint(bad)


def test_class_count_mismatch_in_metadata(saved, tmp_path):
    def drop_class(meta):
        meta['labels']['names'].pop()
        meta['labels']['colors'].pop()

    bad = _rewrite(saved, tmp_path / 'bad.safetensors', edit_meta=drop_class)
    with pytest.raises(ValueError, match='2 classes but the model predicts 3'):
        load_checkpoint(bad)


def test_pickle_and_foreign_files(model, tmp_path):
    pickled = tmp_path / 'model.safetensors'
    torch.save(model.state_dict(), pickled)
    with pytest.raises(ValueError, match='pickle'):
        load_checkpoint(pickled)
    foreign = tmp_path / 'foreign.safetensors'
    save_file({'w': torch.zeros(2)}, str(foreign))
    with pytest.raises(ValueError, match="without 'rgbd_seg_ros' metadata"):
        load_checkpoint(foreign)


def test_header_length_starting_with_pickle_byte_loads(model, saved, tmp_path):
    """A header whose length's low byte is 0x80 (pickle's PROTO opcode) is still safetensors."""
    raw = saved.read_bytes()
    (n,) = struct.unpack('<Q', raw[:8])
    header, body = raw[8:8 + n], raw[8 + n:]
    pad = (0x80 - n) % 256  # trailing spaces are allowed after the header JSON
    new_n = n + pad
    assert new_n & 0xFF == 0x80
    dst = tmp_path / 'padded.safetensors'
    dst.write_bytes(struct.pack('<Q', new_n) + header + b' ' * pad + body)
    assert dst.read_bytes()[:1] == b'\x80'
    loaded, _ = load_checkpoint(dst)
    x = {'rgb': torch.randn(1, 3, 48, 64)}
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
