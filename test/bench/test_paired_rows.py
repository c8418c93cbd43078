# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""``bench/paired_rows.py``: a variant against the default seed by seed, and the teacher-gap r."""

import json
from pathlib import Path

import pytest
from script_loader import load_script

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def paired_rows():
    return load_script(REPO / 'bench' / 'paired_rows.py', 'bench_paired_rows')


def _row(method, label, baseline, per_seed, per_class=None):
    return {'method': method, 'model': 'rgbd', 'label': label, 'baseline': baseline,
            'per_seed': per_seed, 'per_class': per_class or {}}


def test_variant_minus_default_on_the_shared_seeds(paired_rows):
    default = {'A': _row('a', 'A', None, {'0': 0.50, '1': 0.60, '2': 0.70})}
    variant = {'A': _row('a', 'A', None, {'0': 0.52, '1': 0.59}),
               'B': _row('b', 'B', 'a', {'0': 0.1})}  # not in the default: left out
    out = paired_rows.paired(default, variant)
    assert [item['label'] for item in out] == ['A']
    assert out[0]['seeds'] == ['0', '1']
    assert out[0]['diff_per_seed'] == pytest.approx([2.0, -1.0])
    assert out[0]['diff_mean'] == pytest.approx(0.5)
    # std of (2, -1) = 3 / sqrt(2); t(0.975, 1 dof) = 12.706; half-width = t * std / sqrt(2)
    assert out[0]['diff_ci95'] == pytest.approx(12.706 * 1.5)


def test_teacher_gap_correlation_is_pearson_over_the_classes(paired_rows, tmp_path):
    base = {'x': 0.5, 'y': 0.5, 'z': 0.5}
    # the student loses half of the teacher's gap on every class: a perfect linear relation
    teacher = {'x': 0.1, 'y': 0.4, 'z': 0.6}
    student = {c: base[c] + 0.5 * (teacher[c] - base[c]) for c in base}
    report = {'rows': [_row('rgbd', 'fusion', None, {'0': 0.5}, base),
                       _row('primkd', 'PrimKD', 'rgbd', {'0': 0.4}, student)],
              'teachers': {'teacher_rgb': {'per_class': teacher}}}
    path = tmp_path / 'r.json'
    path.write_text(json.dumps(report))
    loaded, rows = paired_rows.load_rows(path)
    assert paired_rows.teacher_gap_correlation(loaded, rows, 'PrimKD', 'teacher_rgb') == \
        pytest.approx(1.0)
    with pytest.raises(ValueError, match='no teacher'):
        paired_rows.teacher_gap_correlation(loaded, rows, 'PrimKD', 'teacher_depth')
    with pytest.raises(ValueError, match='baseline row'):
        paired_rows.teacher_gap_correlation(loaded, rows, 'fusion', 'teacher_rgb')


def test_cli_rejects_a_file_that_is_not_a_report(paired_rows, tmp_path, capsys):
    junk = tmp_path / 'junk.json'
    junk.write_text(json.dumps({'teachers': {}}))
    assert paired_rows.main([str(junk), str(junk)]) == 2
    assert 'no "rows" list' in capsys.readouterr().err
