# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""Parameter declaration (descriptors, ranges, validation) and the named QoS profiles."""

from pathlib import Path

import pytest
import rclpy
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, ReliabilityPolicy

from rgbd_seg_ros.core.node_config import (
    CameraSimParams,
    SegmentationParams,
    parameter_names,
    parameters_markdown,
)
from rgbd_seg_ros.ros.params import declare_params
from rgbd_seg_ros.ros.qos import latched_qos, qos_profile

pytestmark = pytest.mark.ros
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def make_node(ros_domain_id):
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=ros_domain_id)
    nodes = []

    def make(overrides):
        node = rclpy.create_node(
            f'params_test_{len(nodes)}', context=context,
            parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()])
        nodes.append(node)
        return node
    yield make
    for node in nodes:
        node.destroy_node()
    context.try_shutdown()


def test_declared_values_descriptors_and_ranges(make_node):
    node = make_node({'rgb_model': '/m/rgb.safetensors', 'depth_timeout': 0.75,
                      'recover_frames': 7, 'input_qos': 'reliable'})
    params = declare_params(node, SegmentationParams)
    assert params.rgb_model == '/m/rgb.safetensors' and params.depth_timeout == 0.75
    assert params.recover_frames == 7 and params.input_qos == 'reliable'
    assert params.sync_slop == SegmentationParams.sync_slop  # default kept
    assert set(node._parameters) >= set(parameter_names(SegmentationParams))
    (timeout,) = node.describe_parameters(['depth_timeout'])
    assert 'depth' in timeout.description and timeout.read_only
    assert (timeout.floating_point_range[0].from_value,
            timeout.floating_point_range[0].to_value) == (0.01, 60.0)
    (frames,) = node.describe_parameters(['recover_frames'])
    assert frames.integer_range[0].from_value == 1
    (qos,) = node.describe_parameters(['input_qos'])
    assert 'sensor_data' in qos.description  # choices listed


@pytest.mark.parametrize('overrides, match', [
    ({'depth_timeout': 100.0}, 'depth_timeout'),  # out of range (rclpy refuses it)
    ({'depth_timeout': 1}, 'decimal point'),  # int for a float parameter
    ({'input_qos': 'fast'}, "input_qos='fast': expected one of"),
    ({'precision': 'int8'}, 'precision'),
    ({}, 'rgb_model is required'),
])
def test_bad_values_raise_value_errors_naming_the_parameter(make_node, overrides, match):
    node = make_node({'rgb_model': 'x.safetensors', **overrides} if overrides else {})
    with pytest.raises(ValueError, match=match):
        declare_params(node, SegmentationParams)


@pytest.mark.parametrize('cls, overrides, match', [
    (SegmentationParams, {'publish_colour': True},
     r"unknown params_test_0 parameters \['publish_colour'\]: 'publish_colour' \(did you mean "
     r"'publish_colored'\?\)"),
    (SegmentationParams, {'fusion_modle': 'a', 'min_valid_depth_ration': 0.5},
     r"'fusion_modle' \(did you mean 'fusion_model'\?\), 'min_valid_depth_ration' \(did you "
     r"mean 'min_valid_depth_ratio'\?\)"),
    (CameraSimParams, {'wrld': 'nyu_like'}, r"'wrld' \(did you mean 'world'\?\)"),
    (CameraSimParams, {'zzz': 1}, r"parameters \['zzz'\]: 'zzz'; fix the name"),
])
def test_unknown_parameters_are_refused_naming_the_closest(make_node, cls, overrides, match):
    with pytest.raises(ValueError, match=match):
        base = {'rgb_model': 'a.safetensors'} if cls is SegmentationParams else {}
        declare_params(make_node({**base, **overrides}), cls)


def test_rclpy_own_parameters_are_not_refused(make_node):
    node = make_node({'rgb_model': 'a.safetensors', 'use_sim_time': True,
                      'qos_overrides./rgb.subscription.reliability': 'reliable'})
    assert declare_params(node, SegmentationParams).rgb_model == 'a.safetensors'


def test_sync_config_follows_the_parameters():
    params = SegmentationParams(rgb_model='r', depth_timeout=0.2, recover_frames=2,
                                registered_depth=True)
    cfg = params.sync_config()
    assert (cfg.depth_timeout, cfg.recover_frames, cfg.registered_depth) == (0.2, 2, True)
    assert not cfg.depth_mode
    assert SegmentationParams(rgb_model='r', depth_model='d').sync_config().depth_mode


def test_camera_sim_params_validate():
    assert CameraSimParams().rate == 10.0
    with pytest.raises(ValueError, match='depth_encoding'):
        CameraSimParams(depth_encoding='mono8')


def test_docs_list_every_parameter():
    text = (REPO / 'docs' / 'ros.md').read_text()
    for cls in (SegmentationParams, CameraSimParams):
        for name in parameter_names(cls):
            assert f'| `{name}` |' in text, f'docs/ros.md does not document {name}'
        assert parameters_markdown(cls).count('\n') == len(parameter_names(cls)) + 1


def test_qos_profiles():
    assert qos_profile('sensor_data').reliability == ReliabilityPolicy.BEST_EFFORT
    reliable = qos_profile('reliable', 3)
    assert reliable.reliability == ReliabilityPolicy.RELIABLE and reliable.depth == 3
    assert qos_profile('system_default') is not None
    latched = latched_qos()
    assert latched.durability == DurabilityPolicy.TRANSIENT_LOCAL and latched.depth == 1
    with pytest.raises(ValueError, match='expected one of'):
        qos_profile('turbo')


def test_camera_sim_world_and_path_choices_are_the_simulators():
    from dataclasses import fields

    from rgbd_seg_ros.sim import WORLDS
    from rgbd_seg_ros.sim.world import PATHS

    choices = {f.name: f.metadata['choices'] for f in fields(CameraSimParams)}
    assert set(choices['world']) == set(WORLDS) and set(choices['path']) == set(PATHS)
    with pytest.raises(ValueError, match='path'):
        CameraSimParams(path='spiral')

