# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""Output profiles: confidence encoding, LabelInfo or its JSON fallback, the docs table."""

import sys

import numpy as np
import pytest

from rgbd_seg_ros.core.node_config import KNOWN_BACKENDS
from rgbd_seg_ros.ros.outputs import (
    KNOWN_OUTPUT_PROFILES,
    OUTPUT_TOPICS,
    confidence_to_mono8,
    label_info_type,
    make_label_info,
    output_topics_markdown,
)
from rgbd_seg_ros.sim import SYNTHETIC_LABELS

REPO = __import__('pathlib').Path(__file__).resolve().parents[2]


def test_confidence_mono8_is_rounded_255_scale():
    conf = np.array([[0.0, 1.0, 0.5, 1 / 255], [np.nan, 1.7, -0.2, 0.998]], np.float32)
    np.testing.assert_array_equal(confidence_to_mono8(conf), [[0, 255, 128, 1], [0, 255, 0, 254]])
    assert confidence_to_mono8(conf).dtype == np.uint8


def test_label_info_falls_back_when_vision_msgs_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, 'vision_msgs', None)
    monkeypatch.setitem(sys.modules, 'vision_msgs.msg', None)
    assert label_info_type() is None


def test_label_info_message_lists_every_class():
    if label_info_type() is None:
        pytest.skip('vision_msgs is not importable here (no wheel on PyPI); the node publishes '
                    'the JSON topic instead, covered by the fallback tests')
    msg = make_label_info(SYNTHETIC_LABELS, threshold=0.0)
    assert [(c.class_id, c.class_name) for c in msg.class_map] == list(
        enumerate(SYNTHETIC_LABELS.names))


def test_every_output_topic_is_in_the_docs_table():
    text = (REPO / 'docs' / 'ros.md').read_text()
    assert output_topics_markdown() in text, 'docs/ros.md: paste output_topics_markdown()'
    names = {t.name for t in OUTPUT_TOPICS}
    assert {'segmentation/mask', 'segmentation/confidence', 'segmentation/label_info',
            'segmentation/cloud', 'segmentation/labels'} <= names
    assert KNOWN_OUTPUT_PROFILES == ('default', 'nav2')


def test_backend_choices_match_the_core():
    from rgbd_seg_ros.core.backends import KNOWN_BACKENDS as CORE

    assert KNOWN_BACKENDS == CORE
