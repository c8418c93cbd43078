# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Reading RGB-D rosbags with ``rosbags`` (no ROS install, no DDS; ``bag_writer.py`` writes them).

 ``BagSource`` opens any rosbag2 directory, a bare ``.mcap``/``.db3`` file or ROS 1
``.bag`` files through ``rosbags.highlevel.AnyReader`` and yields ``BagRecord`` s of the topics
asked for, in bag (receive) time order. Messages that cannot be deserialised are skipped and
counted; a bag that cannot be opened, or that stops in the middle, raises ``BagError`` naming the
file and the reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
import logging
from pathlib import Path
from typing import Any

LOG = logging.getLogger(__name__)

KNOWN_STORAGES = ('mcap', 'sqlite3')
IMAGE_TYPE = 'sensor_msgs/msg/Image'
CAMERA_INFO_TYPE = 'sensor_msgs/msg/CameraInfo'
DEFAULT_FRAME_ID = 'camera_color_optical_frame'
# Roles of the topics replay reads; the values of a topic map are bag topic names.
KNOWN_ROLES = ('rgb', 'depth', 'camera_info', 'ground_truth')
_EXPECTED_TYPE = {
    'rgb': IMAGE_TYPE,
    'depth': IMAGE_TYPE,
    'camera_info': CAMERA_INFO_TYPE,
    'ground_truth': IMAGE_TYPE,
}


class BagError(ValueError):
    """A bag that cannot be read: missing, corrupted, truncated or without the needed topics."""


@dataclass(frozen=True)
class BagTopics:
    """Bag topic names of the streams replay uses (RealSense ``realsense2_camera`` names)."""

    rgb: str = '/camera/color/image_raw'  # sensor_msgs/Image, rgb8/bgr8/...
    depth: str = '/camera/aligned_depth_to_color/image_raw'  # Image 16UC1 mm / 32FC1 m
    camera_info: str = '/camera/color/camera_info'  # sensor_msgs/CameraInfo of the RGB image
    ground_truth: str = '/camera/segmentation/ground_truth'  # Image mono8 class ids ('' = none)

    def as_dict(self) -> dict[str, str]:
        """Role -> topic name, leaving out empty names."""
        return {role: name for role, name in self.__dict__.items() if name}


@dataclass(frozen=True)
class BagRecord:
    """One message of a replayed topic."""

    role: str  # one of KNOWN_ROLES
    topic: str  # topic name in the bag
    t_ns: int  # bag (receive) time, nanoseconds since the epoch
    msg: Any  # the deserialised rosbags message (fields as in ROS; Image.data is uint8 numpy)

    @property
    def stamp_ns(self) -> int:
        """``header.stamp`` in nanoseconds."""
        return stamp_ns(self.msg)


@dataclass(frozen=True)
class TopicInfo:
    """What the bag says about one topic."""

    name: str
    msgtype: str
    count: int
    qos: tuple[Any, ...] = ()  # rosbags ``Qos`` tuples offered by the recorded publishers


def stamp_ns(msg: Any) -> int:
    """``msg.header.stamp`` as integer nanoseconds."""
    stamp = msg.header.stamp
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def typestore() -> Any:
    """The ROS 2 Humble typestore (Image/CameraInfo identical to Jazzy and Kilted)."""
    from rosbags.typesys import Stores, get_typestore

    return get_typestore(Stores.ROS2_HUMBLE)


# --------------------------------------------------------------------------------------------
# Writing


def _bag_paths(path: Path) -> list[Path]:
    """The path list AnyReader wants: one rosbag2 dir/file, or the ROS 1 ``.bag`` files."""
    if not path.exists():
        raise BagError(f'bag not found: {path}')
    if path.is_dir():
        ros1 = sorted(path.glob('*.bag'))
        if ros1 and not (path / 'metadata.yaml').exists():
            return ros1
        if not (path / 'metadata.yaml').exists():
            files = sorted([*path.glob('*.mcap'), *path.glob('*.db3')])
            if len(files) == 1:
                return files
            raise BagError(
                f'{path} is not a rosbag2 directory: no metadata.yaml'
                + (f' and {len(files)} storage files' if files else ' and no .mcap/.db3 file')
            )
    return [path]


@dataclass
class BagSource:
    """
    An open bag: topic table, time range and a message iterator for the replayed roles.

    Use as a context manager: ``with BagSource(path) as bag: for rec in bag.records(topics)``.
    """

    path: Path
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> count
    _reader: Any = None

    def __post_init__(self) -> None:
        self.path = Path(self.path)

    def __enter__(self) -> BagSource:
        from rosbags.highlevel import AnyReader

        paths = _bag_paths(self.path)
        try:
            self._reader = AnyReader(paths, default_typestore=typestore())
            self._reader.open()
        except Exception as exc:  # rosbags raises several unrelated types for broken files
            self._reader = None
            hint = ''
            if 'magic' in str(exc).lower() or 'malformed' in str(exc).lower():
                hint = (' (a truncated or corrupted file; an interrupted mcap recording can be '
                        "repaired with 'mcap recover', a sqlite3 one with 'ros2 bag reindex')")
            raise BagError(f'cannot open bag {self.path}: {_describe(exc)}{hint}') from exc
        return self

    def __exit__(self, *exc: object) -> None:
        if self._reader is not None:
            try:
                self._reader.close()
            except Exception:  # noqa: BLE001 - closing a broken file must not hide the cause
                LOG.debug('closing %s failed', self.path, exc_info=True)
            self._reader = None

    @property
    def reader(self) -> Any:
        """The open ``AnyReader``."""
        if self._reader is None:
            raise RuntimeError('BagSource is not open; use it as a context manager')
        return self._reader

    @property
    def start_ns(self) -> int:
        """Bag time of the first message, nanoseconds since the epoch."""
        return int(self.reader.start_time)

    @property
    def end_ns(self) -> int:
        """Bag time of the last message, nanoseconds since the epoch."""
        return max(int(self.reader.end_time) - 1, self.start_ns)

    def topics(self) -> dict[str, TopicInfo]:
        """Topic name -> ``TopicInfo`` (type, message count, recorded QoS)."""
        out: dict[str, TopicInfo] = {}
        for conn in self.reader.connections:
            qos = tuple(getattr(conn.ext, 'offered_qos_profiles', ()) or ())
            prev = out.get(conn.topic)
            count = conn.msgcount + (prev.count if prev else 0)
            out[conn.topic] = TopicInfo(conn.topic, conn.msgtype, count, qos or
                                        (prev.qos if prev else ()))
        return out

    def check_topics(
        self, topics: Mapping[str, str], required: Sequence[str] = ('rgb',)
    ) -> dict[str, str]:
        """
        Validate role -> topic names against the bag.

        :returns: the roles whose topics are present with the expected type.
        :raises BagError: a required role is missing or has the wrong type; the message lists
            the bag's image topics and how to choose others.
        """
        table = self.topics()
        found: dict[str, str] = {}
        problems = []
        for role, name in topics.items():
            if role not in _EXPECTED_TYPE:
                raise ValueError(f'unknown topic role {role!r}; expected one of {KNOWN_ROLES}')
            if not name:
                continue
            info = table.get(name)
            if info is None:
                if role in required:
                    problems.append(f'{role} topic {name!r} is not in the bag')
                else:
                    LOG.info('%s topic %s not in %s', role, name, self.path)
                continue
            if info.msgtype != _EXPECTED_TYPE[role]:
                problems.append(f'{role} topic {name!r} has type {info.msgtype}, '
                                f'expected {_EXPECTED_TYPE[role]}')
                continue
            if info.count == 0 and role in required:
                problems.append(f'{role} topic {name!r} has no messages')
                continue
            found[role] = name
        if problems:
            listing = ', '.join(f'{t.name} [{t.msgtype}, {t.count}]' for t in table.values())
            raise BagError(
                f'{self.path}: ' + '; '.join(problems)
                + f'. Topics in the bag: {listing or "none"}. Choose the topics with --preset, '
                '--rgb-topic/--depth-topic/--camera-info-topic/--gt-topic or the node parameters '
                'rgb_topic/depth_topic/camera_info_topic.'
            )
        return found

    def records(
        self, topics: Mapping[str, str], start_ns: int | None = None, stop_ns: int | None = None
    ) -> Iterator[BagRecord]:
        """
        Yield the messages of ``topics`` (role -> name) in bag time order.

        Messages that fail to deserialise are skipped and counted in ``self.skipped``; a storage
        error in the middle (a truncated file) raises ``BagError`` after the readable part.
        """
        by_topic = {name: role for role, name in topics.items() if name}
        conns = [c for c in self.reader.connections if c.topic in by_topic]
        if not conns:
            return
        iterator = self.reader.messages(connections=conns, start=start_ns, stop=stop_ns)
        count = 0
        while True:
            try:
                conn, t_ns, raw = next(iterator)
            except StopIteration:
                return
            except Exception as exc:  # noqa: BLE001 - storage layer errors of many types
                raise BagError(
                    f'bag {self.path} is truncated or corrupted after {count} messages: '
                    f'{_describe(exc)}'
                ) from exc
            count += 1
            try:
                msg = self.reader.deserialize(raw, conn.msgtype)
            except Exception as exc:  # noqa: BLE001 - serde errors of several types
                self.skipped[f'undecodable {conn.topic}'] += 1
                LOG.warning('skipping undecodable message on %s at %d: %s', conn.topic, t_ns,
                            _describe(exc))
                continue
            yield BagRecord(by_topic[conn.topic], conn.topic, int(t_ns), msg)


    def raw_records(
        self, topics: Mapping[str, str]
    ) -> Iterator[tuple[str, str, int, bytes, str]]:
        """
        Yield ``(role, topic, t_ns, cdr_bytes, msgtype)`` in bag time order, for publishing.

        ROS 2 messages are passed through as recorded; ROS 1 messages are converted to CDR.
        """
        by_topic = {name: role for role, name in topics.items() if name}
        conns = [c for c in self.reader.connections if c.topic in by_topic]
        if not conns:
            return
        is_ros2 = bool(getattr(self.reader, 'is2', True))
        iterator = self.reader.messages(connections=conns)
        count = 0
        while True:
            try:
                conn, t_ns, raw = next(iterator)
            except StopIteration:
                return
            except Exception as exc:  # noqa: BLE001 - storage layer errors of many types
                raise BagError(
                    f'bag {self.path} is truncated or corrupted after {count} messages: '
                    f'{_describe(exc)}'
                ) from exc
            count += 1
            if not is_ros2:
                try:
                    raw = self.reader.typestore.ros1_to_cdr(raw, conn.msgtype)
                except Exception as exc:  # noqa: BLE001 - serde errors of several types
                    self.skipped[f'undecodable {conn.topic}'] += 1
                    LOG.warning('skipping unconvertible ROS 1 message on %s: %s', conn.topic,
                                _describe(exc))
                    continue
            yield by_topic[conn.topic], conn.topic, int(t_ns), bytes(raw), conn.msgtype


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f'{type(exc).__name__}: {text}' if text != type(exc).__name__ else text
