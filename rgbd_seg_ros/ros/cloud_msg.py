# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Structured numpy points (``core/cloud.py``) <-> sensor_msgs/PointCloud2.

The message is unorganised (``height`` 1, ``width`` N), dense (invalid depth never became a
point), little endian, with one ``PointField`` per field of the array's dtype at its offset.
"""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import PointCloud2, PointField
from std_msgs.msg import Header

from rgbd_seg_ros.ros.conversions import fill_data

# numpy kind+size -> PointField datatype
_DATATYPES = {
    ('i', 1): PointField.INT8, ('u', 1): PointField.UINT8,
    ('i', 2): PointField.INT16, ('u', 2): PointField.UINT16,
    ('i', 4): PointField.INT32, ('u', 4): PointField.UINT32,
    ('f', 4): PointField.FLOAT32, ('f', 8): PointField.FLOAT64,
}
_NUMPY = {v: f'<{k[0]}{k[1]}' for k, v in _DATATYPES.items()}


def points_to_cloud(points: np.ndarray, header: Header | None = None) -> PointCloud2:
    """
    Structured ``[N]`` array -> PointCloud2 (one copy of the data).

    :raises ValueError: not a 1-D structured array, or a field type PointField cannot hold.
    """
    points = np.asarray(points)
    if points.dtype.names is None or points.ndim != 1:
        raise ValueError(f'points must be a 1-D structured array, got {points.dtype} '
                         f'{points.shape}')
    fields = []
    for name in points.dtype.names:
        dtype, offset = points.dtype.fields[name][:2]
        key = (dtype.kind, dtype.itemsize)
        if key not in _DATATYPES or dtype.byteorder == '>':
            raise ValueError(f'field {name!r}: dtype {dtype} has no little-endian PointField')
        fields.append(PointField(name=name, offset=int(offset), datatype=_DATATYPES[key],
                                 count=1))
    msg = PointCloud2()
    if header is not None:
        msg.header = header
    msg.height, msg.width = 1, int(points.shape[0])
    msg.fields = fields
    msg.is_bigendian = False
    msg.point_step = int(points.dtype.itemsize)
    msg.row_step = msg.point_step * msg.width
    msg.is_dense = True
    fill_data(msg, np.ascontiguousarray(points))
    return msg


def cloud_to_points(msg: PointCloud2) -> np.ndarray:
    """
    PointCloud2 -> structured ``[height * width]`` array with the message's fields.

    :raises ValueError: big-endian data, arrays (count != 1), unknown datatypes, sizes that do
        not add up.
    """
    if msg.is_bigendian:
        raise ValueError('big-endian PointCloud2 is not supported')
    names, formats, offsets = [], [], []
    for f in msg.fields:
        if f.count != 1 or f.datatype not in _NUMPY:
            raise ValueError(f'field {f.name!r}: datatype {f.datatype} count {f.count} '
                             'is not supported')
        names.append(f.name)
        formats.append(_NUMPY[f.datatype])
        offsets.append(f.offset)
    dtype = np.dtype({'names': names, 'formats': formats, 'offsets': offsets,
                      'itemsize': msg.point_step})
    n = int(msg.height) * int(msg.width)
    data = np.frombuffer(msg.data, dtype=np.uint8)
    if msg.row_step != msg.point_step * msg.width or data.size != msg.row_step * msg.height:
        raise ValueError(f'PointCloud2 has {data.size} bytes, expected row_step*height = '
                         f'{msg.row_step}*{msg.height} with row_step = point_step*width')
    return data.view(dtype)[:n] if n else np.zeros(0, dtype)
