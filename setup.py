# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""ament_python package definition of rgbd_seg_ros."""

from glob import glob
import os

from setuptools import find_packages, setup

PACKAGE = 'rgbd_seg_ros'

setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(include=['rgbd_seg_ros', 'rgbd_seg_ros.*', 'training', 'training.*']),
    package_data={'training': ['configs/*.yaml', 'data/nyu_meta/*']},  # NYU tables: data
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + PACKAGE]),
        ('share/' + PACKAGE, ['package.xml']),
        (os.path.join('share', PACKAGE, 'launch'), glob('launch/*.launch.py')),
        (os.path.join('share', PACKAGE, 'config'), glob('config/*.yaml')),
        (os.path.join('share', PACKAGE, 'config', 'fastdds'), glob('config/fastdds/*.xml')),
        (os.path.join('share', PACKAGE, 'config', 'presets'), glob('config/presets/*.yaml')),
        (os.path.join('share', PACKAGE, 'models', 'demo'), glob('models/demo/*')),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='rgbd_seg_ros developers',
    maintainer_email='dev@rgbd-seg-ros.invalid',
    description='RGB-D semantic segmentation with depth-dropout fallback for ROS 2.',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={
        'console_scripts': [
            'segmentation_node = rgbd_seg_ros.nodes.segmentation_node:main',
            'camera_sim_node = rgbd_seg_ros.nodes.camera_sim_node:main',
            'replay_evaluator = rgbd_seg_ros.replay.live.run:main',
        ],
    },
)
