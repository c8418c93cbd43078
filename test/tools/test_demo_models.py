# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The shipped demo models (``models/demo``): size, provenance, and a mIoU floor on fixed, seeded
test frames through the node's path (``ModelSet``), so that a change that breaks them fails CI;
and the recipe tool's plumbing on tiny models.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import subprocess
import sys

import pytest
from safetensors import safe_open

from rgbd_seg_ros.core.checkpoint import load_meta
from tools.demo_models import BUNDLE_LIMIT_BYTES, config_iters, main, score_finished
from tools.demo_scoring import (
    DEFAULT_OUT,
    RUNS,
    TEST_WORLD,
    bundle_paths,
    bundle_steps,
    doubling_test,
    fixed_test_frames,
    run_seconds,
    score_bundle,
    world_fingerprint,
)
from training.imagenet import REGISTRY
from training.run_log import plateaued

# Floors a few points under the scores measured when the bundles were made
# (models/demo/summary.json, docs/results.md "Shipped demo models"), on the 64 held-out test
# frames of the calibrated nyu_like world: from ImageNet at 8000 steps each, fusion 84.0,
# RGB 79.5, depth 58.2 (half the steps: 81.7 / 76.0 / 54.5; the previous bundles, from random
# init at 8000 / 12000 / 6000 steps, score 84.0 / 72.0 / 55.8 on these frames).
FLOORS = {'rgbd': 81.0, 'rgb': 76.0, 'depth': 55.0}


@pytest.fixture(scope='module')
def scores():
    return score_bundle(DEFAULT_OUT, fixed_test_frames())


def test_bundles_fit_the_limit_and_store_half_precision():
    paths = bundle_paths(DEFAULT_OUT)
    assert sum(p.stat().st_size for p in paths.values()) <= BUNDLE_LIMIT_BYTES
    for path in paths.values():
        with safe_open(str(path), 'pt') as f:
            dtypes = {f.get_slice(k).get_dtype() for k in f.keys()}
        assert 'F16' in dtypes and 'F32' not in dtypes


def test_bundles_carry_their_provenance():
    summary = json.loads((DEFAULT_OUT / 'summary.json').read_text())
    for run in RUNS:
        meta = load_meta(DEFAULT_OUT / f'{run}.safetensors')
        demo = meta.provenance['demo_bundle']
        assert demo['config_file'] == f'training/configs/demo_{run}.yaml'
        for key in ('arch', 'backbone', 'modality', 'fusion', 'num_classes'):
            assert demo['config']['model'][key] == getattr(meta.model, key)
        # trained on the world the test frames and the demo camera render, as it is today
        assert demo['config']['data']['synthetic_world'] == TEST_WORLD
        assert demo['world_fingerprint'] == world_fingerprint(TEST_WORLD)
        assert len(demo['recipe_commit']) == 40
        assert demo['plateau'] is plateaued([tuple(p) for p in demo['val_curve']])
        assert demo['best_val_miou'] == max(v for _, v in demo['val_curve'])
        assert meta.provenance['git_commit'] and meta.provenance['created']
        # every run from the registry's ImageNet file, named in the provenance
        assert demo['initialised_from'] == 'imagenet'
        init = meta.provenance['init']['pretrained']
        entry = REGISTRY[meta.model.backbone]
        assert (init['distribution'], init['version'], init['sha256']) == (
            entry.distribution, entry.version, entry.sha256)
        assert summary['runs'][run]['best_val_miou'] == demo['best_val_miou']
    # the shipped bundles are what `make demo-models` trains: the configs' budgets
    assert bundle_steps(DEFAULT_OUT) == {run: config_iters(run) for run in RUNS}


def test_shipped_models_score_above_their_floors(scores):
    for mode, floor in FLOORS.items():
        assert scores[mode]['miou'] >= floor, (mode, scores[mode]['miou'])
    # what the fallback is for: without depth the fusion model is far below the RGB model
    # (measured 25.9 against 79.5)
    assert scores['rgb']['miou'] > scores['rgbd_no_depth']['miou'] + 5.0
    assert scores['rgbd']['miou'] > scores['rgb']['miou']


TINY_SETS = ['model.backbone=test_convnext', 'model.pretrained=', 'model.embed_dim=16',
             'model.ffm_head_dim=8',
             'data.size=(32, 40)', 'data.crop_size=(32, 40)', 'data.synthetic_train_length=8',
             'data.synthetic_val_length=2', 'train.num_workers=0', 'train.eval_every=1',
             'train.batch_size=2', 'train.val_batch_size=2', 'optim.warmup_iters=1']


def _tiny_argv(out: Path, work: Path, *extra: str) -> list[str]:
    argv = ['--out', str(out), '--work', str(work), *extra]
    for kv in TINY_SETS:
        argv += ['--set', kv]
    return argv


def test_recipe_chains_three_runs_on_tiny_models(tmp_path):
    argv = _tiny_argv(tmp_path / 'models', tmp_path / 'work', '--max-iters', '4',
                      '--allow-unconverged')
    assert main(argv) == 0
    paths = bundle_paths(tmp_path / 'models')
    metas = {name: load_meta(p) for name, p in paths.items()}
    for meta in metas.values():  # the three runs are independent (no chained backbone)
        assert meta.provenance['demo_bundle']['initialised_from'] == 'random'
        assert meta.provenance['init']['pretrained'] == 'random'
    assert metas['fusion_model'].modalities == ('rgb', 'hha')
    assert metas['depth_model'].modalities == ('hha',)
    summary = json.loads((tmp_path / 'models' / 'summary.json').read_text())
    assert set(summary['test']) == {'rgbd', 'rgb', 'depth', 'rgbd_no_depth'}
    assert summary['bytes'] == sum(p.stat().st_size for p in paths.values())
    # a second call reuses the finished runs instead of training again: the same training
    # seconds, those of the runs' done.json
    assert main(argv) == 0
    again = json.loads((tmp_path / 'models' / 'summary.json').read_text())
    for run in RUNS:
        seconds = again['runs'][run]['train_seconds']
        assert seconds == summary['runs'][run]['train_seconds'] > 0
        assert seconds == round(run_seconds(tmp_path / 'work' / run), 1)


def test_doubling_test_of_a_recipe_at_twice_the_steps(tmp_path):
    # base: 2 steps a run; doubled: 4 steps, depth and fusion in two processes at once
    assert main(_tiny_argv(tmp_path / 'base', tmp_path / 'work_base', '--max-iters', '2',
                           '--allow-unconverged')) == 0
    doubled = _tiny_argv(tmp_path / 'doubled', tmp_path / 'work_doubled', '--max-iters', '4',
                         '--jobs', '2', '--doubling-of', str(tmp_path / 'base'),
                         '--allow-unconverged')
    assert main(doubled) == 0
    assert bundle_steps(tmp_path / 'base') == {'rgb': 2, 'depth': 2, 'rgbd': 2}
    assert bundle_steps(tmp_path / 'doubled') == {'rgb': 4, 'depth': 4, 'rgbd': 4}
    base = json.loads((tmp_path / 'base' / 'summary.json').read_text())
    summary = json.loads((tmp_path / 'doubled' / 'summary.json').read_text())
    assert {r: summary['runs'][r]['steps'] for r in RUNS} == {'rgb': 4, 'depth': 4, 'rgbd': 4}
    rows = summary['doubling']['runs']
    for run in RUNS:
        gain = summary['test'][run]['miou'] - base['test'][run]['miou']
        assert rows[run]['gain'] == pytest.approx(gain, abs=0.006)
        assert rows[run]['converged'] is (rows[run]['gain'] <= 1.0)
    # the criterion decides the exit status: at a tolerance no gain can exceed every run passes
    loose = doubling_test(tmp_path / 'base', tmp_path / 'doubled', tol=101.0)
    assert all(row['converged'] for row in loose['runs'].values())
    strict = doubling_test(tmp_path / 'base', tmp_path / 'doubled', tol=-101.0)
    assert not any(row['converged'] for row in strict['runs'].values())
    # a folder is not its own doubling
    with pytest.raises(ValueError, match='not twice'):
        doubling_test(tmp_path / 'base', tmp_path / 'base')
    # scoring the finished runs alone gives the full run's figures (same fp16 weights, frames)
    report_path = tmp_path / 'finished.json'
    score = ['--work', str(tmp_path / 'work_doubled'), '--doubling-of', str(tmp_path / 'base'),
             '--score-finished', str(report_path)]
    assert main(score) == 0
    report = json.loads(report_path.read_text())
    assert report['finished'] == list(RUNS)
    assert report['test'] == summary['test']
    assert report['runs'] == summary['runs']
    assert report['doubling']['runs'] == rows
    # while the fusion run still trains, only what does not depend on it is reported
    (tmp_path / 'work_doubled' / 'rgbd' / 'done.json').unlink()
    assert main(score) == 0
    report = json.loads(report_path.read_text())
    assert report['finished'] == ['rgb', 'depth']
    assert set(report['test']) == {'rgb', 'depth'}
    assert report['test']['rgb'] == summary['test']['rgb']
    assert report['runs'] == {r: summary['runs'][r] for r in ('rgb', 'depth')}
    assert report['doubling']['runs'] == {r: rows[r] for r in ('rgb', 'depth')}
    # the half budget given as the JSON of an earlier --score-finished (its bundles gone): the
    # rows compare with its scores; a finished run that it did not score is refused
    half = tmp_path / 'half.json'
    half.write_text(json.dumps({
        'runs': {'rgb': {'steps': 2}, 'depth': {'steps': 2}},
        'test': {'rgb': {'miou': 10.0}, 'depth': {'miou': 70.0}}}))
    from_json = score_finished(tmp_path / 'work_doubled', half)
    assert from_json['test'] == report['test']
    for run, base_miou in (('rgb', 10.0), ('depth', 70.0)):
        row = from_json['doubling']['runs'][run]
        assert (row['steps'], row['steps_doubled']) == (2, 4)
        assert row['gain'] == pytest.approx(summary['test'][run]['miou'] - base_miou, abs=0.006)
        assert row['converged'] is (row['gain'] <= 1.0)
    (tmp_path / 'work_doubled' / 'rgbd' / 'done.json').write_text(
        (tmp_path / 'work_doubled' / 'rgb' / 'done.json').read_text())
    with pytest.raises(ValueError, match=r"no score for \['rgbd'\]"):
        score_finished(tmp_path / 'work_doubled', half)
    (tmp_path / 'work_doubled' / 'rgbd' / 'done.json').unlink()
    # nothing finished: a clear error, exit status 1
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match='no run'):
        score_finished(tmp_path / 'empty', tmp_path / 'base')
    assert main(['--work', str(tmp_path / 'empty'), '--score-finished',
                 str(report_path)]) == 1


def test_until_converged_doubles_the_recipe_until_every_run_passes(tmp_path):
    work = tmp_path / 'work'

    def ladder(out: Path, tol: str) -> int:
        return main(_tiny_argv(out, work, '--max-iters', '1', '--until-converged',
                               '--max-factor', '4', '--tol', tol))

    # at a tolerance no gain can exceed, the first doubling passes: rounds x1 and x2 only,
    # and the doubled round is what is written, judged against the round before it
    assert ladder(tmp_path / 'models', '101') == 0
    assert bundle_steps(tmp_path / 'models') == {'rgb': 2, 'depth': 2, 'rgbd': 2}
    assert bundle_steps(work / 'x1' / 'bundles') == {'rgb': 1, 'depth': 1, 'rgbd': 1}
    assert not (work / 'x4').exists()
    summary = json.loads((tmp_path / 'models' / 'summary.json').read_text())
    assert summary['doubling']['base'] == str(work / 'x1' / 'bundles')
    assert all(row['converged'] for row in summary['doubling']['runs'].values())
    # one frame cache for all rounds
    assert any((work / 'frames').iterdir()) and not (work / 'x2' / 'frames').exists()
    # no gain can pass: every round up to --max-factor (the first two reused), then exit 1
    # and nothing written
    assert ladder(tmp_path / 'never', '-101') == 1
    assert not (tmp_path / 'never').exists()
    assert bundle_steps(work / 'x4' / 'bundles') == {'rgb': 4, 'depth': 4, 'rgbd': 4}
    assert not (work / 'x8').exists()


def test_iters_factor_scales_each_config_budget():
    import yaml

    configs = Path(__file__).resolve().parents[2] / 'training' / 'configs'
    for run in RUNS:
        text = (configs / f'demo_{run}.yaml').read_text()
        assert config_iters(run) == yaml.safe_load(text)['train']['max_iters']
    from tools.demo_models import _scaled_iters

    doubled = argparse.Namespace(max_iters=None, iters_factor=2.0)
    assert _scaled_iters('rgbd', doubled) == ['--max-iters', str(2 * config_iters('rgbd'))]
    assert _scaled_iters('rgbd', argparse.Namespace(max_iters=None, iters_factor=1.0)) == []
    # --max-iters (smoke runs) wins over the factor
    assert _scaled_iters('rgbd', argparse.Namespace(max_iters=4, iters_factor=2.0)) == []
    with pytest.raises(SystemExit, match='iters-factor'):
        _scaled_iters('rgb', argparse.Namespace(max_iters=None, iters_factor=-1.0))


def test_world_fingerprint_tells_the_worlds_apart():
    # nyu_like_v1 is nyu_like before its furniture looks: one knob apart, another fingerprint
    prints = {w: world_fingerprint(w) for w in ('nyu_like', 'nyu_like_v1', 'depth_favoured')}
    assert len(set(prints.values())) == 3
    # the bundle is checked in another process than the one that wrote it: no per-process state
    code = 'from tools.demo_scoring import world_fingerprint as f; print(f("nyu_like"))'
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == prints['nyu_like']
