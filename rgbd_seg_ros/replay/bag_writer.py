# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Writing RGB-D rosbags with ``rosbags`` (no ROS install, no DDS): ``RgbdBagWriter`` records
rosbag2 (metadata version 8, CDR, typestore ROS 2 Humble, whose ``sensor_msgs`` Image/CameraInfo
definitions and RIHS01 hashes equal Jazzy's and Kilted's) in ``mcap`` or ``sqlite3`` storage,
with RealSense-style topic names by default. ``bag_io.py`` reads them back.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from rgbd_seg_ros.core.camera import CameraIntrinsics
from rgbd_seg_ros.replay.bag_io import (
    CAMERA_INFO_TYPE,
    DEFAULT_FRAME_ID,
    IMAGE_TYPE,
    KNOWN_STORAGES,
    BagTopics,
    typestore,
)


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
