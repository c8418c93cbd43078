# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The soak's camera: the synthetic RGB-D world published like camera_sim_node (rgb8, 16UC1 mm,
camera_info; sensor-data QoS), with faults from a schedule (``make_schedule``, a JSON file):

=================  ==============================================================================
kind               what is published while it is active
=================  ==============================================================================
depth_stops        no depth
depth_invalid      depth all zeros (no valid pixel)
rgb_black          all-black RGB
camera_info_stops  no camera_info (the node runs on the intrinsics it cached)
resolution         RGB, depth and camera_info at half the resolution
frame_id           RGB, depth and camera_info in another frame (``camera_alt_optical_frame``)
stamps_back        at its start the stamps jump ``STAMP_JUMP_S`` back and stay there (a bag loop)
malformed          besides every frame, ``MALFORMED_PER_FRAME`` malformed messages (bad sizes,
                   steps, encodings, uncalibrated or NaN camera_info), each stamp unique
depth_late         depth published ``DEPTH_LATE_S`` after its RGB (stamps right), beyond the slop
=================  ==============================================================================

It writes a JSON-lines log: a ``start`` line (wall time of t = 0), one line per valid RGB frame
(stamp ns, wall publish time, active fault) and an ``end`` line with the counts of malformed
messages per topic. Run by ``bench/soak.py``::

    python bench/fault_injector.py --schedule S.json --log pub.jsonl --width 640 --height 480
"""

from __future__ import annotations

import argparse
from collections import Counter, deque
import json
from pathlib import Path
import random
import sys
import time
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

FAULT_KINDS = ('depth_stops', 'depth_invalid', 'rgb_black', 'camera_info_stops', 'resolution',
               'frame_id', 'stamps_back', 'malformed', 'depth_late')
# Mode switches each fault must cause (segmentation_node with fusion, rgb and depth models).
EXPECTED_SWITCHES = {
    'depth_stops': ['rgbd->rgb', 'rgb->rgbd'],
    'depth_invalid': ['rgbd->rgb', 'rgb->rgbd'],
    'rgb_black': ['rgbd->depth', 'depth->rgbd'],
}
# Seconds each fault lasts with the default 20 s period (scaled down for shorter periods).
DURATION_S = {'depth_stops': 3.0, 'depth_invalid': 3.0, 'rgb_black': 3.0,
              'camera_info_stops': 5.0, 'resolution': 5.0, 'frame_id': 5.0, 'stamps_back': 1.0,
              'malformed': 2.0, 'depth_late': 4.0}
FRAME_ID = 'camera_color_optical_frame'
ALT_FRAME_ID = 'camera_alt_optical_frame'
STAMP_JUMP_S = 10.0
DEPTH_LATE_S = 0.15
MALFORMED_PER_FRAME = 3


def make_schedule(seed: int, duration_s: float, period_s: float = 20.0,
                  first_s: float | None = None) -> list[dict[str, Any]]:
    """
    Faults every ``period_s`` (+-15 % jitter) over ``duration_s`` seconds, from ``seed``.

    Kinds come in shuffled rounds of all nine, so every kind occurs once per ``9 * period_s``.
    Durations are ``DURATION_S`` scaled by ``period_s / 20`` (at least 1.5 s, so that a depth
    stop outlasts the node's depth timeout).
    :returns: ``[{'kind', 'start', 'end'}, ...]`` in seconds since the first frame.
    """
    rng = random.Random(seed)
    scale = min(1.0, period_s / 20.0)
    faults: list[dict[str, Any]] = []
    t = period_s / 2 if first_s is None else first_s
    kinds: list[str] = []
    while True:
        if not kinds:
            kinds = list(FAULT_KINDS)
            rng.shuffle(kinds)
        kind = kinds.pop()
        end = t + max(DURATION_S[kind] * scale, min(DURATION_S[kind], 1.5))
        if end + 0.25 * period_s > duration_s:
            return faults
        faults.append({'kind': kind, 'start': round(t, 3), 'end': round(end, 3)})
        t += period_s * rng.uniform(0.85, 1.15)


class _Frames:
    """Pre-rendered messages of one resolution (the camera loops them, as camera_sim does)."""

    def __init__(self, seed: int, width: int, height: int, count: int, rate: float) -> None:
        import numpy as np

        from rgbd_seg_ros.ros import conversions as conv
        from rgbd_seg_ros.sim import SyntheticSequence

        seq = SyntheticSequence(seed, width, height)
        frames = [seq.frame(i, i / rate) for i in range(count)]
        self.rgb = [conv.rgb_to_image(f.rgb) for f in frames]
        self.depth = [conv.depth_m_to_image(f.depth_m) for f in frames]
        self.info = conv.intrinsics_to_camera_info(frames[0].intrinsics)
        self.black = conv.rgb_to_image(np.zeros((height, width, 3), np.uint8))
        self.invalid = conv.depth_m_to_image(np.zeros((height, width), np.float32))
        self.size = (width, height)


def _malformed(width: int, height: int) -> list[tuple[str, Any]]:
    """(topic role, message) of every malformed kind; the node must drop and count each."""
    from sensor_msgs.msg import CameraInfo, Image

    def image(encoding: str, h: int, w: int, step: int, size: int) -> Image:
        msg = Image(height=h, width=w, encoding=encoding, step=step)
        msg.data = bytes(size)
        return msg
    nan_info = CameraInfo(width=width, height=height)
    nan_info.k = [float('nan'), 0.0, 1.0, 0.0, float('nan'), 1.0, 0.0, 0.0, 1.0]
    return [
        ('rgb', image('rgb8', height, width, 3 * width, 3 * width * height - 1)),  # short
        ('rgb', image('yuv422', height, width, 2 * width, 2 * width * height)),  # encoding
        ('rgb', image('rgb8', 0, 0, 0, 0)),  # zero size
        ('rgb', image('rgb8', height, width, 3 * width, 3 * width * height + 7)),  # long
        ('depth', image('16UC1', height, width, width, width * height)),  # step < 2 * width
        ('depth', image('32FC3', height, width, 12 * width, 12 * width * height)),  # encoding
        ('depth', image('16UC1', height, 1 << 20, 1 << 21, 64)),  # huge width, no data
        ('camera_info', CameraInfo(width=width, height=height)),  # uncalibrated: K = 0
        ('camera_info', nan_info),
        ('camera_info', CameraInfo(width=0, height=0)),
    ]


def run(args: argparse.Namespace) -> int:
    """Publish until the schedule's end; returns the exit status."""
    import rclpy
    from std_msgs.msg import Header

    from rgbd_seg_ros.ros.qos import qos_profile

    schedule = json.loads(Path(args.schedule).read_text())
    faults, duration = schedule['faults'], float(schedule['duration_s'])
    full = _Frames(args.seed, args.width, args.height, args.frames, args.rate)
    half = _Frames(args.seed, args.width // 2, args.height // 2, args.frames, args.rate)
    rclpy.init()
    node = rclpy.create_node('soak_fault_injector')
    from sensor_msgs.msg import CameraInfo, Image

    qos = qos_profile('sensor_data', 5)
    pubs = {'rgb': node.create_publisher(Image, 'rgb/image_rect_color', qos),
            'depth': node.create_publisher(Image, 'depth_registered/image_rect', qos),
            'camera_info': node.create_publisher(CameraInfo, 'rgb/camera_info', qos)}
    bad = {size: _malformed(*size) for size in (full.size, half.size)}
    log = open(args.log, 'w')  # noqa: SIM115 - closed in finally
    sent_bad: Counter[str] = Counter()
    late: deque[tuple[float, Any]] = deque()
    try:
        deadline = time.monotonic() + 60.0
        while min(p.get_subscription_count() for p in pubs.values()) < 1:
            if time.monotonic() > deadline:
                print('no subscriber matched within 60 s', file=sys.stderr)
                return 3
            rclpy.spin_once(node, timeout_sec=0.05)
        time.sleep(0.5)  # let the readers finish matching
        t0_wall, t0 = time.time(), time.monotonic()
        log.write(json.dumps({'start': t0_wall, 'faults': faults}) + '\n')
        offset_ns, jumped, i, bad_index = 0, set(), 0, 0
        period = 1.0 / args.rate
        while True:
            tick = t0 + i * period
            while late and late[0][0] <= time.monotonic():
                pubs['depth'].publish(late.popleft()[1])
            pause = tick - time.monotonic()
            if pause > 0:
                time.sleep(min(pause, period))
                continue
            t = tick - t0
            if t >= duration:
                break
            active = next((f for f in faults if f['start'] <= t < f['end']), None)
            kind = active['kind'] if active else ''
            if kind == 'stamps_back' and active['start'] not in jumped:
                jumped.add(active['start'])
                offset_ns -= int(STAMP_JUMP_S * 1e9)
            frames = half if kind == 'resolution' else full
            stamp_ns = time.time_ns() + offset_ns
            header = Header(frame_id=ALT_FRAME_ID if kind == 'frame_id' else FRAME_ID)
            header.stamp.sec, header.stamp.nanosec = divmod(stamp_ns, 1_000_000_000)
            if kind != 'camera_info_stops':
                frames.info.header = header
                pubs['camera_info'].publish(frames.info)
            if kind != 'depth_stops':
                depth = frames.invalid if kind == 'depth_invalid' else frames.depth[
                    i % len(frames.depth)]
                depth.header = header
                if kind == 'depth_late':
                    # a copy: the looped message object is re-stamped before this one goes out
                    late.append((time.monotonic() + DEPTH_LATE_S, _copy_image(depth)))
                elif late:  # the delay ends: still in stamp order, behind the delayed ones
                    late.append((time.monotonic(), _copy_image(depth)))
                else:
                    pubs['depth'].publish(depth)
            rgb = frames.black if kind == 'rgb_black' else frames.rgb[i % len(frames.rgb)]
            rgb.header = header
            pubs['rgb'].publish(rgb)
            log.write(json.dumps({'s': stamp_ns, 't': time.time(), 'f': kind}) + '\n')
            if kind == 'malformed':
                for k in range(MALFORMED_PER_FRAME):
                    role, msg = bad[frames.size][(bad_index + k) % len(bad[frames.size])]
                    msg.header = Header(frame_id=header.frame_id)
                    bad_ns = stamp_ns + 100_000 * (k + 1)  # never a valid frame's stamp
                    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(bad_ns,
                                                                            1_000_000_000)
                    pubs[role].publish(msg)
                    sent_bad[role] += 1
                bad_index += MALFORMED_PER_FRAME
            i += 1
        log.write(json.dumps({'end': time.time(), 'frames': i, 'malformed': sent_bad}) + '\n')
        time.sleep(0.5)  # keep the writers alive while the last samples are read
    finally:
        log.close()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


def _copy_image(msg: Any) -> Any:
    from sensor_msgs.msg import Image

    out = Image(height=msg.height, width=msg.width, encoding=msg.encoding,
                is_bigendian=msg.is_bigendian, step=msg.step)
    out.header.stamp.sec, out.header.stamp.nanosec = msg.header.stamp.sec, msg.header.stamp.nanosec
    out.header.frame_id = msg.header.frame_id
    out._data = msg._data  # shared, never modified  # noqa: SLF001
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--schedule', required=True, help='JSON: {"duration_s", "faults"}')
    parser.add_argument('--log', required=True, help='JSON-lines output')
    parser.add_argument('--width', type=int, default=640)
    parser.add_argument('--height', type=int, default=480)
    parser.add_argument('--rate', type=float, default=30.0)
    parser.add_argument('--frames', type=int, default=8, help='pre-rendered frames to loop')
    parser.add_argument('--seed', type=int, default=0, help='scene seed')
    return run(parser.parse_args(argv))


if __name__ == '__main__':
    sys.exit(main())
