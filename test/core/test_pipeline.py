# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""FramePipeline: one result per RGB frame, each naming its mode and why; outputs assembled."""

import numpy as np
import pytest

from rgbd_seg_ros.core.camera import CameraIntrinsics
from rgbd_seg_ros.core.model_set import ModelSet
from rgbd_seg_ros.core.pipeline import FramePipeline, PipelineConfig
from rgbd_seg_ros.core.sync import SyncConfig
from rgbd_seg_ros.sim import SYNTHETIC_LABELS

H, W = 12, 16
FRAME = 'cam'
K = CameraIntrinsics(20.0, 20.0, 7.5, 5.5, W, H)
PERIOD = 0.1


class _Stub:
    """A segmenter stand-in: constant labels; records what it was given."""

    def __init__(self, modalities, value):
        self.modalities, self.labels, self.value = modalities, SYNTHETIC_LABELS, value
        self.seen = []

    def predict(self, rgb, depth_m=None, intrinsics=None, return_confidence=False):
        self.seen.append((rgb.copy(), None if depth_m is None else depth_m.copy(), intrinsics))
        labels = np.full(rgb.shape[:2], self.value, np.uint8)
        if return_confidence:
            return labels, np.full(rgb.shape[:2], 0.25, np.float32)
        return labels


def _pipeline(**config) -> tuple[FramePipeline, dict]:
    stubs = {'rgbd': _Stub(('rgb', 'hha'), 1), 'rgb': _Stub(('rgb',), 2)}
    sync = SyncConfig(sync_slop=0.02, depth_timeout=0.35, recover_frames=2)
    return FramePipeline(ModelSet.from_segmenters(stubs), PipelineConfig(sync=sync, **config)), \
        stubs


def _bgr(i: int) -> np.ndarray:
    img = np.zeros((H, W, 3), np.uint8)
    img[..., 0] = 10 + i  # blue channel of a bgr8 image
    return img


def _run(pipe: FramePipeline, frames: int, depth_at, info: bool = True):
    """Feed ``frames`` RGB frames (bgr8) at 10 Hz, depth (16UC1 mm, half size) where wanted."""
    if info:
        pipe.add_camera_info(FRAME, K)
    results = []
    for i in range(frames):
        t = i * PERIOD
        if depth_at(i):
            depth = np.full((H // 2, W // 2), 1500, np.uint16)
            pipe.add_depth(t, FRAME, depth, '16UC1', now=t + 0.001)
        pipe.add_rgb(t, FRAME, _bgr(i), 'bgr8', now=t + 0.002, tag=i)
        results += [pipe.process(f, t + 0.002) for f in pipe.pop_ready(t + 0.002)]
    end = frames * PERIOD
    results += [pipe.process(f, end) for f in pipe.flush(end)]
    return results


def test_one_result_per_frame_with_mode_and_reason():
    pipe, stubs = _pipeline()
    results = _run(pipe, 20, depth_at=lambda i: not 6 <= i < 12)
    assert [r.tag for r in results] == list(range(20))  # every frame, in order, its tag back
    modes = [r.mode for r in results]
    assert modes[:6] == ['rgbd'] * 6 and 'rgb' in modes[6:12] and modes[-1] == 'rgbd'
    for r in results:
        expected = 1 if r.mode == 'rgbd' else 2
        assert r.labels.shape == (H, W) and (r.labels == expected).all()
        assert r.rgb[0, 0, 2] == 10 + r.tag and r.rgb[0, 0, 0] == 0  # bgr8 -> RGB order
        if r.mode == 'rgbd':
            assert r.reason == 'depth paired' and r.depth is not None
            assert r.depth_m.shape == (H // 2, W // 2) and r.depth_m[0, 0] == pytest.approx(1.5)
        else:
            assert r.depth is None and r.depth_m is None and r.reason
    # the first frame of the gap waited for its partner until the timeout: the fallback's cause
    gap = [r.reason for r in results if 6 <= r.tag < 12]
    assert gap and all(r.startswith('fallback: no valid depth for 0.4') for r in gap), gap
    # the fusion model got the depth at its own size (the segmenter resizes it once, to the
    # network size) and the intrinsics of the RGB image
    _, depth_m, intrinsics = stubs['rgbd'].seen[0]
    assert depth_m.shape == (H // 2, W // 2) and intrinsics == K
    assert [e.to_mode for e in pipe.pop_events()] == ['rgb', 'rgbd']


def test_missing_camera_info_and_missing_model_are_the_reason():
    pipe, _ = _pipeline()
    results = _run(pipe, 3, depth_at=lambda i: True, info=False)
    assert {r.mode for r in results} == {'rgb'}
    assert all(r.reason == f'no camera_info for frame {FRAME!r}' for r in results)
    assert pipe.stats.missing_camera_info == 3


def test_outputs_are_assembled_as_configured():
    pipe, _ = _pipeline(confidence=True, recent_depth=4)
    r = _run(pipe, 2, depth_at=lambda i: True)[0]
    assert r.confidence.shape == (H, W) and float(r.confidence[0, 0]) == 0.25
    assert pipe.nearest_depth(0.005).stamp == 0.0 and pipe.nearest_depth(0.05) is None
    bare, _ = _pipeline()
    r = _run(bare, 1, depth_at=lambda i: True)[0]
    assert r.confidence is None


def test_millimetres_in_32fc1_are_implausible_and_fall_back():
    from rgbd_seg_ros.core.depth import depth_median_m, implausible_depth, valid_samples

    mm = np.full((H // 2, W // 2), 1500.0, np.float32)  # 1.5 m written as millimetres
    mm[0, :] = np.nan
    values, sampled = valid_samples(mm)
    assert sampled == mm[::4, ::4].size and values.size == sampled - mm[0, ::4].size
    assert depth_median_m(values, '32FC1') == pytest.approx(1500.0)
    assert depth_median_m(values, '32FC1', depth_scale=0.001) == pytest.approx(1.5)
    assert depth_median_m(valid_samples(np.zeros((4, 4), np.uint16))[0], '16UC1') is None
    why = implausible_depth(1500.0, 20.0, '32FC1')
    assert 'depth_scale:=0.001' in why and '1.50 m if it were millimetres' in why
    assert implausible_depth(1.5, 20.0, '32FC1') == ''
    pipe, _ = _pipeline()
    results = _run_depth(pipe, mm, '32FC1', frames=8)
    assert results and results[-1].mode == 'rgb'  # the fusion model never saw the garbage
    assert pipe.implausible_depth == 8 and 'depth_scale' in pipe.depth_problem
    # the same frames with the right scale are healthy
    pipe, _ = _pipeline(depth_scale=0.001)
    results = _run_depth(pipe, mm, '32FC1')
    assert {r.mode for r in results} == {'rgbd'} and pipe.implausible_depth == 0


def _run_depth(pipe, depth, encoding, frames=6):
    pipe.add_camera_info(FRAME, K)
    results = []
    for i in range(frames):
        t = i * PERIOD
        pipe.add_depth(t, FRAME, depth, encoding, now=t + 0.001)
        pipe.add_rgb(t, FRAME, _bgr(i), 'bgr8', now=t + 0.002, tag=i)
        results += [pipe.process(f, t + 0.002) for f in pipe.pop_ready(t + 0.002)]
    return results
