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
    """One row of the output table (docs/ros.md renders ``output_topics_markdown``)."""

    name: str  # relative topic name
    msg_type: str  # ROS message type
    encoding: str  # encoding / payload
    qos: str  # QoS profile
    when: str  # which profile, which parameter


OUTPUT_TOPICS = (
    OutputTopic('segmentation/labels', 'sensor_msgs/Image',
                'mono8 class ids (255 = ignore); mono16 above 255 classes', '`output_qos`',
                'profile `default`'),
    OutputTopic('segmentation/mask', 'sensor_msgs/Image', 'mono8 class ids',
                '`output_qos`', 'profile `nav2` (more than 255 classes: start-up error)'),
    OutputTopic('segmentation/confidence', 'sensor_msgs/Image',
                '32FC1 max softmax probability 0..1', '`output_qos`',
                'profile `default` with `publish_confidence`'),
    OutputTopic('segmentation/confidence', 'sensor_msgs/Image',
                'mono8 round(255 * max softmax probability)', '`output_qos`',
                'profile `nav2` (always)'),
    OutputTopic('segmentation/label_info', 'vision_msgs/LabelInfo',
                'class_map (class_id, class_name), threshold 0.0', 'reliable, transient local',
                'both profiles, when vision_msgs is importable'),
    OutputTopic('segmentation/classes', 'std_msgs/String',
                'JSON {name, names, colors, ignore_index}', 'reliable, transient local',
                'always (the fallback for LabelInfo)'),
    OutputTopic('segmentation/colored', 'sensor_msgs/Image', 'rgb8 palette colours',
                '`output_qos`', '`publish_colored`'),
    OutputTopic('segmentation/overlay', 'sensor_msgs/Image', 'rgb8 colours blended over RGB',
                '`output_qos`', '`publish_overlay`'),
    OutputTopic('segmentation/cloud', 'sensor_msgs/PointCloud2',
                'x, y, z float32 m (optical frame), label uint16, confidence float32, '
                'rgb float32 (`cloud_rgb`)', '`output_qos`',
                '`publish_cloud`; frames with depth only (none in `rgb` mode)'),
    OutputTopic('segmentation/mode', 'std_msgs/String', '`rgbd`, `rgb` or `depth`',
                'reliable, transient local', 'always; on start and every switch'),
    OutputTopic('segmentation/frame_status', 'diagnostic_msgs/DiagnosticArray',
                'RGB header; status `segmentation frame`: message = mode, values `mode`, '
                '`reason`', '`output_qos`, keep last 10', 'always; one per output, before it'),
    OutputTopic('/diagnostics', 'diagnostic_msgs/DiagnosticArray', 'key/value status',
                'default (reliable, keep last 10)', 'every `diagnostics_period`'),
)


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


class OutputPublishers:
    """
    Creates the publishers of a profile on ``node`` and publishes one frame's results.

    :param node: the rclpy node.
    :param params: ``SegmentationParams`` (profile, publish_* switches, cloud settings).
    :param labels: the models' ``LabelSet``.
    :param qos_out: QoS profile of the image and cloud publishers.
    """

    def __init__(self, node: Any, params: Any, labels: Any, qos_out: Any) -> None:
        from sensor_msgs.msg import Image, PointCloud2
        from std_msgs.msg import String

        from rgbd_seg_ros.ros.qos import latched_qos

        if params.output_profile not in KNOWN_OUTPUT_PROFILES:
            raise ValueError(f'output_profile {params.output_profile!r}: expected one of '
                             f'{KNOWN_OUTPUT_PROFILES}')
        self.params, self.labels, self._node = params, labels, node
        self.nav2 = params.output_profile == 'nav2'
        if self.nav2 and labels.num_classes > 255:
            raise ValueError(f'output_profile nav2 publishes a mono8 mask but the models have '
                             f'{labels.num_classes} classes (at most 255); use the default '
                             'profile (mono16 labels)')
        pub = node.create_publisher
        self.pub_labels = pub(Image, 'segmentation/mask' if self.nav2 else 'segmentation/labels',
                              qos_out)
        self.confidence_encoding = ('mono8' if self.nav2 else
                                    '32FC1' if params.publish_confidence else '')
        self.pub_conf = self.confidence_encoding and pub(Image, 'segmentation/confidence',
                                                         qos_out)
        self.pub_colored = params.publish_colored and pub(Image, 'segmentation/colored', qos_out)
        self.pub_overlay = params.publish_overlay and pub(Image, 'segmentation/overlay', qos_out)
        self.pub_cloud = params.publish_cloud and pub(PointCloud2, 'segmentation/cloud', qos_out)
        self.pub_classes = pub(String, 'segmentation/classes', latched_qos())
        self.pub_classes.publish(String(data=json.dumps(labels.to_dict())))
        label_info = label_info_type()
        self.pub_label_info = label_info is not None and pub(
            label_info, 'segmentation/label_info', latched_qos())
        if self.pub_label_info:
            self.pub_label_info.publish(make_label_info(
                labels, node.get_clock().now().to_msg()))
            self.class_metadata = 'vision_msgs/LabelInfo on segmentation/label_info + JSON'
        else:
            self.class_metadata = 'JSON on segmentation/classes (vision_msgs not importable)'
        self.cloud_state = 'off (publish_cloud false)'
        self.cloud_points = 0
        self.cloud_ms = 0.0
        node.get_logger().info(
            f'output profile {params.output_profile}: labels on '
            f'{node.resolve_topic_name(self.pub_labels.topic_name)}, confidence '
            f'{self.confidence_encoding or "off"}, cloud {"on" if self.pub_cloud else "off"}; '
            f'class metadata: {self.class_metadata}')

    @property
    def needs_confidence(self) -> bool:
        """Whether the model must return confidence (confidence image or cloud)."""
        return bool(self.pub_conf or self.pub_cloud)

    def pipeline_outputs(self) -> dict[str, Any]:
        """What ``core.pipeline.PipelineConfig`` must assemble for these publishers."""
        return {'confidence': self.needs_confidence, 'colored': bool(self.pub_colored),
                'overlay_alpha': self.params.overlay_alpha if self.pub_overlay else None}

    def publish(self, header: Any, result: Any) -> None:
        """
        Publish one frame's outputs (a ``core.pipeline.FrameResult`` assembled with
        ``pipeline_outputs()``) with the RGB ``header`` (stamp and frame_id).
        """
        from rgbd_seg_ros.ros import conversions as conv

        labels, confidence = result.labels, result.confidence
        self.pub_labels.publish(conv.labels_to_image(labels, self.labels.num_classes, header))
        if self.pub_conf:
            conf = confidence_to_mono8(confidence) if self.nav2 else confidence
            self.pub_conf.publish(conv.numpy_to_image(conf, self.confidence_encoding, header))
        if self.pub_colored:
            self.pub_colored.publish(conv.rgb_to_image(result.colored, header))
        if self.pub_overlay:
            self.pub_overlay.publish(conv.rgb_to_image(result.overlay, header))
        if self.pub_cloud:
            self._publish_cloud(header, result.rgb, labels, confidence, result.depth_m,
                                result.intrinsics, result.mode)

    def _publish_cloud(self, header: Any, rgb: np.ndarray, labels: np.ndarray,
                       confidence: np.ndarray, depth_m: np.ndarray | None, intrinsics: Any,
                       mode: str) -> None:
        from rgbd_seg_ros.core.cloud import semantic_cloud
        from rgbd_seg_ros.ros.cloud_msg import points_to_cloud

        if depth_m is None or intrinsics is None:
            self.cloud_state = f'none in {mode} mode (no depth)'
            return
        started = time.perf_counter()
        points = semantic_cloud(depth_m, intrinsics, labels, confidence,
                                rgb=rgb if self.params.cloud_rgb else None,
                                decimation=self.params.cloud_decimation,
                                max_range_m=self.params.cloud_max_range_m)
        self.pub_cloud.publish(points_to_cloud(points, header))
        self.cloud_state = f'publishing ({mode} mode)'
        self.cloud_points = int(points.size)
        self.cloud_ms = (time.perf_counter() - started) * 1e3

    def diagnostics(self) -> dict[str, Any]:
        """Output keys of the node's diagnostic status."""
        out = {'output profile': self.params.output_profile,
               'class metadata': self.class_metadata, 'cloud': self.cloud_state}
        if self.pub_cloud:
            out['cloud points (last)'] = self.cloud_points
            out['cloud build+publish (ms, last)'] = round(self.cloud_ms, 2)
        return out
