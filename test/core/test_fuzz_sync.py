# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Fuzzing the synchroniser: random configurations fed random interleavings of RGB, depth,
camera_info and clock ticks, with duplicate, out-of-order and backwards-jumping stamps and a
receive clock that stalls and jumps back. Whatever the input, the promises of
``RgbdSynchronizer`` hold: every accepted RGB frame comes out exactly once, in stamp order
between resets, paired only with a depth frame of its frame within ``sync_slop``, with a mode the
configuration allows; the queue stays bounded and nothing raises.
"""

from __future__ import annotations

from fuzz_support import Property, time_bound
from hypothesis import given
from hypothesis import strategies as st

from rgbd_seg_ros.core.camera import CameraIntrinsics
from rgbd_seg_ros.core.sync import KNOWN_MODES, RgbdSynchronizer, SyncConfig

FRAMES = ('cam', 'cam', 'cam', 'other')
INTRINSICS = CameraIntrinsics(500.0, 500.0, 319.5, 239.5, 640, 480)

configs = st.builds(
    SyncConfig,
    sync_slop=st.sampled_from([0.0, 0.005, 0.02, 0.05, 0.2]),
    depth_timeout=st.sampled_from([0.05, 0.2, 0.5, 2.0]),
    min_valid_depth_ratio=st.sampled_from([0.0, 0.3, 1.0]),
    recover_frames=st.integers(1, 4),
    registered_depth=st.booleans(),
    depth_mode=st.booleans(),
    queue_size=st.integers(1, 6),
    time_jump_threshold=st.sampled_from([0.1, 1.0, 5.0]),
)
# Stamps on a 30 Hz grid (so that duplicates and exact pairs happen), or anywhere.
stamps = st.one_of(st.integers(0, 90).map(lambda i: i / 30.0), st.floats(0.0, 4.0))
# The receive clock mostly moves forward a little, sometimes stalls or jumps back.
clock_steps = st.one_of(st.floats(0.0, 0.05), st.sampled_from([0.0, 0.4, 1.5, -0.5, -3.0]))
ops = st.one_of(
    st.tuples(st.just('rgb'), stamps, st.sampled_from(FRAMES), clock_steps, st.booleans()),
    st.tuples(st.just('depth'), stamps, st.sampled_from(FRAMES), clock_steps,
              st.sampled_from([0.0, 0.1, 0.3, 0.9, 1.0])),
    st.tuples(st.just('info'), st.sampled_from(FRAMES)),
    st.tuples(st.just('pop'), clock_steps),
)
cases = st.tuples(configs, st.lists(ops, max_size=60), st.booleans())


def check_sync(case: tuple[SyncConfig, list[tuple], bool]) -> str:
    """Run one interleaving; asserts the synchroniser's promises (see the module docstring)."""
    config, script, with_offset = case
    sync = RgbdSynchronizer(config)
    now = 100.0 if with_offset else 0.0  # receive clock ahead of the stamps, or equal
    accepted: dict[int, tuple[float, str, int]] = {}  # id -> (stamp, frame_id, reset epoch)
    depth_ids: dict[int, tuple[float, str]] = {}
    emitted: list = []
    with time_bound(10.0):
        for i, op in enumerate(script):
            kind = op[0]
            if kind == 'rgb':
                _, stamp, frame_id, step, ok = op
                now += step
                if sync.add_rgb(stamp, frame_id, i, now=now, rgb_ok=ok):
                    accepted[i] = (stamp, frame_id, sync.stats.resets)
            elif kind == 'depth':
                _, stamp, frame_id, step, ratio = op
                now += step
                if sync.add_depth(stamp, frame_id, i, ratio, now=now):
                    depth_ids[i] = (stamp, frame_id)
            elif kind == 'info':
                sync.add_camera_info(op[1], INTRINSICS)
            else:
                now += op[1]
                emitted += sync.pop_ready(now)
            assert sync.pending <= config.queue_size
            assert sync.mode in KNOWN_MODES
        emitted += sync.flush(now)
        events = sync.pop_events()
    ids = [f.rgb for f in emitted]
    assert sorted(ids) == sorted(accepted), 'every accepted RGB frame exactly once'
    assert sync.stats.rgb_in == sync.stats.emitted == len(accepted)
    assert sync.stats.mode_switches == len(events)
    last: dict[int, float] = {}
    for frame in emitted:
        stamp, frame_id, epoch = accepted[frame.rgb]
        assert (frame.stamp, frame.frame_id) == (stamp, frame_id)
        assert frame.stamp > last.get(epoch, float('-inf')), 'stamp order between resets'
        last[epoch] = frame.stamp
        assert frame.mode in (('rgbd', 'rgb', 'depth') if config.depth_mode else ('rgbd', 'rgb'))
        if frame.mode == 'rgb':
            assert frame.depth is None and frame.depth_stamp is None
            continue
        assert frame.depth in depth_ids and frame.intrinsics is not None
        depth_stamp, depth_frame = depth_ids[frame.depth]
        assert frame.depth_stamp == depth_stamp
        assert abs(depth_stamp - frame.stamp) <= config.sync_slop
        if not config.registered_depth:
            assert depth_frame == frame.frame_id, 'depth of another frame paired'
    for event in events:
        assert event.from_mode != event.to_mode and event.reason
    return 'ok'


PROPERTIES = (Property('synchronizer', cases, check_sync),)


@given(cases)
def test_fuzz_synchronizer(case):
    check_sync(case)
