# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""Offline bag replay (no DDS): same labels as Segmenter.predict, switch times, report, errors."""

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from rgbd_seg_ros.core.model_set import ModelSet
from rgbd_seg_ros.replay.bag_io import BagError, BagTopics
from rgbd_seg_ros.replay.bag_writer import RgbdBagWriter
from rgbd_seg_ros.replay.evaluate import OfflineReplay, ReplayConfig
from rgbd_seg_ros.replay.make_bag import Window, make_bag
from rgbd_seg_ros.replay.params import segmentation_params
from rgbd_seg_ros.sim import SYNTHETIC_LABELS, SyntheticSequence

HEIGHT, WIDTH = 48, 64
RATE = 15.0
SEED = 5
TOPIC_PARAMS = {
    'rgb_topic': '/camera/color/image_raw',
    'depth_topic': '/camera/aligned_depth_to_color/image_raw',
    'camera_info_topic': '/camera/color/camera_info',
}


@pytest.fixture(scope='module')
def checkpoints(tiny_checkpoint) -> dict[str, Path]:
    """Random-init tiny models (resnet10t + light decoder) at the bag's size; no training."""
    common = {'backbone': 'resnet10t', 'embed_dim': 24, 'input_size': (HEIGHT, WIDTH)}
    return {'fusion': tiny_checkpoint('replay_fusion', arch='fusion', fusion='se_add', **common),
            'rgb': tiny_checkpoint('replay_rgb', seed=1, modality='rgb', **common)}


def _config(ground_truth: bool = True, dropouts=(), **params) -> ReplayConfig:
    values = {'rgb_model': 'unused.safetensors', **TOPIC_PARAMS, **params}
    return ReplayConfig(params=segmentation_params(values), dropouts=tuple(dropouts),
                        ground_truth_topic=BagTopics().ground_truth if ground_truth else '')


class _Stub:
    """A segmenter stand-in: ``rule(rgb, depth_m) -> labels``; records its calls."""

    def __init__(self, modalities, rule):
        self.modalities = modalities
        self.labels = SYNTHETIC_LABELS
        self.rule = rule
        self.calls = 0

    def predict(self, rgb, depth_m=None, intrinsics=None, return_confidence=False):
        self.calls += 1
        return self.rule(rgb, depth_m)


def _constant(value):
    return lambda rgb, depth_m: np.full(rgb.shape[:2], value, np.uint8)


def _stub_models(fusion_rule=None, rgb_rule=None) -> ModelSet:
    return ModelSet.from_segmenters({
        'rgbd': _Stub(('rgb', 'hha'), fusion_rule or _constant(1)),
        'rgb': _Stub(('rgb',), rgb_rule or _constant(0)),
    })


@pytest.fixture(scope='module')
def gap_bag(tmp_path_factory) -> Path:
    """36 frames at 15 Hz with no depth for 1.0 <= t < 1.6 s."""
    path = tmp_path_factory.mktemp('replay_bags') / 'gap'
    make_bag(path, frames=36, rate_hz=RATE, seed=SEED, size=(HEIGHT, WIDTH),
             depth_gaps=[Window(1.0, 1.6)], progress=False)
    return path


@pytest.fixture(scope='module')
def steady_bag(tmp_path_factory) -> Path:
    """60 frames at 15 Hz, depth always present (outages are injected by the replay)."""
    path = tmp_path_factory.mktemp('replay_bags') / 'steady'
    make_bag(path, frames=60, rate_hz=RATE, seed=SEED, size=(HEIGHT, WIDTH), progress=False)
    return path


def test_replay_labels_equal_segmenter_predict_on_the_same_frames(gap_bag, checkpoints):
    from rgbd_seg_ros.core.inference import Segmenter

    models = ModelSet.from_paths(str(checkpoints['fusion']), str(checkpoints['rgb']))
    outputs = {}
    OfflineReplay(_config(), models).run(
        gap_bag, progress=False,
        on_frame=lambda rec, labels: outputs.__setitem__(rec.stamp_ns, (rec.mode, labels)))
    assert len(outputs) == 36
    fusion = Segmenter.from_checkpoint(checkpoints['fusion'])
    rgb_only = Segmenter.from_checkpoint(checkpoints['rgb'])
    sequence = SyntheticSequence(SEED, WIDTH, HEIGHT)
    modes = []
    for i, (mode, labels) in enumerate(outputs[k] for k in sorted(outputs)):
        frame = sequence.frame(i, i / RATE)
        if mode == 'rgbd':
            depth_m = np.rint(frame.depth_m * 1000).astype(np.uint16) / np.float32(1000)
            expected = fusion.predict(frame.rgb, depth_m.astype(np.float32), frame.intrinsics)
        else:
            expected = rgb_only.predict(frame.rgb)
        np.testing.assert_array_equal(labels, expected, err_msg=f'frame {i} ({mode})')
        modes.append(mode)
    # depth present -> fusion; in the gap and until 5 good depth frames came back -> RGB model
    t = np.arange(36) / RATE
    expected_modes = np.where((t >= 1.0 - 1e-9) & (t < 1.6 + 4 / RATE - 1e-9), 'rgb', 'rgbd')
    assert modes == expected_modes.tolist()


def test_replay_honours_the_backend_parameter(gap_bag, checkpoints, tmp_path, monkeypatch):
    """backend: onnxruntime in the node's parameters makes ONNX Runtime produce the labels."""
    pytest.importorskip('onnxruntime')
    from rgbd_seg_ros.core import backends

    calls = []
    run_onnx = backends.OnnxRuntimeNetwork.__call__

    def counted(self, inputs):
        calls.append(tuple(inputs))
        return run_onnx(self, inputs)

    monkeypatch.setattr(backends.OnnxRuntimeNetwork, '__call__', counted)
    labels = {}
    for backend in ('torch', 'onnxruntime'):
        paths = {}
        for kind in ('fusion', 'rgb'):  # a private copy: the ONNX cache goes next to it
            paths[kind] = tmp_path / backend / f'{kind}.safetensors'
            paths[kind].parent.mkdir(exist_ok=True)
            paths[kind].write_bytes(checkpoints[kind].read_bytes())
        calls.clear()
        config = _config(fusion_model=str(paths['fusion']), rgb_model=str(paths['rgb']),
                         backend=backend)
        out = labels[backend] = []
        result = OfflineReplay(config, ModelSet.from_params(config.params)).run(
            gap_bag, progress=False, on_frame=lambda rec, lab, out=out: out.append(lab))
        assert result.settings['backends'] == {'rgbd': backend, 'rgb': backend}
        if backend == 'onnxruntime':  # every frame ran on ONNX Runtime (plus the warm-ups)
            assert len(calls) >= 36 and ('rgb', 'hha') in calls and ('rgb',) in calls
        else:
            assert not calls
    same = sum(int(np.count_nonzero(a == b)) for a, b in zip(*labels.values()))
    assert same / sum(a.size for a in labels['torch']) >= 0.995


def _switches(result):
    return [(round(s['t_rel'], 5), s['from'], s['to']) for s in result.summary()['mode_switches']]


def test_injected_dropouts_switch_at_the_expected_bag_times(steady_bag, gap_bag):
    # Defaults: depth_timeout 0.5 s checked on the node's 0.05 s timer, recover_frames 5.
    result = OfflineReplay(_config(dropouts=[Window(1.0, 2.0), Window(3.0, 3.2)]),
                           _stub_models()).run(steady_bag, progress=False)
    last_good = 14 / RATE  # depth frame before the first outage
    timeout_tick = np.ceil((last_good + 0.5) / 0.05 + 1e-9) * 0.05  # first tick past timeout
    back = 2.0 + 4 / RATE  # 5th good depth frame after it
    assert _switches(result) == [(round(timeout_tick, 5), 'rgbd', 'rgb'),
                                 (round(back, 5), 'rgb', 'rgbd')]
    summary = result.summary()
    assert summary['start_time'] == 1_700_000_000.0
    assert summary['mode_switches'][0]['t'] == pytest.approx(1_700_000_000.0 + timeout_tick)
    assert summary['skipped_messages'] == {'depth: removed by --inject-depth-dropout': 18}
    # the short outage (3 frames, < depth_timeout) gives unpaired frames but no switch
    modes = {round(f.t_ns / 1e9 - 1_700_000_000, 3): f.mode for f in result.frames}
    assert [modes[round(k / RATE, 3)] for k in (44, 45, 46, 47, 48)] == \
        ['rgbd', 'rgb', 'rgb', 'rgb', 'rgbd']
    assert summary['frames_without_output'] == 0
    # frames held in the synchronizer until the timeout decided them (bag time)
    first_gap = next(f for f in result.frames if f.mode == 'rgb')
    assert first_gap.sync_wait_ms == pytest.approx(1e3 * (timeout_tick - 15 / RATE), abs=1e-3)

    # a physical gap in the recording switches the same way as an injected one
    physical = OfflineReplay(_config(), _stub_models()).run(gap_bag, progress=False)
    injected = OfflineReplay(_config(dropouts=[Window(1.0, 1.6)]), _stub_models()).run(
        steady_bag, progress=False)
    assert _switches(physical) == _switches(injected)[:2] and len(_switches(physical)) == 2


def test_depth_timeout_parameter_moves_the_switch(steady_bag):
    result = OfflineReplay(_config(dropouts=[Window(1.0, 2.0)], depth_timeout=0.2,
                                   recover_frames=2), _stub_models()).run(steady_bag,
                                                                          progress=False)
    tick = min(0.05, 0.2 / 4)
    expected = np.ceil((14 / RATE + 0.2) / tick + 1e-9) * tick
    assert _switches(result) == [(round(expected, 5), 'rgbd', 'rgb'),
                                 (round(2.0 + 1 / RATE, 5), 'rgb', 'rgbd')]


def test_report_scores_match_a_closed_form(gap_bag, tmp_path):
    from rgbd_seg_ros.replay.report import write_report

    sequence = SyntheticSequence(SEED, WIDTH, HEIGHT)
    truth = {hashlib.sha1(sequence.frame(i, i / RATE).rgb.tobytes()).hexdigest():
             sequence.frame(i, i / RATE).label for i in range(36)}

    def oracle_with_depth(rgb, depth_m):  # perfect with depth, 'wall' everywhere without
        if depth_m is None or not (depth_m > 0).any():
            return np.full(rgb.shape[:2], 1, np.uint8)
        return truth[hashlib.sha1(rgb.tobytes()).hexdigest()]

    result = OfflineReplay(_config(), _stub_models(oracle_with_depth, _constant(0))).run(
        gap_bag, progress=False)
    paths = write_report(result, tmp_path / 'report')
    summary = json.loads(paths['json'].read_text())

    t = np.arange(36) / RATE
    fallback = (t >= 1.0 - 1e-9) & (t < 1.6 + 4 / RATE - 1e-9)
    labels = np.stack([sequence.frame(i, i / RATE).label for i in range(36)])
    gt = labels[fallback]
    known = gt != 255
    floor = (gt == 0) & known
    present = len(np.unique(gt[known]))
    iou_floor = floor.sum() / known.sum()  # prediction is 'floor' on every pixel
    assert summary['miou_by_mode']['rgbd'] == pytest.approx(1.0)
    assert summary['miou_by_mode']['rgb'] == pytest.approx(iou_floor / present, abs=1e-6)
    assert summary['pixel_acc_by_mode']['rgb'] == pytest.approx(floor.sum() / known.sum(),
                                                                abs=1e-6)
    gap = t[fallback] < 1.6 - 1e-9  # no depth: 'wall'; after the gap: depth again, perfect
    only = np.where(gap[:, None, None], np.uint8(1), gt)
    assert summary['fallback']['miou_fusion_only'] == pytest.approx(_miou(gt, only), abs=1e-6)
    assert summary['fallback']['miou_gain'] == pytest.approx(
        iou_floor / present - _miou(gt, only), abs=1e-6)
    all_known = labels != 255
    assert summary['pixel_acc'] == pytest.approx(
        (all_known[~fallback].sum() + floor.sum()) / all_known.sum(), abs=1e-6)
    assert summary['frames'] == 36 and summary['frames_scored'] == 36
    assert summary['frames_by_mode'] == {'rgb': int(fallback.sum()),
                                         'rgbd': int((~fallback).sum())}
    assert summary['latency_ms']['p50'] > 0 and summary['latency_ms']['p95'] >= \
        summary['latency_ms']['p50']
    assert [s['to'] for s in summary['mode_switches']] == ['rgb', 'rgbd']
    for name in ('timeline', 'latency', 'examples'):
        image = cv2.imread(str(paths[name]))
        assert image is not None and image.shape[0] > 200 and image.shape[1] > 400
    text = paths['markdown'].read_text()
    assert '| RGB fallback |' in text and 'What the fallback is worth' in text


def _miou(gt: np.ndarray, pred: np.ndarray) -> float:
    """Mean IoU over the classes in ground truth or prediction, by sets of pixels."""
    known = gt != 255
    ious = []
    for c in range(SYNTHETIC_LABELS.num_classes):
        g, p = (gt == c) & known, (pred == c) & known
        union = (g | p).sum()
        if union:
            ious.append((g & p).sum() / union)
    return float(np.mean(ious))


def _bag_with_bad_messages(path: Path) -> Path:
    sequence = SyntheticSequence(SEED, WIDTH, HEIGHT)
    topics = BagTopics()
    t0 = 1_700_000_000_000_000_000
    with RgbdBagWriter(path) as writer:
        for i in range(8):
            t = t0 + i * 100_000_000
            frame = sequence.frame(i, i / 10)
            depth_mm = np.rint(frame.depth_m * 1000).astype(np.uint16)
            writer.write_camera_info(topics.camera_info, t, frame.intrinsics)
            if i == 3:
                writer.write_image(topics.depth, t, frame.rgb, 'rgb8')  # wrong encoding
            else:
                writer.write_image(topics.depth, t, depth_mm, '16UC1')
            gt = frame.label[:10] if i == 5 else frame.label  # wrong size
            writer.write_image(topics.ground_truth, t, gt, 'mono8')
            if i == 2:
                writer.write_image(topics.rgb, t, frame.rgb[:, :, :2].copy(), 'yuv422')
            else:
                writer.write_image(topics.rgb, t, frame.rgb, 'rgb8')
    return path


def test_unexpected_encodings_and_sizes_are_counted_skips(tmp_path):
    bag = _bag_with_bad_messages(tmp_path / 'bad')
    result = OfflineReplay(_config(), _stub_models()).run(bag, progress=False)
    summary = result.summary()
    skipped = summary['skipped_messages']
    assert sum(v for k, v in skipped.items() if k.startswith('rgb:') and 'yuv422' in k) == 1
    assert sum(v for k, v in skipped.items() if k.startswith('depth:') and 'rgb8' in k) == 1
    assert sum(v for k, v in skipped.items() if k.startswith('ground_truth: size')) == 1
    assert summary['frames'] == 8 and summary['frames_without_output'] == 1
    per_frame = summary['per_frame']
    assert per_frame[2]['mode'] is None and 'yuv422' in per_frame[2]['note']
    assert per_frame[3]['mode'] == 'rgb'  # its depth was unusable: unpaired, RGB model
    assert summary['frames_scored'] == 6  # no output for frame 2, bad ground truth at 5


def test_command_line_errors_are_clear(tmp_path, checkpoints, gap_bag, caplog):
    from rgbd_seg_ros.replay.__main__ import main

    args = ['--rgb-model', str(checkpoints['rgb']), '--report', str(tmp_path / 'r'), '--quiet']
    assert main(['--bag', str(tmp_path / 'missing'), *args]) == 1
    assert 'bag not found' in caplog.text
    # the node's default topics (rgb/image_rect_color) are not in a RealSense-named bag
    assert main(['--bag', str(gap_bag), *args]) == 1
    assert "rgb topic '/rgb/image_rect_color' is not in the bag" in caplog.text
    assert main(['--bag', str(gap_bag), '--fusion-model', str(tmp_path / 'nope.safetensors'),
                 '--preset', 'realsense', *args]) == 2
    assert 'fusion_model' in caplog.text and 'nope.safetensors' in caplog.text
    with pytest.raises(SystemExit):
        main(['--bag', str(gap_bag), '--preset', 'kinect', *args])
    with pytest.raises(SystemExit):
        main(['--bag', str(gap_bag), '-p', 'depth_timeout:=-1.0', *args])


def test_fixture_recordings_replay_through_the_realsense_preset(bag_fixtures, checkpoints,
                                                                 tmp_path):
    from rgbd_seg_ros.replay.__main__ import main

    reports = {}
    for name in ('icl_livingroom1_5f_mcap', 'icl_livingroom1_5f_sqlite3',
                 'tum_fr3_office_1f_mcap'):
        out = tmp_path / name
        assert main(['--bag', str(bag_fixtures / name), '--preset', 'realsense',
                     '--fusion-model', str(checkpoints['fusion']),
                     '--rgb-model', str(checkpoints['rgb']), '--report', str(out),
                     '--quiet', '--no-plots']) == 0
        reports[name] = json.loads((out / 'report.json').read_text())
    icl = reports['icl_livingroom1_5f_mcap']
    assert icl['frames'] == 5 and icl['frames_without_output'] == 0
    assert icl['miou'] is None and icl['frames_scored'] == 0  # no ground truth in the bag
    assert icl['latency_ms']['p50'] > 0
    assert icl['mode_switches'] == []
    assert icl['start_time'] == 1_700_000_000.0
    # camera_info comes after the first colour image: that one frame runs on the RGB model
    assert [f['mode'] for f in icl['per_frame']] == ['rgb', 'rgbd', 'rgbd', 'rgbd', 'rgbd']
    assert [f['depth_valid_ratio'] > 0.8 for f in icl['per_frame']] == [True] * 5
    assert any('same name ending' in n for n in icl['settings']['topic_notes'])
    sqlite = reports['icl_livingroom1_5f_sqlite3']
    assert [f['mode'] for f in sqlite['per_frame']] == [f['mode'] for f in icl['per_frame']]
    assert reports['tum_fr3_office_1f_mcap']['frames'] == 1


def test_both_storages_replay_to_identical_labels(bag_fixtures, checkpoints):
    models = ModelSet.from_paths(str(checkpoints['fusion']), str(checkpoints['rgb']))
    config = _config(ground_truth=False)
    labels = []
    for name in ('icl_livingroom1_5f_mcap', 'icl_livingroom1_5f_sqlite3'):
        out = {}
        OfflineReplay(config, models).run(
            bag_fixtures / name, progress=False,
            on_frame=lambda rec, lab, out=out: out.__setitem__(rec.stamp_ns, lab))
        labels.append(out)
    assert sorted(labels[0]) == sorted(labels[1]) and len(labels[0]) == 5
    for stamp in labels[0]:
        assert labels[0][stamp].shape == (480, 640)
        np.testing.assert_array_equal(labels[0][stamp], labels[1][stamp])


def test_bag_without_rgb_topic_raises(tmp_path):
    topics = BagTopics()
    with RgbdBagWriter(tmp_path / 'depth_only') as writer:
        writer.write_image(topics.depth, 1, np.ones((4, 4), np.uint16), '16UC1')
    with pytest.raises(BagError, match='rgb topic'):
        OfflineReplay(_config(), _stub_models()).run(tmp_path / 'depth_only', progress=False)


@pytest.mark.slow
def test_demo_reuses_models_and_reports_the_outage(checkpoints, tmp_path, capsys):
    """tools.demo end to end without training: models already in the run folders."""
    import shutil

    from tools.demo import main as demo_main

    for name in ('rgbd', 'rgb'):
        run = tmp_path / 'runs' / f'{name}_quick'
        run.mkdir(parents=True)
        shutil.copy(checkpoints['fusion' if name == 'rgbd' else 'rgb'],
                    run / 'model.safetensors')
    assert demo_main(['--out', str(tmp_path), '--quick']) == 0
    out = capsys.readouterr().out
    assert 'fallback frames' in out and str(tmp_path / 'report_quick' / 'timeline.png') in out
    summary = json.loads((tmp_path / 'report_quick' / 'report.json').read_text())
    # --quick: no depth for 1.5 <= t < 2.5 s, all-invalid depth for 3.0 <= t < 3.4 s
    assert [(s['from'], s['to']) for s in summary['mode_switches']] == [
        ('rgbd', 'rgb'), ('rgb', 'rgbd'), ('rgbd', 'rgb'), ('rgb', 'rgbd')]
    assert summary['mode_switches'][2]['t_rel'] == pytest.approx(3.0)
    assert 'depth valid ratio 0.00' in summary['mode_switches'][2]['reason']
    assert summary['frames'] == 60 and summary['fallback']['miou_fusion_only'] is not None
