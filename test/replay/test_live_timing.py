# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""The live evaluator's timing helpers: bag time and mode by middleware reception time."""

from __future__ import annotations

import pytest

from rgbd_seg_ros.replay.live import ClockMap, ModeTimeline

S = 1_000_000_000


def test_clock_map_takes_the_sample_current_at_the_instant():
    clock = ClockMap()
    assert clock.at(5 * S) is None  # nothing received yet
    # /clock every 25 ms of wall time, bag time starting at 100 s
    for k in range(41):
        clock.add(1000 * S + k * 25_000_000, 100 * S + k * 25_000_000)
    assert clock.at(1000 * S) == 100 * S
    assert clock.at(1000 * S + 24_999_999) == 100 * S  # not yet the next step
    assert clock.at(1000 * S + 25_000_000) == 100 * S + 25_000_000
    assert clock.at(1000 * S + 510_000_000) == 100 * S + 500_000_000
    assert clock.at(2000 * S) == 101 * S  # after the last sample: the last time
    assert clock.at(999 * S) == 100 * S  # before the first: the start of the bag


def test_clock_map_orders_samples_received_out_of_order_and_stays_bounded():
    clock = ClockMap(keep=10)
    for k in (3, 1, 2, 0):
        clock.add(k * S, 10 * k * S)
    assert [clock.at(k * S) for k in range(4)] == [0, 10 * S, 20 * S, 30 * S]
    for k in range(4, 40):
        clock.add(k * S, 10 * k * S)
    assert len(clock) <= 20
    assert clock.at(39 * S + 1) == 390 * S


def test_mode_timeline_by_reception_time_not_callback_order():
    modes = ModeTimeline()
    assert modes.add(10 * S, 'rgbd') == (None, 'rgbd')  # the latched start value
    assert modes.add(10 * S + 1, 'rgbd') is None  # repeated: no change
    # the callbacks ran late and out of order: the switch back was handled first
    assert modes.add(14 * S, 'rgbd') is None  # rgbd after rgbd, as far as is known yet
    assert modes.add(12 * S, 'rgb') == ('rgbd', 'rgb')  # received between the two
    assert modes.switches() == [(12 * S, 'rgbd', 'rgb'), (14 * S, 'rgb', 'rgbd')]
    assert modes.at(9 * S) is None
    assert modes.at(11 * S) == 'rgbd'
    assert modes.at(13 * S) == 'rgb'  # an output received then came from the RGB model
    assert modes.at(15 * S) == 'rgbd'


@pytest.mark.parametrize('hz', [0.0, -5.0, float('nan')])
def test_run_live_rejects_a_bad_clock_rate(tmp_path, hz):
    from rgbd_seg_ros.replay.live import run_live

    with pytest.raises(ValueError, match='clock-hz'):
        run_live(tmp_path / 'missing', {}, tmp_path / 'report', clock_hz=hz)
