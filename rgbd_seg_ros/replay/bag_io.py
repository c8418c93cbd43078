# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Reading and writing RGB-D rosbags with ``rosbags`` (no ROS install, no DDS).

Writing: ``RgbdBagWriter`` records rosbag2 (metadata version 8, CDR, typestore ROS 2 Humble,
whose ``sensor_msgs`` Image/CameraInfo definitions and RIHS01 hashes equal Jazzy's and Kilted's)
in ``mcap`` or ``sqlite3`` storage, with RealSense-style topic names by default.

Reading: ``BagSource`` opens any rosbag2 directory, a bare ``.mcap``/``.db3`` file or ROS 1
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

import numpy as np

from rgbd_seg_ros.core.camera import CameraIntrinsics

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


def sensor_data_qos() -> Any:
    """rosbags ``Qos`` of a camera driver's sensor-data publisher (best effort, keep last 5)."""
    from rosbags.interfaces import (
        Qos,
        QosDurability,
        QosHistory,
        QosLiveliness,
        QosReliability,
        QosTime,
    )

    zero = QosTime(0, 0)
    return Qos(
        QosHistory.KEEP_LAST, 5, QosReliability.BEST_EFFORT, QosDurability.VOLATILE,
        zero, zero, QosLiveliness.AUTOMATIC, zero, False,
    )


# --------------------------------------------------------------------------------------------
# Writing


class RgbdBagWriter:
    """
    Context manager that records RGB, depth, camera_info and label images as rosbag2.

    Every ``write_*`` takes ``t_ns``, used both as ``header.stamp`` and as the bag receive time,
    so replay sees the recording exactly as a perfectly timed driver would have produced it.
    """

    def __init__(
        self,
        path: str | Path,
        storage: str = 'mcap',
        topics: BagTopics | None = None,
        frame_id: str = DEFAULT_FRAME_ID,
    ) -> None:
        if storage not in KNOWN_STORAGES:
            raise ValueError(f'unknown storage {storage!r}; expected one of {KNOWN_STORAGES}')
        self.path = Path(path)
        if self.path.exists():
            raise ValueError(f'bag {self.path} exists already; remove it or pick another --out')
        self.storage = storage
        self.topics = topics or BagTopics()
        self.frame_id = frame_id
        self._store = typestore()
        self._writer: Any = None
        self._connections: dict[str, Any] = {}
        self.counts: Counter[str] = Counter()

    def __enter__(self) -> RgbdBagWriter:
        from rosbags.rosbag2 import StoragePlugin, Writer

        plugin = StoragePlugin.MCAP if self.storage == 'mcap' else StoragePlugin.SQLITE3
        self._writer = Writer(self.path, version=8, storage_plugin=plugin)
        self._writer.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self._writer.close()
        self._writer = None

    def _connection(self, topic: str, msgtype: str) -> Any:
        if self._writer is None:
            raise RuntimeError('RgbdBagWriter must be used as a context manager')
        if topic not in self._connections:
            self._connections[topic] = self._writer.add_connection(
                topic, msgtype, typestore=self._store, offered_qos_profiles=[sensor_data_qos()]
            )
        return self._connections[topic]

    def _header(self, t_ns: int) -> Any:
        types = self._store.types
        stamp = types['builtin_interfaces/msg/Time'](
            sec=int(t_ns // 1_000_000_000), nanosec=int(t_ns % 1_000_000_000)
        )
        return types['std_msgs/msg/Header'](stamp=stamp, frame_id=self.frame_id)

    def write_message(self, topic: str, t_ns: int, msg: Any) -> None:
        """Serialise a rosbags message and record it at bag time ``t_ns``."""
        conn = self._connection(topic, msg.__msgtype__)
        self._writer.write(conn, int(t_ns), self._store.serialize_cdr(msg, msg.__msgtype__))
        self.counts[topic] += 1

    def write_image(self, topic: str, t_ns: int, array: np.ndarray, encoding: str) -> None:
        """
        Record an image.

        :param array: ``[H, W]`` or ``[H, W, C]`` with the dtype the encoding implies (uint8 for
            ``rgb8``/``mono8``, uint16 for ``16UC1``, float32 for ``32FC1``); little endian.
        """
        array = np.ascontiguousarray(array)
        if array.ndim not in (2, 3):
            raise ValueError(f'image must be [H, W] or [H, W, C], got shape {array.shape}')
        little = array.astype(array.dtype.newbyteorder('<'), copy=False)
        height, width = array.shape[:2]
        msg = self._store.types[IMAGE_TYPE](
            header=self._header(t_ns),
            height=height,
            width=width,
            encoding=encoding,
            is_bigendian=0,
            step=int(little.strides[0]),
            data=np.frombuffer(little.tobytes(), dtype=np.uint8),
        )
        self.write_message(topic, t_ns, msg)

    def write_camera_info(self, topic: str, t_ns: int, intrinsics: CameraIntrinsics) -> None:
        """Record a plumb_bob CameraInfo without distortion (rectified pinhole)."""
        types = self._store.types
        k = intrinsics.K.reshape(-1)
        p = np.array(
            [k[0], 0.0, k[2], 0.0, 0.0, k[4], k[5], 0.0, 0.0, 0.0, 1.0, 0.0], dtype=np.float64
        )
        msg = types[CAMERA_INFO_TYPE](
            header=self._header(t_ns),
            height=intrinsics.height,
            width=intrinsics.width,
            distortion_model='plumb_bob',
            d=np.zeros(5, dtype=np.float64),
            k=k.astype(np.float64),
            r=np.eye(3, dtype=np.float64).reshape(-1),
            p=p,
            binning_x=0,
            binning_y=0,
            roi=types['sensor_msgs/msg/RegionOfInterest'](
                x_offset=0, y_offset=0, height=0, width=0, do_rectify=False
            ),
        )
        self.write_message(topic, t_ns, msg)

    def write_frame(
        self,
        t_ns: int,
        rgb: np.ndarray | None,
        depth_mm: np.ndarray | None,
        intrinsics: CameraIntrinsics | None,
        labels: np.ndarray | None = None,
    ) -> None:
        """
        Record one camera frame; ``None`` parts are left out (a depth gap, no ground truth).

        Order at equal time: camera_info, depth, ground truth, then RGB, as a driver publishes.

        :param rgb: uint8 ``[H, W, 3]`` in RGB order (``rgb8``).
        :param depth_mm: uint16 ``[H, W]`` millimetres, 0 = no return (``16UC1``).
        :param labels: uint8 ``[H, W]`` class ids, 255 = ignore (``mono8``).
        """
        if intrinsics is not None:
            self.write_camera_info(self.topics.camera_info, t_ns, intrinsics)
        if depth_mm is not None:
            if depth_mm.dtype != np.uint16:
                raise ValueError(f'depth_mm must be uint16 millimetres, got {depth_mm.dtype}')
            self.write_image(self.topics.depth, t_ns, depth_mm, '16UC1')
        if labels is not None and self.topics.ground_truth:
            if labels.dtype != np.uint8:
                raise ValueError(f'labels must be uint8 class ids, got {labels.dtype}')
            self.write_image(self.topics.ground_truth, t_ns, labels, 'mono8')
        if rgb is not None:
            if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
                raise ValueError(f'rgb must be uint8 [H, W, 3], got {rgb.dtype} {rgb.shape}')
            self.write_image(self.topics.rgb, t_ns, rgb, 'rgb8')


# --------------------------------------------------------------------------------------------
# Reading


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
