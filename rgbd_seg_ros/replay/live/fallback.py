# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
A live evaluator for the fallback: it also scores the fusion model alone on the frames the node
served in a fallback mode, as the offline replay does (what the robot would have seen without
the fallback), and records each mode switch with the node's reason from ``frame_status``.

The node's output is scored as it arrives; the fallback frames' inputs (the RGB image, the
depth received nearest to it or none, the last camera_info) are kept, and
``score_fusion_alone(predict)`` runs the fusion model on them after the run, so the extra
inference never competes with the node for the CPU while it is measured.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rgbd_seg_ros.core.camera import CameraIntrinsics
from rgbd_seg_ros.replay.live.clock import header_stamp_ns
from rgbd_seg_ros.replay.live.evaluator import ReplayEvaluator
from rgbd_seg_ros.replay.scoring import BagModeSwitch, FrameRecord
from rgbd_seg_ros.ros import conversions as conv
from rgbd_seg_ros.ros.diagnostics import frame_mode

MAX_KEPT = 3000  # fallback frames kept for the fusion model (160x120: ~60 kB each)
# predict(rgb uint8 [H, W, 3], depth_m float32 [H, W] (0 invalid), intrinsics) -> labels [H, W]
Predict = Callable[[np.ndarray, np.ndarray, CameraIntrinsics], np.ndarray]


class FallbackEvaluator(ReplayEvaluator):
    """``ReplayEvaluator`` keeping fallback frames (``score_fusion_alone``) and switch reasons."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._intrinsics: CameraIntrinsics | None = None
        self._inputs: dict[int, tuple[np.ndarray, np.ndarray | None, CameraIntrinsics]] = {}
        self._deferred: list[tuple[FrameRecord, np.ndarray, np.ndarray]] = []
        self.fusion_alone_dropped = 0  # fallback frames beyond MAX_KEPT, scored without it
        self.switches: list[BagModeSwitch] = []  # by RGB stamp, with the node's reason
        self._last_status: str | None = None

    def _on_frame_status(self, msg: Any) -> None:
        super()._on_frame_status(msg)
        status = frame_mode(msg)
        if status is None:
            return
        stamp = header_stamp_ns(msg.header.stamp)
        with self.lock:
            if self._last_status is not None and status[0] != self._last_status:
                self.switches.append(BagModeSwitch(stamp, self._last_status, status[0], status[1]))
            self._last_status = status[0]

    def _on_info(self, msg: Any) -> None:
        super()._on_info(msg)
        try:
            intrinsics = conv.camera_info_to_intrinsics(msg)
        except ValueError:
            return
        with self.lock:
            self._intrinsics = intrinsics

    def _accept_output(self, record: FrameRecord, pred: np.ndarray, received_ns: int) -> None:
        entry = self._rgb.get(record.stamp_ns)
        if entry is not None and self._intrinsics is not None and len(self._inputs) < MAX_KEPT:
            partner = self._depth_partner(record.stamp_ns)
            self._inputs[record.stamp_ns] = (entry[2], None if partner is None
                                             else partner.depth_m, self._intrinsics)
        super()._accept_output(record, pred, received_ns)
        if record.mode == 'rgbd':
            self._inputs.pop(record.stamp_ns, None)

    def _score(self, record: FrameRecord, pred: np.ndarray, gt: np.ndarray) -> None:
        if record.mode not in (None, 'rgbd') and record.stamp_ns in self._inputs:
            self._deferred.append((record, pred, gt))
            return
        if record.mode not in (None, 'rgbd'):
            self.fusion_alone_dropped += 1
        super()._score(record, pred, gt)

    def score_fusion_alone(self, predict: Predict) -> int:
        """
        Score the kept fallback frames with the fusion model alone (``predict``) beside the
        node's output; call after the run, before ``result``. Returns the frames scored.
        """
        with self.lock:
            deferred, self._deferred = self._deferred, []
            inputs = self._inputs
            self._inputs = {}
        result = self.result_skeleton
        if result is None:
            return 0
        for record, pred, gt in deferred:
            only = None
            if record.mode != 'rgbd':  # (a late frame_status may have corrected the mode)
                rgb, depth_m, intrinsics = inputs[record.stamp_ns]
                if depth_m is None or depth_m.shape != rgb.shape[:2]:
                    depth_m = np.zeros(rgb.shape[:2], np.float32)  # no depth came: invalid
                only = predict(rgb, depth_m, intrinsics)
            with self.lock:
                if gt.shape != pred.shape:
                    self._skip(f'ground_truth: size {gt.shape} differs from the output '
                               f'{pred.shape}')
                    continue
                result.score_frame(record, gt, pred, only)
                if self.examples is not None:
                    self.examples.add_ground_truth(record, gt)
        return len(deferred)
