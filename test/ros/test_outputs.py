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
    active_topics,
    confidence_to_mono8,
    frame_images,
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


def _params(**values):
    from rgbd_seg_ros.core.node_config import SegmentationParams

    return SegmentationParams(rgb_model='rgb.safetensors', **values)


def test_the_table_decides_which_topics_are_published():
    keys = {t.name for t in active_topics(_params(), label_info=False)}
    assert keys == {'segmentation/labels', 'segmentation/classes', 'segmentation/mode',
                    'segmentation/frame_status', '/diagnostics'}
    every = _params(publish_confidence=True, publish_colored=True, publish_overlay=True,
                    publish_cloud=True)
    rows = active_topics(every, label_info=True)
    assert {t.key for t in rows} == {'labels', 'confidence', 'label_info', 'classes', 'colored',
                                     'overlay', 'cloud', 'mode', 'frame_status', 'diagnostics'}
    assert [t.encoding.split()[0] for t in rows if t.key == 'confidence'] == ['32FC1']
    nav2 = active_topics(_params(output_profile='nav2'), label_info=True)
    assert {t.name for t in nav2} >= {'segmentation/mask', 'segmentation/confidence',
                                      'segmentation/label_info'}
    assert [t.encoding.split()[0] for t in nav2 if t.key == 'confidence'] == ['mono8']
    assert 'segmentation/labels' not in {t.name for t in nav2}


def test_frame_images_are_derived_in_closed_form():
    from types import SimpleNamespace

    labels = np.array([[0, 1], [2, 1]], np.uint8)
    rgb = np.array([[[100, 0, 0], [0, 200, 0]], [[0, 0, 50], [10, 20, 30]]], np.uint8)
    conf = np.array([[0.5, 1.0], [0.2, 0.0]], np.float32)
    result = SimpleNamespace(labels=labels, rgb=rgb, confidence=conf)
    colors = np.array(SYNTHETIC_LABELS.colors, np.float64)
    out = frame_images(result, SYNTHETIC_LABELS, {'labels', 'confidence', 'colored', 'overlay'},
                       'mono8', overlay_alpha=0.25)
    assert out['labels'][1] == 'mono8' and out['labels'][0] is labels
    np.testing.assert_array_equal(out['confidence'][0], [[128, 255], [51, 0]])
    np.testing.assert_array_equal(out['colored'][0], colors[labels].astype(np.uint8))
    expected = np.floor(0.75 * rgb + 0.25 * colors[labels] + 0.5).astype(np.uint8)
    np.testing.assert_array_equal(out['overlay'][0], expected)
    assert frame_images(result, SYNTHETIC_LABELS, {'confidence'})['confidence'][1] == '32FC1'
    assert set(frame_images(result, SYNTHETIC_LABELS, {'labels'})) == {'labels'}
