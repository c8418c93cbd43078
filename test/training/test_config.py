# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""The typed training config: strict YAML, strict overrides, round trips, shipped configs."""

from pathlib import Path

import pytest

from training.config import TrainConfig
from training.config_io import apply_overrides, dump_config, load_config, parse_override
from training.train import main

CONFIGS = Path(__file__).resolve().parents[2] / 'training' / 'configs'


def _write(tmp_path, text):
    path = tmp_path / 'cfg.yaml'
    path.write_text(text)
    return str(path)


def test_yaml_and_overrides_are_typed(tmp_path):
    path = _write(tmp_path, 'optim:\n  lr: 6e-5\ntrain:\n  max_iters: 12\n')
    cfg = load_config(path, ['optim.lr=3e-4', 'model.backbone=resnet34',
                             'data.crop_size=(64, 80)', 'train.amp=off',
                             'distill.teacher=runs/a b/model.safetensors'])
    assert cfg.optim.lr == 3e-4 and isinstance(cfg.optim.lr, float)
    assert cfg.train.max_iters == 12
    assert cfg.model.backbone == 'resnet34'
    assert cfg.data.crop_size == (64, 80)
    assert cfg.distill.teacher == 'runs/a b/model.safetensors'
    # YAML 1.1 reads '6e-5' as a string; a float field accepts it as the number it spells.
    assert load_config(path).optim.lr == pytest.approx(6e-5)


@pytest.mark.parametrize('yaml_text, message', [
    ('optim:\n  lrr: 0.1\n', "'optim.lrr'"),
    ('trian:\n  max_iters: 3\n', "'trian'"),
    ('model:\n  backbone: resnet18\n  colour: red\n', "'model.colour'"),
    ('train:\n  max_iters: 2.5\n', 'train.max_iters'),
    ('train:\n  sync_bn: 1\n', 'train.sync_bn'),
    ('optim:\n  betas: [0.9]\n', 'optim.betas'),
    ('optim: 3\n', 'optim'),
    ('method: dino\n', 'method'),
    ('train:\n  amp: fp8\n', 'train.amp'),
    ('distill:\n  feat_select: stage:0\n', 'distill.feat_select'),
])
def test_bad_yaml_names_the_key(tmp_path, yaml_text, message):
    with pytest.raises(ValueError, match=message.replace('.', r'\.')):
        load_config(_write(tmp_path, yaml_text))


@pytest.mark.parametrize('override, message', [
    ('optim.lrr=1', "'optim.lrr'"),
    ('optim.lr=True', 'optim.lr'),
    ('optim.lr=fast', 'optim.lr'),
    ('train.max_iters=1.5', 'train.max_iters'),
    ('optim.lr.x=1', 'not a section'),
    ('optim.lr', 'key.path=value'),
    ('model.arch=triple', 'arch'),
])
def test_bad_override_names_the_key(override, message):
    with pytest.raises(ValueError, match=message.replace('.', r'\.')):
        load_config(None, [override])


def test_parse_override_literal_then_string():
    assert parse_override('a.b=3') == (['a', 'b'], 3)
    assert parse_override('a=(1, 2)') == (['a'], (1, 2))
    assert parse_override("a='x'") == (['a'], 'x')
    assert parse_override('a=x/y.safetensors') == (['a'], 'x/y.safetensors')
    assert parse_override('a=b=c') == (['a'], 'b=c')


def test_cross_field_rules():
    with pytest.raises(ValueError, match='model.arch=fusion'):
        load_config(None, ['method=primkd'])
    with pytest.raises(ValueError, match='model.arch=single'):
        load_config(None, ['method=cmkd', 'model.arch=fusion'])
    with pytest.raises(ValueError, match='data.decoupled=true'):
        load_config(None, ['method=crodino'])
    with pytest.raises(ValueError, match='crodino.mixup=false'):
        load_config(None, ['method=crodino', 'data.decoupled=True',
                           "data.decoupled_geometry='independent'"])
    ok = load_config(None, ['method=crodino', 'data.decoupled=True', 'crodino.mixup=False',
                            "data.decoupled_geometry='independent'"])
    assert ok.crodino.mixup is False
    # the YAML spelling works on the command line too (bench/ablations.sh uses it)
    lower = load_config(None, ['method=crodino', 'data.decoupled=true', 'crodino.mixup=false',
                               "data.decoupled_geometry='independent'"])
    assert lower.data.decoupled is True and lower.crodino.mixup is False
    with pytest.raises(ValueError, match='expected a boolean'):
        load_config(None, ['data.decoupled=yes'])


def test_dump_round_trip(tmp_path):
    cfg = load_config(None, ['optim.lr=1e-3', 'data.scales=(1.0, 1.5)',
                             'distill.feat_stages=(1, 4)'])
    path = _write(tmp_path, dump_config(cfg))
    assert load_config(path) == cfg


def test_apply_overrides_does_not_touch_input():
    data = {'optim': {'lr': 1.0}}
    out = apply_overrides(TrainConfig, data, ['optim.lr=2.0'])
    assert data == {'optim': {'lr': 1.0}} and out['optim']['lr'] == 2.0


@pytest.mark.parametrize('path', sorted(CONFIGS.glob('*.yaml')), ids=lambda p: p.name)
def test_shipped_configs_load(path):
    cfg = load_config(str(path), ['distill.teacher=x.safetensors'])
    assert cfg.model.num_classes >= 1


def test_main_reports_config_errors(capsys):
    assert main(['--set', 'optim.lrr=1', '--print-config']) == 2
    assert "'optim.lrr'" in capsys.readouterr().err
    assert main(['--set', 'optim.lr=0.5', '--max-iters', '7', '--print-config']) == 0
    out = capsys.readouterr().out
    assert 'lr: 0.5' in out and 'max_iters: 7' in out
