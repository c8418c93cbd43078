# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The nodes' configuration: one frozen dataclass per node, one field per ROS parameter (ROS-free).

Each field carries its description, range and choices in ``metadata``; ``ros/params.py`` turns
them into ``ParameterDescriptor``s and declares them, the offline replay fills the same
dataclass from parameter files. ``parameters_markdown`` renders the metadata as the table in
docs/ros.md. The fixed name sets of the configuration (precisions, backends, QoS profiles,
output profiles) live in ``core/names.py``, which this module and the code implementing them
both read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
import difflib
from typing import Any, TypeVar

from rgbd_seg_ros.core.names import (  # noqa: F401 - re-exported: the parameters' choices
    KNOWN_BACKENDS,
    KNOWN_OUTPUT_PROFILES,
    KNOWN_PRECISIONS,
    KNOWN_QOS_NAMES,
    KNOWN_RGB_FALLBACKS,
)
from rgbd_seg_ros.core.sync import SyncConfig

P = TypeVar('P')


def _param(default: Any, description: str, *, range: tuple[float, float] | None = None,  # noqa: A002
           choices: tuple[str, ...] | None = None, read_only: bool = False) -> Any:
    return field(default=default, metadata={
        'description': description, 'range': range, 'choices': choices, 'read_only': read_only,
    })


def _fault(description: str) -> Any:
    """A fault-window time in seconds since start; -1 disables (or never ends) it."""
    return _param(-1.0, description + ' (-1: off / never)', range=(-1.0, 1e6), read_only=True)


def _validate(obj: Any) -> None:
    """Range and choice checks shared by the parameter dataclasses (ValueError names the key)."""
    for f in fields(obj):
        value = getattr(obj, f.name)
        choices, limits = f.metadata.get('choices'), f.metadata.get('range')
        if choices and value not in choices:
            raise ValueError(f'parameter {f.name}={value!r}: expected one of {choices}')
        if limits and not (limits[0] <= value <= limits[1]):
            raise ValueError(
                f'parameter {f.name}={value!r} out of range [{limits[0]}, {limits[1]}]')


@dataclass(frozen=True)
class SegmentationParams:
    """Parameters of segmentation_node (read once at start-up)."""

    fusion_model: str = _param(
        '', 'RGB-D fusion checkpoint (.safetensors) run in rgbd mode; empty: RGB only',
        read_only=True)
    rgb_model: str = _param(
        '', 'RGB-only checkpoint (.safetensors) run in rgb mode (required unless rgb_fallback '
        'is fusion_model)', read_only=True)
    rgb_fallback: str = _param(
        'rgb_model', 'what runs when depth is missing: rgb_model (a second, RGB-only model) or '
        'fusion_model (the fusion model itself with depth missing; it must have been trained '
        'with depth dropout)', choices=KNOWN_RGB_FALLBACKS, read_only=True)
    depth_model: str = _param(
        '', 'optional depth-only checkpoint run in depth mode (RGB black or frozen)',
        read_only=True)
    device: str = _param('cpu', "torch device: 'cpu', 'cuda' or 'cuda:N'", read_only=True)
    precision: str = _param('fp32', 'inference precision', choices=KNOWN_PRECISIONS,
                            read_only=True)
    rgb_topic: str = _param('rgb/image_rect_color', 'RGB image topic (relative, remappable)',
                            read_only=True)
    depth_topic: str = _param('depth_registered/image_rect',
                              'depth image topic, registered to the RGB camera', read_only=True)
    camera_info_topic: str = _param('rgb/camera_info', 'CameraInfo topic of the RGB camera',
                                    read_only=True)
    input_qos: str = _param('sensor_data', 'QoS of the input subscriptions',
                            choices=KNOWN_QOS_NAMES, read_only=True)
    output_qos: str = _param('reliable', 'QoS of the output image publishers',
                             choices=KNOWN_QOS_NAMES, read_only=True)
    queue_size: int = _param(5, 'history depth of input subscriptions and output publishers',
                             range=(1, 100), read_only=True)
    sync_slop: float = _param(0.025, 'max abs(t_rgb - t_depth) of an RGB/depth pair, seconds',
                              range=(0.0, 1.0), read_only=True)
    depth_timeout: float = _param(0.5, 'no valid depth for this long -> rgb mode, seconds',
                                  range=(0.01, 60.0), read_only=True)
    min_valid_depth_ratio: float = _param(
        0.3, 'depth frames with fewer valid pixels count as bad, 0..1', range=(0.0, 1.0),
        read_only=True)
    recover_frames: int = _param(
        5, 'consecutive good frames needed to leave a fallback mode', range=(1, 1000),
        read_only=True)
    registered_depth: bool = _param(
        False, 'depth is registered to the RGB camera even if its frame_id differs',
        read_only=True)
    depth_scale: float = _param(
        0.0, 'metres per raw depth unit; 0: from the encoding (16UC1 mm, 32FC1 m)',
        range=(0.0, 10.0), read_only=True)
    depth_max_m: float = _param(
        20.0, 'valid depth whose median is beyond this (m) is implausible (a unit mix-up, see '
        'depth_scale): counted as invalid, with a warning', range=(0.5, 1000.0), read_only=True)
    rgb_black_level: float = _param(
        4.0, 'mean grey level below which RGB counts as black (depth mode), 0..255',
        range=(0.0, 255.0), read_only=True)
    rgb_frozen_frames: int = _param(
        15, 'identical RGB frames in a row that count as frozen (depth mode)',
        range=(1, 10000), read_only=True)
    publish_colored: bool = _param(False, 'publish segmentation/colored (rgb8)', read_only=True)
    publish_overlay: bool = _param(False, 'publish segmentation/overlay (rgb8)', read_only=True)
    publish_confidence: bool = _param(
        False, 'publish segmentation/confidence (32FC1, max softmax)', read_only=True)
    overlay_alpha: float = _param(0.5, 'weight of the class colours in the overlay',
                                  range=(0.0, 1.0), read_only=True)
    max_rate: float = _param(0.0, 'max inference rate, Hz; 0: as fast as frames come',
                             range=(0.0, 1000.0), read_only=True)
    max_input_age: float = _param(
        0.1, 'frames older than this on arrival count as late (warns with the DDS fix), s',
        range=(0.0, 10.0), read_only=True)
    diagnostics_period: float = _param(1.0, 'period of /diagnostics, seconds',
                                       range=(0.1, 60.0), read_only=True)
    # output profiles, semantic cloud, inference backends
    output_profile: str = _param(
        'default', 'output topics: default (segmentation/labels) or nav2 (segmentation/mask, '
        'mono8 confidence, label_info)', choices=KNOWN_OUTPUT_PROFILES, read_only=True)
    publish_cloud: bool = _param(
        False, 'publish segmentation/cloud (PointCloud2 with label and confidence) from the '
        'registered depth; none in rgb mode', read_only=True)
    cloud_decimation: int = _param(1, 'cloud: keep every n-th pixel row and column',
                                   range=(1, 64), read_only=True)
    cloud_max_range_m: float = _param(
        10.0, 'cloud: drop points farther than this along the optical axis (z), metres; 0: no '
        'limit', range=(0.0, 1000.0), read_only=True)
    cloud_rgb: bool = _param(False, 'cloud: add the packed rgb field (float32 0x00RRGGBB)',
                             read_only=True)
    backend: str = _param(
        'torch', 'inference backend of the networks; falls back to torch with a warning when '
        'it cannot load', choices=KNOWN_BACKENDS, read_only=True)

    def __post_init__(self) -> None:
        _validate(self)
        if self.rgb_fallback == 'fusion_model':
            if not self.fusion_model or self.rgb_model:
                raise ValueError('rgb_fallback fusion_model runs the fusion model in rgb mode: '
                                 'set fusion_model and leave rgb_model empty')
        elif not self.rgb_model:
            raise ValueError('parameter rgb_model is required: the RGB-only checkpoint path '
                             '(or rgb_fallback:=fusion_model with a depth-dropout-trained '
                             'fusion_model)')

    def sync_config(self) -> SyncConfig:
        """The synchronizer/state-machine settings."""
        return SyncConfig(
            sync_slop=self.sync_slop, depth_timeout=self.depth_timeout,
            min_valid_depth_ratio=self.min_valid_depth_ratio,
            recover_frames=self.recover_frames, registered_depth=self.registered_depth,
            depth_mode=bool(self.depth_model),
        )


@dataclass(frozen=True)
class CameraSimParams:
    """Parameters of camera_sim_node. Fault windows are seconds since start; -1 disables."""

    rate: float = _param(10.0, 'publish rate, Hz', range=(0.1, 240.0), read_only=True)
    width: int = _param(160, 'image width, pixels', range=(16, 4096), read_only=True)
    height: int = _param(120, 'image height, pixels', range=(16, 4096), read_only=True)
    seed: int = _param(0, 'scene seed of the synthetic world', range=(0, 2**31 - 1),
                       read_only=True)
    world: str = _param('nyu_like', 'synthetic world variant (rgbd_seg_ros.sim.WORLDS)',
                        choices=('nyu_like', 'nyu_like_v1', 'depth_favoured'), read_only=True)
    path: str = _param('orbit', "camera path: 'orbit' (ellipse, looking outward) or "
                       "'furniture' (aimed at the furniture)", choices=('orbit', 'furniture'),
                       read_only=True)
    qos: str = _param('sensor_data', 'QoS of all image publishers', choices=KNOWN_QOS_NAMES,
                      read_only=True)
    frame_id: str = _param('camera_color_optical_frame', 'frame_id of RGB (and depth)',
                           read_only=True)
    depth_frame_id: str = _param('', 'frame_id of depth; empty: same as frame_id',
                                 read_only=True)
    rgb_encoding: str = _param('rgb8', 'RGB encoding', choices=('rgb8', 'bgr8', 'rgba8',
                                                                'bgra8'), read_only=True)
    depth_encoding: str = _param('16UC1', 'depth encoding (16UC1 mm or 32FC1 m)',
                                 choices=('16UC1', '32FC1'), read_only=True)
    publish_ground_truth: bool = _param(True, 'publish segmentation/ground_truth (mono8)',
                                        read_only=True)
    min_subscribers: int = _param(
        0, 'start the clock and publishing once RGB and depth have this many subscribers',
        range=(0, 100), read_only=True)
    precompute_frames: int = _param(
        0, 'render this many frames once and loop them (fast, for benchmarks); 0: live',
        range=(0, 10000), read_only=True)
    depth_units_per_metre: float = _param(
        0.0, "fault: publish depth in these units per metre instead of the encoding's (1000 "
        'with 32FC1: a driver writing millimetres into a metres encoding); 0: correct',
        range=(0.0, 100000.0), read_only=True)
    depth_stop_start: float = _fault('depth stops being published from this time, s')
    depth_stop_end: float = _fault('depth is published again from this time, s')
    depth_invalid_start: float = _fault('depth turns all-invalid from this time, s')
    depth_invalid_end: float = _fault('depth is valid again from this time, s')
    rgb_blackout_start: float = _fault('RGB turns black from this time, s')
    rgb_blackout_end: float = _fault('RGB is back from this time, s')

    def __post_init__(self) -> None:
        _validate(self)


# Parameters every rclpy node has, or that the segmentation node publishes itself (read-only):
# never SegmentationParams / CameraSimParams fields, never refused.
ROS_LEVEL_PARAMETERS = ('use_sim_time', 'start_type_description_service', 'class_names',
                        'class_colors')


def is_ros_level(name: str) -> bool:
    """Whether ``name`` is rclpy's own (``use_sim_time``, ``qos_overrides.*``, ...)."""
    return name in ROS_LEVEL_PARAMETERS or name.startswith('qos_overrides.')


def check_parameter_names(names: Iterable[str], cls: type, node_name: str) -> None:
    """
    Refuse parameter names that ``cls`` does not declare (a misspelling is never ignored).

    The one rule of the nodes (``-p`` and parameter files, their own section and ``/**``) and
    of the offline replay. rclpy's own parameters pass (:func:`is_ros_level`).

    :raises ValueError: one line naming each unknown parameter and the closest known one.
    """
    known = parameter_names(cls)
    unknown = sorted({n for n in names if n not in known and not is_ros_level(n)})
    if not unknown:
        return
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        parts.append(f'{name!r} (did you mean {close[0]!r}?)' if close else repr(name))
    raise ValueError(f'unknown {node_name} parameters {unknown}: {", ".join(parts)}; fix the '
                     f'name in the parameter file or -p (all {len(known)} parameters: '
                     'docs/ros.md, "Parameters")')


def parameter_names(cls: type) -> tuple[str, ...]:
    """Names of the parameters a node declares from ``cls``."""
    return tuple(f.name for f in fields(cls))


def parameters_markdown(cls: type) -> str:
    """A markdown table (name, type, default, range/choices, description) of ``cls``."""
    lines = ['| parameter | type | default | range | description |', '|---|---|---|---|---|']
    for f in fields(cls):
        meta = f.metadata
        limits = (' / '.join(meta['choices']) if meta['choices'] else
                  f'{meta["range"][0]} .. {meta["range"][1]}' if meta['range'] else '')
        type_name = f.type if isinstance(f.type, str) else f.type.__name__
        lines.append(f'| `{f.name}` | {type_name} | `{f.default!r}` | {limits} | '
                     f'{meta["description"]} |')
    return '\n'.join(lines)
