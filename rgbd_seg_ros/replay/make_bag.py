# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Record a synthetic RGB-D camera sequence as a rosbag2 (mcap or sqlite3), with depth outages.

``python -m rgbd_seg_ros.replay.make_bag --out BAG --frames 120 --rate 15 --depth-gap 3:5``

The camera moves through a room of the synthetic world ``--world`` (default ``nyu_like``, the
world of the shipped demo models; ``rgbd_seg_ros.sim.WORLDS``).

Topics (RealSense names, as the bags in the shared fixtures):

- ``/camera/color/image_raw``: ``rgb8``
- ``/camera/aligned_depth_to_color/image_raw``: ``16UC1`` millimetres, 0 = no return
- ``/camera/color/camera_info``: the pinhole intrinsics of the colour image
- ``/camera/segmentation/ground_truth``: ``mono8`` class ids of ``SYNTHETIC_LABELS``, 255 ignore

Header stamps equal the bag receive times: frame i is at ``start + i / rate`` seconds. Outage
windows are given in seconds since the first frame: ``--depth-gap T1:T2`` drops the depth
messages with ``T1 <= t < T2`` (the sensor stops publishing), ``--depth-invalid T1:T2`` keeps
publishing them with every pixel 0 (the sensor runs but sees nothing).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
import logging
from pathlib import Path

import numpy as np
from tqdm import tqdm

from rgbd_seg_ros.core.depth import metres_to_depth_mm
from rgbd_seg_ros.replay.bag_io import KNOWN_STORAGES, BagTopics
from rgbd_seg_ros.replay.bag_writer import RgbdBagWriter
from rgbd_seg_ros.sim.style import DEFAULT_WORLD, WORLDS

LOG = logging.getLogger(__name__)

DEFAULT_START_S = 1_700_000_000  # bag start, seconds since the epoch (fixed: reproducible bags)


@dataclass(frozen=True)
class Window:
    """A half-open time window ``[start_s, end_s)`` in seconds since the first frame."""

    start_s: float
    end_s: float

    def __post_init__(self) -> None:
        if not (np.isfinite(self.start_s) and np.isfinite(self.end_s)):
            raise ValueError(f'window bounds must be finite, got {self.start_s}:{self.end_s}')
        if self.end_s <= self.start_s or self.start_s < 0:
            raise ValueError(
                f'window {self.start_s}:{self.end_s} must satisfy 0 <= T1 < T2 (seconds)'
            )

    def contains(self, t_s: float) -> bool:
        """True when ``start_s <= t_s < end_s``."""
        return self.start_s <= t_s < self.end_s

    @classmethod
    def parse(cls, text: str) -> Window:
        """Parse ``'T1:T2'`` (seconds since the first frame)."""
        parts = text.split(':')
        if len(parts) != 2:
            raise ValueError(f'time window {text!r} must look like T1:T2 (seconds), e.g. 2.5:4')
        try:
            start, end = float(parts[0]), float(parts[1])
        except ValueError:
            raise ValueError(
                f'time window {text!r} must look like T1:T2 (seconds), e.g. 2.5:4') from None
        return cls(start, end)


def parse_size(text: str) -> tuple[int, int]:
    """Parse ``'HxW'`` (rows x columns, e.g. ``240x320``) into ``(height, width)``."""
    try:
        height, width = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise ValueError(f'size {text!r} must look like HxW, e.g. 240x320') from None
    if height < 8 or width < 8:
        raise ValueError(f'size {text!r} is too small (at least 8x8)')
    return height, width


def make_bag(
    out: str | Path,
    frames: int,
    rate_hz: float,
    storage: str = 'mcap',
    seed: int = 0,
    size: tuple[int, int] = (240, 320),
    depth_gaps: Sequence[Window] = (),
    depth_invalid: Sequence[Window] = (),
    ground_truth: bool = True,
    start_s: float = DEFAULT_START_S,
    topics: BagTopics | None = None,
    progress: bool = True,
    world: str = DEFAULT_WORLD,
) -> dict[str, int]:
    """
    Record ``frames`` frames of ``SyntheticSequence(seed, W, H, world=world)`` at ``rate_hz``.

    :param size: ``(height, width)`` of every image, pixels.
    :param world: synthetic world variant (``rgbd_seg_ros.sim.WORLDS``).
    :returns: message count per topic.
    """
    from rgbd_seg_ros.sim import SyntheticSequence

    if frames <= 0:
        raise ValueError(f'--frames must be positive, got {frames}')
    if not np.isfinite(rate_hz) or rate_hz <= 0:
        raise ValueError(f'--rate must be a positive number of Hz, got {rate_hz}')
    if storage not in KNOWN_STORAGES:
        raise ValueError(f'unknown storage {storage!r}; expected one of {KNOWN_STORAGES}')
    height, width = size
    sequence = SyntheticSequence(seed, width, height, world=world)
    start_ns = int(round(start_s * 1e9))
    topics = topics or BagTopics()
    if not ground_truth:
        topics = BagTopics(topics.rgb, topics.depth, topics.camera_info, '')
    with RgbdBagWriter(out, storage=storage, topics=topics) as writer:
        for i in tqdm(range(frames), desc=f'recording {Path(out).name}', unit='frame',
                      disable=not progress):
            t_ns = start_ns + int(round(i * 1e9 / rate_hz))
            t_s = (t_ns - start_ns) / 1e9
            frame = sequence.frame(i, t_s)
            depth_mm = None
            if not any(w.contains(t_s) for w in depth_gaps):
                depth_mm = metres_to_depth_mm(np.where(frame.valid, frame.depth_m, 0.0))
                if any(w.contains(t_s) for w in depth_invalid):
                    depth_mm = np.zeros_like(depth_mm)
            writer.write_frame(
                t_ns, frame.rgb, depth_mm, frame.intrinsics,
                frame.label if ground_truth else None,
            )
        counts = dict(writer.counts)
    LOG.info('wrote %s (%s): %s', out, storage, counts)
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(
        prog='python -m rgbd_seg_ros.replay.make_bag',
        description='Record a synthetic RGB-D sequence (with optional depth outages) as rosbag2.',
    )
    parser.add_argument('--out', required=True, help='bag directory to create (must not exist)')
    parser.add_argument('--storage', choices=KNOWN_STORAGES, default='mcap',
                        help='rosbag2 storage plugin (default mcap; sqlite3 is Humble default)')
    parser.add_argument('--frames', type=int, default=90, help='number of camera frames')
    parser.add_argument('--rate', type=float, default=15.0, help='frame rate, Hz')
    parser.add_argument('--depth-gap', action='append', default=[], metavar='T1:T2',
                        help='no depth messages for T1 <= t < T2 (s since first frame); repeat')
    parser.add_argument('--depth-invalid', action='append', default=[], metavar='T1:T2',
                        help='depth messages with every pixel 0 for T1 <= t < T2; repeat')
    parser.add_argument('--seed', type=int, default=0, help='synthetic scene seed')
    parser.add_argument('--world', choices=tuple(WORLDS), default=DEFAULT_WORLD,
                        help='synthetic world variant (default %(default)s)')
    parser.add_argument('--size', default='240x320', help='image size HxW (rows x columns)')
    parser.add_argument('--no-ground-truth', action='store_true',
                        help='do not record the ground-truth label topic')
    parser.add_argument('--start', type=float, default=DEFAULT_START_S,
                        help='stamp of the first frame, seconds since the epoch')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s')
    try:
        counts = make_bag(
            args.out, args.frames, args.rate, storage=args.storage, seed=args.seed,
            size=parse_size(args.size),
            depth_gaps=[Window.parse(w) for w in args.depth_gap],
            depth_invalid=[Window.parse(w) for w in args.depth_invalid],
            ground_truth=not args.no_ground_truth, start_s=args.start, world=args.world,
        )
    except ValueError as exc:
        parser.error(str(exc))
    for topic, count in counts.items():
        print(f'{count:6d}  {topic}')
    print(f'bag: {args.out}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
