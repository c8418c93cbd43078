# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The node's parameter files, read without ROS, so one configuration drives node and replay.

A ROS 2 parameter file maps node names (``/**``, ``segmentation_node``, ``/ns/segmentation_node``)
to ``ros__parameters``. ``load_node_parameters`` merges the files in order (later wins, ``/**``
before the node's own entry, as ``rcl`` applies them) and ``segmentation_params`` turns the result
into ``ros.params.SegmentationParams``, the dataclass the node declares, with the same checks.

Topic names in the parameters may be relative (``rgb/image_rect_color``): in a bag they are
resolved against the root namespace (``/rgb/image_rect_color``), as ``ros2 bag record`` stores
them for a node started without a namespace.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
import logging
import os
from pathlib import Path
from typing import Any

import yaml

from rgbd_seg_ros.core.node_config import SegmentationParams, check_parameter_names, is_ros_level

LOG = logging.getLogger(__name__)

NODE_NAME = 'segmentation_node'
_REPO_CONFIG = Path(__file__).resolve().parents[2] / 'config'


def config_dir() -> Path:
    """``config/`` of the source tree, or the installed share directory under a ROS install."""
    if _REPO_CONFIG.is_dir():
        return _REPO_CONFIG
    try:
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory('rgbd_seg_ros')) / 'config'
    except Exception:  # noqa: BLE001 - ament_index missing or package not installed
        return _REPO_CONFIG


def default_params_file() -> Path:
    """``config/segment.yaml``."""
    return config_dir() / 'segment.yaml'


def preset_file(preset: str) -> Path:
    """A camera preset: a name in ``config/presets/`` (``realsense``) or a YAML path."""
    path = Path(preset)
    if path.suffix in ('.yaml', '.yml') and path.is_file():
        return path
    presets = config_dir() / 'presets'
    candidate = presets / f'{preset}.yaml'
    if candidate.is_file():
        return candidate
    known = sorted(p.stem for p in presets.glob('*.yaml')) if presets.is_dir() else []
    raise ValueError(f'unknown camera preset {preset!r}; known presets: {known} (or a YAML path)')


def _node_keys(node_name: str) -> tuple[str, ...]:
    return ('/**', node_name, f'/{node_name}')


def parameters_from_yaml(data: Any, source: str, node_name: str = NODE_NAME) -> dict[str, Any]:
    """``ros__parameters`` of ``node_name`` (and of ``/**``) in one loaded parameter file."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f'{source}: a ROS 2 parameter file must be a mapping of node names')
    out: dict[str, Any] = {}
    matched = False

    def visit(mapping: Mapping[str, Any], path: str) -> None:
        nonlocal matched
        for key, value in mapping.items():
            if not isinstance(value, dict):
                continue
            full = f'{path}/{key.strip("/")}' if path else str(key)
            name = full.rstrip('/').split('/')[-1]
            if 'ros__parameters' in value and (full in _node_keys(node_name) or
                                               key == '/**' or name == node_name):
                params = value['ros__parameters'] or {}
                if not isinstance(params, dict):
                    raise ValueError(f'{source}: ros__parameters of {key!r} is not a mapping')
                out.update(_flatten(params))
                matched = True
            elif 'ros__parameters' not in value:
                visit(value, full)

    # '/**' first, then the node's own entries (rcl: node-specific values override wildcards)
    wildcard = {k: v for k, v in data.items() if k == '/**'}
    visit(wildcard, '')
    visit({k: v for k, v in data.items() if k != '/**'}, '')
    if not matched:
        LOG.warning('%s has no ros__parameters for %s or /**', source, node_name)
    return out


def _flatten(params: Mapping[str, Any], prefix: str = '') -> dict[str, Any]:
    out = {}
    for key, value in params.items():
        name = f'{prefix}{key}'
        if isinstance(value, dict):
            out.update(_flatten(value, f'{name}.'))
        else:
            out[name] = value
    return out


def load_node_parameters(
    files: Iterable[str | Path], node_name: str = NODE_NAME
) -> dict[str, Any]:
    """Merge the ``ros__parameters`` of ``node_name`` from ``files`` (later files win)."""
    merged: dict[str, Any] = {}
    for file in files:
        path = Path(file)
        if not path.is_file():
            raise ValueError(f'parameter file not found: {path}')
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise ValueError(f'{path}: not valid YAML: {exc}') from exc
        merged.update(parameters_from_yaml(data, str(path), node_name))
    return merged


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``['name:=value', 'name=value']`` -> dict, values parsed as YAML (``0.5``, ``true``)."""
    out = {}
    for item in items:
        sep = ':=' if ':=' in item else '='
        if sep not in item:
            raise ValueError(f'parameter override {item!r} must look like name:=value')
        key, value = item.split(sep, 1)
        out[key.strip()] = yaml.safe_load(value) if value.strip() else ''
    return out


def segmentation_params(values: Mapping[str, Any]) -> SegmentationParams:
    """
    ``SegmentationParams`` from merged parameter values, with the node's checks.

    Integers given for float parameters are accepted (``depth_timeout: 1``); rclpy's own
    parameters (``use_sim_time``, ``qos_overrides.*``) are ignored; other unknown names are
    errors that name the parameter and list the known ones.
    """
    known = {f.name: f for f in fields(SegmentationParams)}
    check_parameter_names(values, SegmentationParams, 'segmentation_node')  # as the node does
    values = {k: v for k, v in values.items() if not is_ros_level(k)}
    kwargs = {}
    for name, value in values.items():
        default = known[name].default
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        elif isinstance(default, str) and value is None:
            value = ''
        elif type(default) is not type(value):
            raise ValueError(
                f'parameter {name}={value!r} has type {type(value).__name__}, expected '
                f'{type(default).__name__}')
        kwargs[name] = value
    return SegmentationParams(**kwargs)


def bag_topic(name: str) -> str:
    """A node topic parameter as the absolute name a bag stores (root namespace)."""
    name = name.strip()
    if not name:
        return ''
    if name.startswith('~'):
        name = f'/{NODE_NAME}{name[1:]}'
    return name if name.startswith('/') else f'/{name}'


def resolve_topics(
    wanted: Mapping[str, str], available: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """
    Map role -> wanted topic onto the bag's topics.

    A wanted topic missing from the bag is replaced by the one bag topic of the same type whose
    name ends with the same last two name components (``/camera/camera/color/image_raw`` ->
    ``/camera/color/image_raw``: realsense2_camera 4.x and 3.x names), with a warning; nothing
    is guessed when that is ambiguous.

    :param available: bag topic name -> message type.
    :returns: ``(role -> topic, notes)``; roles left unresolved keep their wanted name.
    """
    out: dict[str, str] = {}
    notes: list[str] = []
    for role, name in wanted.items():
        if not name or name in available:
            out[role] = name
            continue
        tail = '/'.join(name.strip('/').split('/')[-2:])
        kind = 'sensor_msgs/msg/CameraInfo' if role == 'camera_info' else 'sensor_msgs/msg/Image'
        matches = [t for t, ty in available.items()
                   if ty == kind and (t == f'/{tail}' or t.endswith(f'/{tail}'))
                   and t not in wanted.values()]
        if len(matches) == 1:
            notes.append(f'{role}: topic {name} is not in the bag; using {matches[0]} '
                         f'(same name ending {tail!r})')
            LOG.warning(notes[-1])
            out[role] = matches[0]
        else:
            out[role] = name
    return out, notes


def environment_summary() -> dict[str, str]:
    """Environment variables that change how inference runs, for the report."""
    keys = ('OMP_NUM_THREADS', 'CUDA_VISIBLE_DEVICES', 'ROS_DOMAIN_ID', 'RMW_IMPLEMENTATION')
    return {k: os.environ[k] for k in keys if k in os.environ}
