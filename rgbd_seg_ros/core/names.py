# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The package's fixed name sets, in one module that imports nothing: the node configuration
(``core/node_config.py``: parameter choices) and the code that implements each set read them
from here.
"""

KNOWN_MODES = ('rgbd', 'rgb', 'depth')  # processing modes (core/sync.py, core/model_set.py)
KNOWN_PRECISIONS = ('fp32', 'fp16', 'bf16')  # core/inference.py (autocast on CUDA)
KNOWN_BACKENDS = ('torch', 'onnxruntime', 'tensorrt')  # core/backends.py builds them
KNOWN_QOS_NAMES = ('sensor_data', 'reliable', 'system_default')  # ros/qos.py
KNOWN_OUTPUT_PROFILES = ('default', 'nav2')  # ros/outputs.py publishes them
KNOWN_RGB_FALLBACKS = ('rgb_model', 'fusion_model')  # what runs in rgb mode (core/model_set.py)
