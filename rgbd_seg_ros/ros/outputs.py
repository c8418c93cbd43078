# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The node's outputs: output profiles, the one table of every output topic, and publishing.

Profiles (parameter ``output_profile``):

- ``default``: ``segmentation/labels`` (mono8, mono16 above 255 classes), optional float
  ``segmentation/confidence`` (32FC1, ``publish_confidence``).
- ``nav2``: the contract of Nav2's semantic segmentation costmap layer and its tutorial node:
  ``segmentation/mask`` (mono8 class ids), ``segmentation/confidence`` (mono8, confidence
  * 255 rounded) and ``segmentation/label_info`` (``vision_msgs/LabelInfo``, reliable +
  transient local), all three always on.

In both profiles: optional colour/overlay images, the semantic point cloud
(``publish_cloud``), ``segmentation/mode``, the JSON class metadata ``segmentation/classes``
and ``/diagnostics``. ``vision_msgs/LabelInfo`` is published (on ``segmentation/label_info``)
whenever ``vision_msgs`` is importable; otherwise the class metadata is only the JSON topic.
The choice is logged at start-up and shown in diagnostics.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
import time
from typing import Any

import numpy as np

from rgbd_seg_ros.core.names import KNOWN_OUTPUT_PROFILES


@dataclass(frozen=True)
class OutputTopic:
    """
    One row of the output table: docs/ros.md renders it (``output_topics_markdown``) and
    ``OutputPublishers`` creates a publisher for each row that applies (``active_topics``).
    """

    name: str  # relative topic name
    msg_type: str  # ROS message type
    encoding: str  # encoding / payload
    qos: str  # QoS profile
    when: str  # which profile, which parameter
    key: str = ''  # the output it carries: a key of OutputPublishers' publishers
    profiles: tuple[str, ...] = KNOWN_OUTPUT_PROFILES  # the output profiles that publish it
    switch: str = ''  # the bool parameter that turns it on; '' = always in its profiles
    qos_kind: str = 'output'  # output (`output_qos`), status, latched or diagnostics


OUTPUT_TOPICS = (
    OutputTopic('segmentation/labels', 'sensor_msgs/Image',
                'mono8 class ids (255 = ignore); mono16 above 255 classes', '`output_qos`',
                'profile `default`', 'labels', ('default',)),
    OutputTopic('segmentation/mask', 'sensor_msgs/Image', 'mono8 class ids',
                '`output_qos`', 'profile `nav2` (more than 255 classes: start-up error)',
                'labels', ('nav2',)),
    OutputTopic('segmentation/confidence', 'sensor_msgs/Image',
                '32FC1 max softmax probability 0..1', '`output_qos`',
                'profile `default` with `publish_confidence`', 'confidence', ('default',),
                'publish_confidence'),
    OutputTopic('segmentation/confidence', 'sensor_msgs/Image',
                'mono8 round(255 * max softmax probability)', '`output_qos`',
                'profile `nav2` (always)', 'confidence', ('nav2',)),
    OutputTopic('segmentation/label_info', 'vision_msgs/LabelInfo',
                'class_map (class_id, class_name), threshold 0.0', 'reliable, transient local',
                'both profiles, when vision_msgs is importable', 'label_info',
                qos_kind='latched'),
    OutputTopic('segmentation/classes', 'std_msgs/String',
                'JSON {name, names, colors, ignore_index}', 'reliable, transient local',
                'always (the fallback for LabelInfo)', 'classes', qos_kind='latched'),
    OutputTopic('segmentation/colored', 'sensor_msgs/Image', 'rgb8 palette colours',
                '`output_qos`', '`publish_colored`', 'colored', switch='publish_colored'),
    OutputTopic('segmentation/overlay', 'sensor_msgs/Image', 'rgb8 colours blended over RGB',
                '`output_qos`', '`publish_overlay`', 'overlay', switch='publish_overlay'),
    OutputTopic('segmentation/cloud', 'sensor_msgs/PointCloud2',
                'x, y, z float32 m (optical frame), label uint16, confidence float32, '
                'rgb float32 (`cloud_rgb`)', '`output_qos`',
                '`publish_cloud`; frames with depth only (none in `rgb` mode)', 'cloud',
                switch='publish_cloud'),
    OutputTopic('segmentation/mode', 'std_msgs/String', '`rgbd`, `rgb` or `depth`',
                'reliable, transient local', 'always; on start and every switch', 'mode',
                qos_kind='latched'),
    OutputTopic('segmentation/frame_status', 'diagnostic_msgs/DiagnosticArray',
                'RGB header; status `segmentation frame`: message = mode, values `mode`, '
                '`reason`', '`output_qos`, keep last 10', 'always; one per output, before it',
                'frame_status', qos_kind='status'),
    OutputTopic('/diagnostics', 'diagnostic_msgs/DiagnosticArray', 'key/value status',
                'default (reliable, keep last 10)', 'every `diagnostics_period`',
                'diagnostics', qos_kind='diagnostics'),
)


def active_topics(params: Any, label_info: bool) -> tuple[OutputTopic, ...]:
    """
    The rows of ``OUTPUT_TOPICS`` that ``params`` (``SegmentationParams``) publish: their
    profile and switch; ``label_info`` says whether vision_msgs is importable.
    """
    return tuple(t for t in OUTPUT_TOPICS
                 if params.output_profile in t.profiles
                 and (not t.switch or getattr(params, t.switch))
                 and (t.key != 'label_info' or label_info))


def frame_images(result: Any, labels: Any, keys: Any, confidence_encoding: str = '32FC1',
                 overlay_alpha: float = 0.5) -> dict[str, tuple[np.ndarray, str]]:
    """
    The one place a frame's image outputs are derived: ``key -> (array, encoding)`` for the
    image ``keys`` wanted (``labels``, ``confidence``, ``colored``, ``overlay``).

    :param result: a ``core.pipeline.FrameResult`` (labels ``[H, W]``, rgb ``[H, W, 3]``,
        confidence ``[H, W]`` 0..1 when the pipeline computed it).
    :param labels: the models' ``LabelSet``.
    :param confidence_encoding: ``32FC1`` (probabilities) or ``mono8`` (``round(255 * c)``).
    """
    out: dict[str, tuple[np.ndarray, str]] = {}
    if 'labels' in keys:
        out['labels'] = (result.labels, 'mono8' if labels.num_classes <= 255 else 'mono16')
    if 'confidence' in keys:
        conf = result.confidence
        out['confidence'] = ((confidence_to_mono8(conf), 'mono8')
                             if confidence_encoding == 'mono8' else (conf, '32FC1'))
    if 'colored' in keys:
        out['colored'] = (labels.colorize(result.labels), 'rgb8')
    if 'overlay' in keys:
        out['overlay'] = (labels.overlay(result.rgb, result.labels, overlay_alpha), 'rgb8')
    return out


def output_topics_markdown() -> str:
    """The output table of docs/ros.md."""
    lines = ['| topic | type | encoding / payload | QoS | published |', '|---|---|---|---|---|']
    lines += [f'| `{t.name}` | {t.msg_type} | {t.encoding} | {t.qos} | {t.when} |'
              for t in OUTPUT_TOPICS]
    return '\n'.join(lines)


def confidence_to_mono8(confidence: np.ndarray) -> np.ndarray:
    """Float confidence ``[H, W]`` in 0..1 -> uint8 ``round(255 * c)`` (clipped; NaN -> 0)."""
    c = np.nan_to_num(np.asarray(confidence, dtype=np.float32), nan=0.0)
    return np.rint(np.clip(c, 0.0, 1.0) * 255.0).astype(np.uint8)


def label_info_type() -> Any | None:
    """``vision_msgs.msg.LabelInfo`` when vision_msgs is importable, else None."""
    try:
        from vision_msgs.msg import LabelInfo
    except ImportError:
        return None
    return LabelInfo


def make_label_info(labels: Any, stamp: Any = None, threshold: float = 0.0) -> Any:
    """
    A ``vision_msgs/LabelInfo`` of a ``LabelSet``: class_map[i] = (i, names[i]).

    :raises ImportError: vision_msgs is not importable.
    """
    from vision_msgs.msg import LabelInfo, VisionClass

    msg = LabelInfo()
    if stamp is not None:
        msg.header.stamp = stamp
    msg.class_map = [VisionClass(class_id=i, class_name=name)
                     for i, name in enumerate(labels.names)]
    msg.threshold = float(threshold)
    return msg


def _message_class(msg_type: str) -> Any:
    """The rclpy message class of an ``OUTPUT_TOPICS`` type name (``pkg/Name``)."""
    import importlib

    package, name = msg_type.split('/')
    return getattr(importlib.import_module(f'{package}.msg'), name)


class OutputPublishers:
    """
    Every publisher of segmentation_node, created from the rows of ``OUTPUT_TOPICS`` that the
    parameters select (``active_topics``), and the publishing of one frame's outputs.

    :param node: the rclpy node.
    :param params: ``SegmentationParams`` (profile, publish_* switches, cloud settings).
    :param labels: the models' ``LabelSet``.
    :param qos_out: QoS profile of the image and cloud publishers.
    """

    def __init__(self, node: Any, params: Any, labels: Any, qos_out: Any) -> None:
        from std_msgs.msg import String

        from rgbd_seg_ros.ros.qos import latched_qos, qos_profile

        if params.output_profile not in KNOWN_OUTPUT_PROFILES:
            raise ValueError(f'output_profile {params.output_profile!r}: expected one of '
                             f'{KNOWN_OUTPUT_PROFILES}')
        self.params, self.labels, self._node = params, labels, node
        self.nav2 = params.output_profile == 'nav2'
        if self.nav2 and labels.num_classes > 255:
            raise ValueError(f'output_profile nav2 publishes a mono8 mask but the models have '
                             f'{labels.num_classes} classes (at most 255); use the default '
                             'profile (mono16 labels)')
        qos = {'output': qos_out, 'latched': latched_qos(),
               'status': qos_profile(params.output_qos, 10), 'diagnostics': 10}
        self.topics = active_topics(params, label_info_type() is not None)
        self.pubs = {t.key: node.create_publisher(_message_class(t.msg_type), t.name,
                                                  qos[t.qos_kind]) for t in self.topics}
        self.confidence_encoding = next((t.encoding.split()[0] for t in self.topics
                                         if t.key == 'confidence'), '')
        self.pubs['classes'].publish(String(data=json.dumps(labels.to_dict())))
        if 'label_info' in self.pubs:
            self.pubs['label_info'].publish(make_label_info(
                labels, node.get_clock().now().to_msg()))
            self.class_metadata = 'vision_msgs/LabelInfo on segmentation/label_info + JSON'
        else:
            self.class_metadata = 'JSON on segmentation/classes (vision_msgs not importable)'
        self.cloud_state = 'off (publish_cloud false)'
        self.cloud_points = 0
        self.cloud_ms = 0.0
        node.get_logger().info(
            f'output profile {params.output_profile}: labels on '
            f'{node.resolve_topic_name(self.pubs["labels"].topic_name)}, confidence '
            f'{self.confidence_encoding or "off"}, cloud '
            f'{"on" if "cloud" in self.pubs else "off"}; class metadata: {self.class_metadata}')

    @property
    def needs_confidence(self) -> bool:
        """Whether the model must return confidence (confidence image or cloud)."""
        return 'confidence' in self.pubs or 'cloud' in self.pubs

    def pipeline_outputs(self) -> dict[str, Any]:
        """What ``core.pipeline.PipelineConfig`` must compute for these publishers."""
        return {'confidence': self.needs_confidence}

    def publish_mode(self, mode: str) -> None:
        """``segmentation/mode`` (latched)."""
        from std_msgs.msg import String

        self.pubs['mode'].publish(String(data=mode))

    def publish_diagnostics(self, array: Any) -> None:
        """A ``DiagnosticArray`` on ``/diagnostics``."""
        self.pubs['diagnostics'].publish(array)

    def publish(self, header: Any, result: Any) -> None:
        """
        Publish one frame (a ``core.pipeline.FrameResult``) with the RGB ``header``: its
        ``frame_status`` first, then every image output of the profile and the cloud.
        """
        from rgbd_seg_ros.ros import conversions as conv
        from rgbd_seg_ros.ros.diagnostics import frame_status

        self.pubs['frame_status'].publish(frame_status(header, result.mode, result.reason))
        images = frame_images(result, self.labels, self.pubs.keys(), self.confidence_encoding,
                              self.params.overlay_alpha)
        for key, (array, encoding) in images.items():
            msg = (conv.labels_to_image(array, self.labels.num_classes, header) if key == 'labels'
                   else conv.numpy_to_image(array, encoding, header))
            self.pubs[key].publish(msg)
        if 'cloud' in self.pubs:
            self._publish_cloud(header, result)

    def _publish_cloud(self, header: Any, result: Any) -> None:
        from rgbd_seg_ros.core.cloud import semantic_cloud
        from rgbd_seg_ros.ros.cloud_msg import points_to_cloud

        if result.depth_m is None or result.intrinsics is None:
            self.cloud_state = f'none in {result.mode} mode (no depth)'
            return
        started = time.perf_counter()
        points = semantic_cloud(result.depth_m, result.intrinsics, result.labels,
                                result.confidence,
                                rgb=result.rgb if self.params.cloud_rgb else None,
                                decimation=self.params.cloud_decimation,
                                max_range_m=self.params.cloud_max_range_m)
        self.pubs['cloud'].publish(points_to_cloud(points, header))
        self.cloud_state = f'publishing ({result.mode} mode)'
        self.cloud_points = int(points.size)
        self.cloud_ms = (time.perf_counter() - started) * 1e3

    def diagnostics(self) -> dict[str, Any]:
        """Output keys of the node's diagnostic status."""
        out = {'output profile': self.params.output_profile,
               'class metadata': self.class_metadata, 'cloud': self.cloud_state}
        if 'cloud' in self.pubs:
            out['cloud points (last)'] = self.cloud_points
            out['cloud build+publish (ms, last)'] = round(self.cloud_ms, 2)
        return out
