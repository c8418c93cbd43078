# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The one frame path: RGB, depth and camera_info in, one result per RGB frame out (ROS-free).

``FramePipeline`` owns the synchroniser and its depth-health state machine (``core/sync.py``),
the RGB health check, the models (``core/model_set.py``) and the output assembly. The node, the
offline replay and the live evaluator's node are drivers of it; time is injected (``now``, in
seconds: the ROS clock in the node, bag time in the replay), nothing here reads a clock except
to measure how long conversion and inference took::

    pipe = FramePipeline(models, PipelineConfig.from_params(params))
    pipe.add_camera_info(frame_id, intrinsics)
    pipe.add_depth(stamp, frame_id, depth_view, '16UC1', now=now)   # raw view, cheap
    pipe.add_rgb(stamp, frame_id, rgb_view, 'bgr8', now=now, tag=header)
    for frame in pipe.pop_ready(now):                                 # SyncedFrame, mode+reason
        result = pipe.process(frame)                                  # FrameResult
    for switch in pipe.pop_events():                                  # ModeSwitch
        ...

Images enter as ``core.image_codec.image_to_numpy`` views in their own encoding (what a
subscription callback can afford); ``process`` converts what the frame's mode uses (RGB order,
depth in metres) and runs the model, so a worker thread can take that part.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
import time
from typing import Any

import numpy as np

from rgbd_seg_ros.core.camera import CameraIntrinsics
from rgbd_seg_ros.core.depth import (
    depth_median_m,
    depth_to_metres,
    implausible_depth,
    valid_samples,
)
from rgbd_seg_ros.core.health import RgbHealthCheck
from rgbd_seg_ros.core.image_codec import view_to_rgb
from rgbd_seg_ros.core.model_set import ModelSet
from rgbd_seg_ros.core.sync import (
    ModeSwitch,
    RgbdSynchronizer,
    SyncConfig,
    SyncedFrame,
    SyncStats,
    nearest_within,
)


@dataclass(frozen=True)
class PipelineConfig:
    """Synchronisation, input checks and whether the model must return confidence."""

    sync: SyncConfig = field(default_factory=SyncConfig)  # pairing and depth health
    depth_scale: float = 0.0  # metres per depth unit; 0: the encoding's unit (mm / m)
    depth_max_m: float = 20.0  # a depth median beyond this is implausible: the frame is invalid
    rgb_black_level: float = 4.0  # mean grey level below which RGB counts as black
    rgb_frozen_frames: int = 15  # identical RGB frames in a row that count as frozen
    confidence: bool = False  # compute the max-softmax confidence [H, W] (published outputs)
    recent_depth: int = 0  # depth frames kept for ``nearest_depth``; 0: none

    @classmethod
    def from_params(cls, params: Any, **outputs: Any) -> PipelineConfig:
        """The node's configuration (``core.node_config.SegmentationParams``) + output flags."""
        return cls(sync=params.sync_config(), depth_scale=params.depth_scale,
                   depth_max_m=params.depth_max_m,
                   rgb_black_level=params.rgb_black_level,
                   rgb_frozen_frames=params.rgb_frozen_frames, **outputs)


@dataclass
class RgbFrame:
    """An RGB frame waiting in the synchroniser."""

    image: np.ndarray  # image_to_numpy view, [H, W, C] or [H, W] (mono8), its own encoding
    encoding: str  # the message's encoding
    received: float  # ``now`` when it arrived, seconds
    tag: Any = None  # the driver's own reference (the node: the header; replay: a record)


@dataclass
class DepthFrame:
    """A depth frame waiting in the synchroniser."""

    stamp: float  # header stamp, seconds
    image: np.ndarray  # raw view [H, W]: uint16 (16UC1/mono16) or float32 (32FC1)
    encoding: str  # the message's encoding
    valid_ratio: float  # valid-pixel fraction (every 4th row and column), 0..1
    tag: Any = None  # the driver's own reference


@dataclass
class FrameResult:
    """The output of one RGB frame, at the RGB input size."""

    stamp: float  # RGB header stamp, seconds
    frame_id: str  # RGB header frame_id
    tag: Any  # ``RgbFrame.tag``
    mode: str  # the model that ran: 'rgbd', 'rgb' or 'depth'
    reason: str  # why this mode (a fallback's cause, a missing partner, a missing model)
    labels: np.ndarray  # class ids [H, W] (uint8 up to 255 classes)
    rgb: np.ndarray  # uint8 [H, W, 3], RGB order
    depth: DepthFrame | None  # the depth the model read (None in rgb mode)
    depth_m: np.ndarray | None  # that depth in metres [h, w] (its own size), 0 invalid
    intrinsics: CameraIntrinsics | None  # of the RGB camera (None without camera_info)
    waited_s: float  # from the RGB frame's arrival to its release by the synchroniser
    convert_s: float  # decoding to RGB order and metres
    inference_s: float  # the model call
    confidence: np.ndarray | None = None  # float32 [H, W] 0..1, when configured


class FramePipeline:
    """Synchronises, checks and segments; see the module docstring."""

    def __init__(self, models: ModelSet, config: PipelineConfig) -> None:
        self.models = models
        self.config = config
        self.sync = RgbdSynchronizer(config.sync, models.modes)
        self.check_rgb = 'depth' in models.modes  # the depth-only mode needs RGB health
        self._rgb_check = RgbHealthCheck(config.rgb_black_level, config.rgb_frozen_frames)
        self._recent_depth: deque[DepthFrame] = deque(maxlen=max(config.recent_depth, 1))
        self.implausible_depth = 0  # depth frames refused as implausible (depth_max_m)
        self.depth_problem = ''  # why the last depth frame was implausible ('' if it was not)

    @classmethod
    def from_params(cls, params: Any, models: ModelSet | None = None,
                    **outputs: Any) -> FramePipeline:
        """
        The node's pipeline from its parameters (``core.node_config.SegmentationParams``):
        ``models`` default to ``ModelSet.from_params(params)``; ``outputs`` are the
        ``PipelineConfig`` output flags. The node and both replays build theirs here.
        """
        models = ModelSet.from_params(params) if models is None else models
        return cls(models, PipelineConfig.from_params(params, **outputs))

    @property
    def labels(self) -> Any:
        """The models' LabelSet."""
        return self.models.labels

    @property
    def mode(self) -> str:
        """The mode a frame released now would run in (the state machine's, if it has a model)."""
        return self.sync.frame_mode

    @property
    def stats(self) -> SyncStats:
        """The synchroniser's counters."""
        return self.sync.stats

    # -- inputs (cheap: callback side) --------------------------------------------------------

    def add_camera_info(self, frame_id: str, intrinsics: CameraIntrinsics) -> None:
        """Cache the intrinsics of ``frame_id``."""
        self.sync.add_camera_info(frame_id, intrinsics)

    def add_rgb(self, stamp: float, frame_id: str, image: np.ndarray, encoding: str,
                now: float | None = None, tag: Any = None) -> bool:
        """Queue an RGB view; False when the synchroniser drops it (duplicate, late)."""
        now = stamp if now is None else now
        ok = True
        if self.check_rgb:
            ok = self._rgb_check(image[..., :3] if image.ndim == 3 else image)
        return self.sync.add_rgb(stamp, frame_id, RgbFrame(image, encoding, now, tag), now=now,
                                 rgb_ok=ok)

    def add_depth(self, stamp: float, frame_id: str, image: np.ndarray, encoding: str,
                  now: float | None = None, tag: Any = None) -> bool:
        """
        Queue a raw depth view; False when the synchroniser drops it. Depth whose median is
        implausible (``depth_max_m``) counts as all-invalid; ``depth_problem`` says why.
        """
        values, sampled = valid_samples(image)  # one pass: the valid ratio and the median
        ratio = values.size / sampled
        self.depth_problem = implausible_depth(
            depth_median_m(values, encoding, self.config.depth_scale),
            self.config.depth_max_m, encoding, self.config.depth_scale)
        if self.depth_problem:
            self.implausible_depth += 1
            ratio = 0.0
        depth = DepthFrame(stamp, image, encoding, ratio, tag)
        accepted = self.sync.add_depth(stamp, frame_id, depth, depth.valid_ratio, now=now)
        if accepted and self.config.recent_depth > 0:
            self._recent_depth.append(depth)
        return accepted

    def pop_ready(self, now: float) -> list[SyncedFrame]:
        """Frames whose pairing is decided at ``now``, oldest first (payload: ``RgbFrame``)."""
        return self.sync.pop_ready(now)

    def flush(self, now: float) -> list[SyncedFrame]:
        """Every pending frame (end of a recording)."""
        return self.sync.flush(now)

    def pop_events(self) -> list[ModeSwitch]:
        """Mode switches of the state machine since the last call."""
        return self.sync.pop_events()

    def nearest_depth(self, stamp: float) -> DepthFrame | None:
        """The recent depth frame nearest to ``stamp`` within ``sync_slop`` (any validity)."""
        return nearest_within(self._recent_depth, stamp, self.config.sync.sync_slop)

    # -- processing (worker side) -------------------------------------------------------------

    def depth_metres(self, depth: DepthFrame) -> np.ndarray:
        """``depth`` in float32 metres ``[h, w]``, 0 invalid."""
        return depth_to_metres(depth.image, depth.encoding, self.config.depth_scale or None)[0]

    def process(self, frame: SyncedFrame, now: float | None = None) -> FrameResult:
        """
        Convert what the frame's mode uses and run its model (labels, confidence when
        configured); the published images are derived from it by ``ros/outputs.py``.

        :param now: the time of the release (for ``waited_s``); the RGB arrival when omitted.
        :raises Exception: whatever decoding or the model raise; the caller drops the frame.
        """
        rgb_in: RgbFrame = frame.rgb
        mode, reason = frame.mode, frame.reason  # decided by the synchroniser, once
        t0 = time.perf_counter()
        rgb = view_to_rgb(rgb_in.image, rgb_in.encoding)
        depth = frame.depth if mode != 'rgb' else None
        depth_m = self.depth_metres(depth) if depth is not None else None
        t1 = time.perf_counter()
        out = self.models.predict(mode, rgb, depth_m, frame.intrinsics,
                                  return_confidence=self.config.confidence)
        labels, confidence = out if self.config.confidence else (out, None)
        t2 = time.perf_counter()
        return FrameResult(
            stamp=frame.stamp, frame_id=frame.frame_id, tag=rgb_in.tag, mode=mode,
            reason=reason, labels=labels, rgb=rgb, depth=depth, depth_m=depth_m,
            intrinsics=frame.intrinsics,
            waited_s=max(0.0, (rgb_in.received if now is None else now) - rgb_in.received),
            convert_s=t1 - t0, inference_s=t2 - t1, confidence=confidence,
        )
