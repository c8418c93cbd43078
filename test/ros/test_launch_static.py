# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Static checks of launch/segment.launch.py and the parameter files (launch_ros is not installable
here): the launch file parses, names only installed executables and documented arguments, and
every key of every YAML is a parameter the node declares, with the declared type.
"""

import ast
from dataclasses import fields
from pathlib import Path

import pytest
from script_loader import load_script
import yaml

from rgbd_seg_ros.core.node_config import SegmentationParams, parameter_names

REPO = Path(__file__).resolve().parents[2]
LAUNCH = REPO / 'launch' / 'segment.launch.py'
PARAM_FILES = [REPO / 'config' / 'segment.yaml', *sorted((REPO / 'config' / 'presets').glob(
    '*.yaml'))]


def launch_tree() -> ast.Module:
    return ast.parse(LAUNCH.read_text(), filename=str(LAUNCH))


def module_constant(tree: ast.Module, name: str):
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f'{name} not found in {LAUNCH.name}')


def console_scripts() -> set[str]:
    tree = ast.parse((REPO / 'setup.py').read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value == 'console_scripts':
                    return {entry.split('=')[0].strip() for entry in ast.literal_eval(value)}
    raise AssertionError('no console_scripts in setup.py')


def test_launch_executables_are_console_scripts():
    executables = {kw.value.value for node in ast.walk(launch_tree())
                   if isinstance(node, ast.Call)
                   for kw in node.keywords
                   if kw.arg == 'executable' and isinstance(kw.value, ast.Constant)}
    assert executables == {'segmentation_node', 'camera_sim_node'}
    assert executables <= console_scripts()
    assert launch_tree().body and 'generate_launch_description' in LAUNCH.read_text()


def test_launch_arguments_are_described():
    arguments = module_constant(launch_tree(), 'ARGUMENTS')
    names = [name for name, _, _ in arguments]
    assert len(names) == len(set(names))
    assert set(names) >= {'namespace', 'camera', 'params_file', 'rgb_topic', 'depth_topic',
                          'camera_info_topic', 'fusion_model', 'rgb_model', 'depth_model',
                          'device', 'use_sim_time', 'sim_camera'}
    for name, default, description in arguments:
        assert isinstance(default, str) and len(description) > 15, name


def test_launch_overrides_and_presets_exist():
    tree = launch_tree()
    assert set(module_constant(tree, 'OVERRIDES')) <= set(parameter_names(SegmentationParams))
    # the outputs users ask for, as launch arguments: boolean parameters of the node
    switches = set(module_constant(tree, 'BOOL_OVERRIDES'))
    assert switches >= {'publish_colored', 'publish_overlay', 'publish_cloud'}
    declared = {f.name: f.default for f in fields(SegmentationParams)}
    assert all(declared[name] is False for name in switches)
    assert switches | {'output_profile'} <= {n for n, _, _ in module_constant(tree, 'ARGUMENTS')}
    presets = module_constant(tree, 'CAMERA_PRESETS')
    assert set(presets) == {'none', 'realsense', 'orbbec', 'zed'}
    for preset in presets[1:]:
        assert (REPO / 'config' / 'presets' / f'{preset}.yaml').is_file()


@pytest.mark.parametrize('path', PARAM_FILES, ids=lambda p: p.name)
def test_parameter_files_only_set_declared_parameters_with_their_types(path):
    doc = yaml.safe_load(path.read_text())
    assert list(doc) == ['/**'] and list(doc['/**']) == ['ros__parameters']
    values = doc['/**']['ros__parameters']
    declared = {f.name: f for f in fields(SegmentationParams)}
    unknown = set(values) - set(declared)
    assert not unknown, f'{path.name} sets parameters the node does not declare: {unknown}'
    for name, value in values.items():
        # rclpy refuses an int for a double parameter and any other type change.
        assert type(value) is type(declared[name].default), (name, value)
    SegmentationParams(**{**values, 'rgb_model': values.get('rgb_model') or 'r.safetensors'})


def test_shipped_yaml_declares_every_parameter():
    values = yaml.safe_load(PARAM_FILES[0].read_text())['/**']['ros__parameters']
    assert set(values) == set(parameter_names(SegmentationParams))


def test_setup_installs_launch_config_and_presets():
    text = (REPO / 'setup.py').read_text()
    assert "glob('launch/*.launch.py')" in text
    assert "glob('config/*.yaml')" in text
    assert "glob('config/presets/*.yaml')" in text, 'setup.py must install config/presets'
    assert "glob('config/fastdds/*.xml')" in text


def test_launch_description_builds_where_launch_ros_exists():
    pytest.importorskip('launch_ros')
    module = load_script(LAUNCH, 'segment_launch')
    description = module.generate_launch_description()
    names = {a.name for a in description.get_launch_arguments()}
    assert 'fusion_model' in names and 'camera' in names
