# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""``bench/teacher_doubling.py``: the doubling test of the benchmark's teachers."""

import json
from pathlib import Path

import pytest
from script_loader import load_script

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def doubling():
    return load_script(REPO / 'bench' / 'teacher_doubling.py', 'bench_teacher_doubling')


def _report(path: Path, steps: int, rgb: float, depth: float, rgbd: float) -> Path:
    teachers = {name: {'test_miou': miou, 'steps': steps, 'plateau': False}
                for name, miou in (('teacher_rgb', rgb), ('teacher_depth', depth),
                                   ('teacher_rgbd', rgbd))}
    calibration = {'depth_over_rgb': depth / rgb, 'rgbd_over_rgb': rgbd / rgb}  # as methods.py
    # a curve whose last quarter (after step 300) gains 2.5 points over the best before it
    teachers['teacher_rgb']['val_curve'] = [[100, 0.2], [200, 0.3], [300, 0.35], [400, 0.375]]
    path.write_text(json.dumps({'protocol': {}, 'rows': [], 'teachers': teachers,
                                'calibration': calibration}))
    return path


def test_gain_in_points_and_the_verdict_against_the_tolerance(doubling, tmp_path):
    base = doubling.load_report(_report(tmp_path / 'a.json', 1500, 0.50, 0.40, 0.60))
    twice = doubling.load_report(_report(tmp_path / 'b.json', 3000, 0.505, 0.43, 0.61))
    result = doubling.compare(base, twice, tol=1.0)
    rows = {r['teacher']: r for r in result['rows']}
    assert rows['teacher_rgb']['gain'] == pytest.approx(0.5)
    assert rows['teacher_rgb']['converged'] is True
    assert rows['teacher_depth']['gain'] == pytest.approx(3.0)
    assert rows['teacher_depth']['converged'] is False
    assert rows['teacher_rgbd']['gain'] == pytest.approx(1.0)  # at the tolerance: converged
    assert rows['teacher_rgbd']['converged'] is True
    assert rows['teacher_rgb']['last_quarter_gain'] == pytest.approx(2.5)
    assert rows['teacher_depth']['last_quarter_gain'] is None  # no curve in the report
    assert result['calibration']['base']['depth_over_rgb'] == pytest.approx(0.8)
    assert result['calibration']['doubled']['rgbd_over_rgb'] == pytest.approx(0.61 / 0.505)


def test_a_second_report_that_is_not_twice_the_steps_is_refused(doubling, tmp_path):
    base = doubling.load_report(_report(tmp_path / 'a.json', 1500, 0.5, 0.4, 0.6))
    other = doubling.load_report(_report(tmp_path / 'b.json', 2000, 0.5, 0.4, 0.6))
    with pytest.raises(ValueError, match='not twice'):
        doubling.compare(base, other)


def test_cli_writes_the_table_and_json_and_rejects_a_non_report(doubling, tmp_path, capsys):
    a = _report(tmp_path / 'a.json', 100, 0.5, 0.4, 0.6)
    b = _report(tmp_path / 'b.json', 200, 0.52, 0.4, 0.6)
    out = tmp_path / 'out.json'
    assert doubling.main([str(a), str(b), '--json', str(out)]) == 0
    row = '| teacher_rgb | 100 | 50.0 | 200 | 52.0 | +2.0 | no | False | +2.5 |'
    assert row in capsys.readouterr().out
    assert json.loads(out.read_text())['rows'][1]['teacher'] == 'teacher_rgb'
    junk = tmp_path / 'junk.json'
    junk.write_text(json.dumps({'rows': []}))
    assert doubling.main([str(a), str(junk)]) == 2
    assert 'no "teachers" block' in capsys.readouterr().err
