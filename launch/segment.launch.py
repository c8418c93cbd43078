# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Launch segmentation_node, optionally with a camera preset and the simulated camera.

Examples::

    ros2 launch rgbd_seg_ros segment.launch.py camera:=realsense \
        fusion_model:=/models/fusion.safetensors rgb_model:=/models/rgb.safetensors device:=cuda
    ros2 launch rgbd_seg_ros segment.launch.py sim_camera:=true \
        fusion_model:=... rgb_model:=...

Parameters are applied in this order (later wins): params_file, the camera preset, then the
non-empty topic/checkpoint/device/output arguments, e.g. ``publish_colored:=true``.
"""

# ruff takes `launch` for first-party (the launch/ folder); it is the ROS launch package.
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

PACKAGE = 'rgbd_seg_ros'
CAMERA_PRESETS = ('none', 'realsense', 'orbbec', 'zed')

ARGUMENTS = (
    ('namespace', '', 'namespace of the nodes (relative topics resolve inside it)'),
    ('camera', 'none', 'camera preset for topic names/encodings: none, realsense, orbbec, zed'),
    ('params_file', '', 'parameter file; empty: the installed config/segment.yaml'),
    ('rgb_topic', '', 'override the RGB image topic (empty: from params_file/preset)'),
    ('depth_topic', '', 'override the registered depth topic (empty: from params_file/preset)'),
    ('camera_info_topic', '', 'override the RGB CameraInfo topic (empty: params_file/preset)'),
    ('fusion_model', '', 'RGB-D fusion checkpoint (.safetensors); empty: from params_file'),
    ('rgb_model', '', 'RGB-only fallback checkpoint (.safetensors); empty: from params_file'),
    ('depth_model', '', 'optional depth-only checkpoint; empty: from params_file'),
    ('rgb_fallback', '', 'rgb_model or fusion_model (one depth-dropout-trained model, no '
     'rgb_model); empty: from params_file'),
    ('device', '', "torch device, e.g. 'cpu' or 'cuda'; empty: from params_file"),
    ('output_profile', '', 'output topics: default or nav2 (mask, mono8 confidence, label_info)'),
    ('backend', '', 'inference backend: torch, onnxruntime or tensorrt; empty: params_file'),
    ('publish_colored', '', 'true/false: segmentation/colored (rgb8); empty: params_file'),
    ('publish_overlay', '', 'true/false: segmentation/overlay on the RGB; empty: params_file'),
    ('publish_confidence', '', 'true/false: segmentation/confidence; empty: params_file'),
    ('publish_cloud', '', 'true/false: segmentation/cloud (PointCloud2); empty: params_file'),
    ('use_sim_time', 'false', 'use /clock (bag replay, simulators)'),
    ('sim_camera', 'false', 'also start camera_sim_node (synthetic RealSense-like camera)'),
    ('log_level', 'info', 'ROS log level of the nodes'),
)
OVERRIDES = ('rgb_topic', 'depth_topic', 'camera_info_topic', 'fusion_model', 'rgb_model',
             'depth_model', 'rgb_fallback', 'device', 'output_profile', 'backend')
BOOL_OVERRIDES = ('publish_colored', 'publish_overlay', 'publish_confidence', 'publish_cloud')


def _segmentation_node(context, *args, **kwargs):
    """Build the node with the parameter layers resolved at launch time."""
    share = get_package_share_directory(PACKAGE)
    arg = {name: LaunchConfiguration(name).perform(context) for name, _, _ in ARGUMENTS}
    params = [arg['params_file'] or os.path.join(share, 'config', 'segment.yaml')]
    if arg['camera'] not in CAMERA_PRESETS:
        raise RuntimeError(f"camera:={arg['camera']} unknown; expected one of {CAMERA_PRESETS}")
    if arg['camera'] != 'none':
        params.append(os.path.join(share, 'config', 'presets', arg['camera'] + '.yaml'))
    overrides = {name: arg[name] for name in OVERRIDES if arg[name]}
    for name in BOOL_OVERRIDES:
        if arg[name]:
            if arg[name].lower() not in ('true', 'false'):
                raise RuntimeError(f'{name}:={arg[name]}: expected true or false')
            overrides[name] = arg[name].lower() == 'true'
    overrides['use_sim_time'] = arg['use_sim_time'].lower() == 'true'
    params.append(overrides)
    return [Node(
        package=PACKAGE, executable='segmentation_node', name='segmentation_node',
        namespace=arg['namespace'], parameters=params, output='screen', emulate_tty=True,
        arguments=['--ros-args', '--log-level', arg['log_level']],
    )]


def generate_launch_description() -> LaunchDescription:
    """Arguments with descriptions, the simulated camera (optional) and the node."""
    declared = [DeclareLaunchArgument(name, default_value=default, description=description)
                for name, default, description in ARGUMENTS]
    sim_camera = Node(
        package=PACKAGE, executable='camera_sim_node', name='camera_sim_node',
        namespace=LaunchConfiguration('namespace'), output='screen',
        parameters=[{'use_sim_time': LaunchConfiguration('use_sim_time')}],
        condition=IfCondition(LaunchConfiguration('sim_camera')),
    )
    return LaunchDescription([*declared, sim_camera, OpaqueFunction(function=_segmentation_node)])
