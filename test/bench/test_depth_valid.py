# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""The crossing point of bench/depth_valid.py (closed form) and a smoke run on tiny models."""

import json
from pathlib import Path
import sys

import pytest
from script_loader import load_script

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'bench'))  # the script's own `from common import ...`
depth_valid = load_script(REPO / 'bench' / 'depth_valid.py', 'bench_depth_valid')


def test_crossing_is_linear_between_measured_fractions():
    curve = {1.0: 80.0, 0.75: 70.0, 0.5: 60.0, 0.25: 40.0, 0.0: 20.0}
    assert depth_valid.crossing(curve, 65.0) == pytest.approx(0.625)
    assert depth_valid.crossing(curve, 70.0) == pytest.approx(0.75)
    assert depth_valid.crossing(curve, 85.0) == 1.0  # no better even with full depth
    assert depth_valid.crossing(curve, 10.0) is None  # better down to no depth


def test_smoke_on_tiny_models(tmp_path, tiny_checkpoint):
    fusion = tiny_checkpoint('dv_fusion', input_size=(48, 64), arch='fusion', fusion='se_add')
    rgb = tiny_checkpoint('dv_rgb', input_size=(48, 64), seed=1, modality='rgb')
    out = tmp_path / 'dv.json'
    assert depth_valid.main(['--arm', f'fusion={fusion}', '--arm', f'rgb={rgb}', '--images', '2',
                             '--fractions', '1', '0.5', '0', '--quiet', '--json', str(out)]) == 0
    result = json.loads(out.read_text())
    assert set(result['arms']['fusion']['by_depth_valid']) == {'1', '0.5', '0'}
    assert 'by_depth_valid' not in result['arms']['rgb'] and result['best_rgb'] == 'rgb'
    assert 0.0 < result['mean_valid_ratio_full_depth'] <= 1.0
    assert (tmp_path / 'dv.png').stat().st_size > 1000
