# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""RGB/depth pairing and the depth-health state machine, driven by injected time only."""

import threading
import time

import numpy as np
import pytest

from rgbd_seg_ros.core.camera import CameraIntrinsics, match_intrinsics
from rgbd_seg_ros.core.depth import resize_nearest
from rgbd_seg_ros.core.health import RgbHealthCheck
from rgbd_seg_ros.core.latest_slot import LatestSlot
from rgbd_seg_ros.core.sync import DepthHealth, RgbdSynchronizer, SyncConfig

FRAME = 'cam_optical'
K = CameraIntrinsics(100.0, 100.0, 79.5, 59.5, 160, 120)
PERIOD = 1.0 / 30.0


def make(**kwargs) -> RgbdSynchronizer:
    cfg = dict(sync_slop=0.01, depth_timeout=0.5, min_valid_depth_ratio=0.3, recover_frames=3)
    cfg.update(kwargs)
    sync = RgbdSynchronizer(SyncConfig(**cfg))
    sync.add_camera_info(FRAME, K)
    return sync


def test_exact_stamps_pair_each_rgb_with_its_depth():
    sync = make()
    out = []
    for i in range(10):
        t = 10.0 + i * PERIOD
        sync.add_depth(t, FRAME, f'd{i}', 0.9, now=t + 0.005)
        sync.add_rgb(t, FRAME, f'r{i}', now=t + 0.006)
        out += sync.pop_ready(t + 0.006)
    assert [f.rgb for f in out] == [f'r{i}' for i in range(10)]
    assert [f.depth for f in out] == [f'd{i}' for i in range(10)]
    assert all(f.mode == 'rgbd' and f.intrinsics == K and f.frame_id == FRAME for f in out)
    assert sync.pop_events() == []


def test_rgb_waits_for_a_depth_that_is_still_coming():
    sync = make(sync_slop=0.02)
    sync.add_depth(1.0, FRAME, 'd0', 0.9, now=1.0)
    sync.add_depth(1.0 + PERIOD, FRAME, 'd1', 0.9, now=1.0 + PERIOD)
    # RGB at 1.06: nearest known depth (1.033) is 27 ms away (> slop) -> wait.
    sync.add_rgb(1.06, FRAME, 'r', now=1.061)
    assert sync.pop_ready(1.061) == []
    sync.add_depth(1.0 + 2 * PERIOD, FRAME, 'd2', 0.9, now=1.07)
    (frame,) = sync.pop_ready(1.07)
    assert frame.depth == 'd2' and frame.mode == 'rgbd'
    assert frame.depth_stamp == pytest.approx(1.0 + 2 * PERIOD)


def test_nearest_of_two_candidates_is_chosen():
    sync = make(sync_slop=0.03)
    sync.add_rgb(2.0, FRAME, 'r', now=2.0)
    sync.add_depth(1.98, FRAME, 'early', 0.9, now=2.001)
    sync.add_depth(2.005, FRAME, 'late', 0.9, now=2.01)
    (frame,) = sync.pop_ready(2.01)
    assert frame.depth == 'late'


def test_depth_a_little_earlier_than_rgb_pairs_without_waiting_a_period():
    # Depth is stamped 5 ms before RGB; with a 33 ms period no closer depth can come.
    sync = make(sync_slop=0.01)
    for i in range(3):
        sync.add_depth(5.0 + i * PERIOD - 0.005, FRAME, f'd{i}', 0.9, now=5.0 + i * PERIOD)
    sync.add_rgb(5.0 + 2 * PERIOD, FRAME, 'r', now=5.0 + 2 * PERIOD)
    (frame,) = sync.pop_ready(5.0 + 2 * PERIOD)
    assert frame.depth == 'd2' and frame.mode == 'rgbd'


def test_no_depth_within_slop_gives_an_rgb_frame():
    sync = make(sync_slop=0.005)
    sync.add_depth(1.0, FRAME, 'd0', 0.9, now=1.0)
    sync.add_rgb(1.02, FRAME, 'r', now=1.02)
    sync.add_depth(1.04, FRAME, 'd1', 0.9, now=1.04)
    (frame,) = sync.pop_ready(1.04)
    assert frame.mode == 'rgb' and frame.depth is None
    assert sync.stats.unpaired == 1
    assert sync.mode == 'rgbd'  # one unpaired frame is not a depth failure


def run_stream(sync, t0, t1, depth=True, ratio=0.9, frozen_rgb=False):
    """Feed 30 Hz RGB (+ depth) between t0 and t1; returns the emitted frames."""
    out = []
    n = int(round((t1 - t0) / PERIOD))
    for i in range(n):
        t = t0 + i * PERIOD
        if depth:
            sync.add_depth(t, FRAME, ('d', t), ratio, now=t + 0.002)
        sync.add_rgb(t, FRAME, ('r', t), now=t + 0.003, rgb_ok=not frozen_rgb)
        out += sync.pop_ready(t + 0.003)
    return out


def test_depth_stop_switches_to_rgb_within_timeout_and_keeps_every_frame():
    sync = make(depth_timeout=0.2)
    out = run_stream(sync, 0.0, 1.0)
    last_depth_arrival = 1.0 - PERIOD + 0.002
    out += run_stream(sync, 1.0, 2.0, depth=False)
    (event,) = sync.pop_events()
    assert (event.from_mode, event.to_mode) == ('rgbd', 'rgb')
    assert last_depth_arrival + 0.2 < event.t <= last_depth_arrival + 0.2 + PERIOD
    assert 'depth' in event.reason
    # Every RGB frame came out exactly once, in order.
    stamps = [f.stamp for f in out]
    assert len(stamps) == 60 and stamps == sorted(stamps)
    assert all(f.mode == 'rgb' and f.depth is None for f in out if f.stamp >= 1.0)
    assert all(f.mode == 'rgbd' for f in out if f.stamp < 1.0)


def test_recovery_needs_recover_frames_consecutive_good_depth_frames():
    sync = make(depth_timeout=0.2, recover_frames=3)
    run_stream(sync, 0.0, 0.5)
    run_stream(sync, 0.5, 1.0, depth=False)
    assert sync.mode == 'rgb'
    sync.pop_events()
    out = []
    for i in range(3):
        t = 1.0 + i * PERIOD
        sync.add_depth(t, FRAME, 'd', 0.9, now=t)
        sync.add_rgb(t, FRAME, 'r', now=t)
        out += sync.pop_ready(t)
        assert sync.mode == ('rgbd' if i == 2 else 'rgb')
    (event,) = sync.pop_events()
    assert (event.from_mode, event.to_mode) == ('rgb', 'rgbd')
    assert event.t == pytest.approx(1.0 + 2 * PERIOD)
    assert [f.mode for f in out] == ['rgb', 'rgb', 'rgbd']


def test_invalid_depth_switches_at_once_and_bad_frame_restarts_recovery():
    sync = make(recover_frames=3, min_valid_depth_ratio=0.5)
    run_stream(sync, 0.0, 0.3)
    out = run_stream(sync, 0.3, 0.4, ratio=0.1)
    (event,) = sync.pop_events()
    assert (event.from_mode, event.to_mode) == ('rgbd', 'rgb')
    assert event.t == pytest.approx(0.3 + 0.002)
    assert all(f.mode == 'rgb' for f in out)
    for i, ratio in enumerate((0.9, 0.9, 0.2, 0.9, 0.9)):  # the bad one restarts the count
        sync.add_depth(1.0 + 0.01 * i, FRAME, 'd', ratio)
        assert sync.mode == 'rgb'
    sync.add_depth(1.1, FRAME, 'd', 0.9)
    assert sync.mode == 'rgbd'
    assert sync.stats.bad_depth == 3 + 1


def test_good_frames_further_apart_than_timeout_do_not_recover():
    health = DepthHealth(SyncConfig(depth_timeout=0.2, recover_frames=2).health)
    health.update(0.0)
    health.update(0.3)
    assert health.mode == 'rgb'
    health.on_depth(1.0, 0.9)
    health.on_depth(1.5, 0.9)  # 0.5 s later: not consecutive
    assert health.mode == 'rgb'
    events = health.on_depth(1.6, 0.9)
    assert health.mode == 'rgbd' and [e.to_mode for e in events] == ['rgbd']


def test_start_without_any_depth_falls_back_after_the_grace_period():
    sync = make(depth_timeout=0.3)
    out = []
    for i in range(15):
        t = 100.0 + i * PERIOD
        sync.add_rgb(t, FRAME, i, now=t)
        out += sync.pop_ready(t)
    assert sync.mode == 'rgb'
    (event,) = sync.pop_events()
    assert 100.3 < event.t <= 100.3 + PERIOD
    # Frames that waited for depth during the grace period were emitted as rgb, none lost.
    assert [f.rgb for f in out] == list(range(15))


def test_depth_mode_when_rgb_is_bad_and_back():
    sync = make(depth_mode=True, recover_frames=2)
    run_stream(sync, 0.0, 0.2)
    out = run_stream(sync, 0.2, 0.3, frozen_rgb=True)
    assert sync.mode == 'depth' and all(f.mode == 'depth' and f.depth for f in out)
    out = run_stream(sync, 0.3, 0.4)
    events = sync.pop_events()
    assert [(e.from_mode, e.to_mode) for e in events] == [('rgbd', 'depth'), ('depth', 'rgbd')]
    assert [f.mode for f in out] == ['depth', 'rgbd', 'rgbd']
    # RGB bad and depth gone too: rgb is the only option left.
    run_stream(sync, 0.4, 0.5, frozen_rgb=True)
    run_stream(sync, 0.5, 1.5, depth=False, frozen_rgb=True)
    assert sync.mode == 'rgb'


def test_bad_rgb_is_ignored_without_depth_mode():
    sync = make(depth_mode=False)
    out = run_stream(sync, 0.0, 0.3, frozen_rgb=True)
    assert sync.mode == 'rgbd' and all(f.mode == 'rgbd' for f in out)
    assert sync.stats.bad_rgb == len(out)


def test_out_of_order_duplicate_and_late_stamps():
    sync = make(sync_slop=0.001)
    for t in (1.0, 1.1, 1.2):
        sync.add_depth(t, FRAME, t, 0.9, now=1.3)
    assert not sync.add_depth(1.1, FRAME, 'again', 0.9, now=1.3)
    sync.add_rgb(1.1, FRAME, 'b', now=1.3)
    sync.add_rgb(1.0, FRAME, 'a', now=1.3)  # out of order while pending
    assert not sync.add_rgb(1.1, FRAME, 'b again', now=1.3)
    out = sync.pop_ready(1.3)
    assert [(f.rgb, f.depth) for f in out] == [('a', 1.0), ('b', 1.1)]
    assert not sync.add_rgb(1.05, FRAME, 'late', now=1.31)
    assert sync.stats.duplicates == 2 and sync.stats.late == 1
    sync.add_rgb(1.2, FRAME, 'c', now=1.31)
    assert [f.depth for f in sync.pop_ready(1.31)] == [1.2]


def test_bag_loop_resets_without_losing_frames_or_switching_mode():
    sync = make(depth_timeout=0.2)
    out = run_stream(sync, 50.0, 51.0)
    sync.add_rgb(51.0, FRAME, 'pending', now=51.0)  # waits for its depth
    # Bag loops: stamps and the bag clock restart at 0.
    out += run_stream(sync, 0.0, 1.0)
    assert sync.stats.resets == 1
    assert sync.pop_events() == []
    assert sync.mode == 'rgbd'
    assert 'pending' in [f.rgb for f in out]
    assert len(out) == 30 + 1 + 30
    assert all(f.mode == 'rgbd' for f in out if f.rgb != 'pending')


def test_sim_time_reset_restarts_the_timeout_clock():
    sync = make(depth_timeout=0.2)
    run_stream(sync, 1000.0, 1001.0)
    # Clock goes back to 0: a stale 'last good depth' at 1001 s would never time out.
    run_stream(sync, 0.0, 0.1)
    run_stream(sync, 0.1, 1.0, depth=False)
    assert sync.mode == 'rgb'
    (event,) = sync.pop_events()
    assert 0.1 + 0.2 - PERIOD < event.t <= 0.1 + 0.2 + PERIOD


def test_frame_id_mismatch_unless_registered():
    sync = make()
    sync.add_rgb(1.0, FRAME, 'r', now=1.0)
    assert not sync.add_depth(1.0, 'depth_optical', 'd', 0.9, now=1.0)
    assert sync.stats.frame_id_mismatch == 1
    reg = make(registered_depth=True)
    reg.add_rgb(1.0, FRAME, 'r', now=1.0)
    assert reg.add_depth(1.0, 'depth_optical', 'd', 0.9, now=1.0)
    (frame,) = reg.pop_ready(1.0)
    assert frame.depth == 'd' and frame.intrinsics == K  # intrinsics of the RGB frame


def test_depth_of_another_frame_queued_before_the_rgb_is_never_paired():
    """
    Issue 17 (fuzzing): depth that came before the first RGB, or before the RGB frame_id
    changed, was not checked against the RGB frame_id and got paired with it.
    """
    sync = make()
    sync.add_camera_info('other', K)
    sync.add_depth(1.0, 'other', 'd_other', 0.9, now=1.0)  # no RGB yet: nothing to compare
    sync.add_rgb(1.0, FRAME, 'rgb', now=1.0)
    sync.add_depth(1.0 + PERIOD, FRAME, 'd_late', 0.9, now=1.0 + PERIOD)
    (frame,) = sync.pop_ready(1.0 + PERIOD)
    assert (frame.rgb, frame.depth, frame.mode) == ('rgb', None, 'rgb')
    assert sync.stats.unpaired == 1
    # The same after a frame_id change: the old frame's depth stays with the old frame.
    sync.add_depth(2.0, FRAME, 'd_old', 0.9, now=2.0)
    sync.add_rgb(2.0, 'other', 'rgb_new', now=2.0)
    (frame,) = sync.flush(2.0)
    assert (frame.rgb, frame.depth, frame.mode) == ('rgb_new', None, 'rgb')


def test_missing_camera_info_runs_rgb():
    sync = RgbdSynchronizer(SyncConfig(sync_slop=0.01))
    sync.add_depth(1.0, FRAME, 'd', 0.9)
    sync.add_rgb(1.0, FRAME, 'r')
    (frame,) = sync.pop_ready(1.0)
    assert frame.mode == 'rgb' and frame.intrinsics is None
    assert sync.stats.missing_camera_info == 1


def test_queue_overflow_forces_frames_out_in_order():
    sync = make(queue_size=4, depth_timeout=10.0)
    sync.add_depth(0.0, FRAME, 'd', 0.9)
    for i in range(1, 7):
        sync.add_rgb(i * 0.1, FRAME, i, now=0.0)
    out = sync.pop_ready(0.0)
    assert [f.rgb for f in out] == [1, 2]
    assert sync.stats.queue_overflow == 2 and sync.pending == 4
    assert [f.rgb for f in sync.flush(0.0)] == [3, 4, 5, 6]


def test_config_validation_names_the_field():
    with pytest.raises(ValueError, match='min_valid_depth_ratio'):
        SyncConfig(min_valid_depth_ratio=1.5)
    with pytest.raises(ValueError, match='recover_frames'):
        SyncConfig(recover_frames=0)


def test_rgb_health_check_black_and_frozen():
    rng = np.random.default_rng(0)
    check = RgbHealthCheck(black_level=4.0, frozen_frames=3)
    assert check(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    assert not check(np.zeros((48, 64, 3), np.uint8))
    frozen = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    assert [check(frozen) for _ in range(5)] == [True, True, True, False, False]
    assert check(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))


def test_resize_nearest_by_pixel_centres():
    img = np.arange(6, dtype=np.float32).reshape(2, 3)
    up = resize_nearest(img, 6, 4)
    np.testing.assert_array_equal(up, np.repeat(np.repeat(img, 2, axis=0), 2, axis=1))
    down = resize_nearest(np.arange(16).reshape(4, 4), 2, 2)
    np.testing.assert_array_equal(down, [[5, 7], [13, 15]])  # centres (1, 3) of each 2x2 block
    rgb = np.zeros((4, 4, 3), np.uint8)
    assert resize_nearest(rgb, 2, 2).shape == (2, 2, 3)


def test_match_intrinsics_scales_only_when_sizes_differ():
    assert match_intrinsics(K, 160, 120) is K
    half = match_intrinsics(K, 80, 60)
    assert (half.fx, half.cx, half.cy, half.width) == (50.0, 39.5, 29.5, 80)


def test_latest_slot_drops_oldest_and_wakes_the_worker():
    slot = LatestSlot()
    assert slot.get(timeout=0.01) is None
    slot.put(1)
    assert slot.put(2) is True
    assert slot.get(timeout=0.01) == 2 and slot.dropped == 1
    got = []
    worker = threading.Thread(target=lambda: got.append(slot.get(timeout=5.0)))
    worker.start()
    time.sleep(0.05)
    slot.put(3)
    worker.join(timeout=5.0)
    assert got == [3]
    slot.close()
    assert slot.get(timeout=5.0) is None
