# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""``bench/methods.py``: the statistics, the plateau rule and a smoke run of the protocol."""

import importlib.util
import json
import math
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def methods():
    spec = importlib.util.spec_from_file_location('bench_methods', REPO / 'bench' / 'methods.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_summary_is_mean_sample_std_and_a_t_interval(methods):
    s = methods.summarise([0.1, 0.2, 0.3])
    assert s['mean'] == pytest.approx(0.2)
    assert s['std'] == pytest.approx(0.1)  # sample std (n - 1)
    assert s['ci95'] == pytest.approx(4.303 * 0.1 / math.sqrt(3))  # t(0.975, 2 dof)
    assert methods.summarise([0.5]) == {'mean': 0.5, 'std': None, 'ci95': None}


def test_plateau_compares_the_last_quarter_with_the_best_before(methods):
    rising = [(100, 0.20), (200, 0.30), (300, 0.35), (400, 0.42)]
    flat = [(100, 0.20), (200, 0.40), (300, 0.41), (400, 0.404)]
    assert methods.plateaued(rising) is False
    assert methods.plateaued(flat) is True
    assert methods.plateaued(flat[:2]) is None  # too few evaluations to tell


def test_smoke_protocol_writes_the_documented_json(methods, tmp_path):
    out = tmp_path / 'methods.json'
    rc = methods.main(['--protocol', 'smoke', '--seeds', '0', '--methods', 'rgb,primkd,crodino',
                       '--out', str(tmp_path / 'runs'), '--json', str(out)])
    assert rc == 0
    report = json.loads(out.read_text())
    assert report['protocol']['name'] == 'smoke' and report['protocol']['finite_train_set']
    rows = {(r['method'], r['model']): r for r in report['rows']}
    assert set(rows) == {('rgb', 'rgb'), ('primkd', 'rgbd'), ('crodino', 'rgb'),
                         ('crodino', 'depth')}
    for r in rows.values():
        assert {'miou_mean', 'miou_std', 'miou_ci95', 'per_seed', 'per_class',
                'wall_s'} <= set(r)
        assert set(r['per_seed']) == {'0'} and len(r['per_class']) == 14
    # the paired delta is the row's score minus its baseline's, seed by seed
    cro, rgb = rows[('crodino', 'rgb')], rows[('rgb', 'rgb')]
    assert cro['delta_per_seed'][0] == pytest.approx(cro['per_seed']['0'] - rgb['per_seed']['0'])
    # teachers: trained for teacher_factor x the student budget, once for every seed
    assert set(report['teachers']) == {'teacher_rgb', 'teacher_depth', 'teacher_rgbd'}
    assert report['teachers']['teacher_rgb']['steps'] == 3 * report['protocol']['student_iters']
    # PrimKD's wall-clock includes its teacher's
    assert rows[('primkd', 'rgbd')]['wall_s'] > report['teachers']['teacher_rgb']['wall_s']
    assert report['calibration']['depth_over_rgb'] > 0
