# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Virtual RGB-D camera: intrinsics like a Kinect/RealSense, poses, and smooth trajectories.

Camera frame: x right, y down, z forward (ROS optical frame). World frame: z up, floor z = 0.
A pose is given by yaw (heading about world z, 0 = looking along +x), pitch (positive = looking
down) and roll (about the optical axis).
"""

from __future__ import annotations

from dataclasses import dataclass
import math

import numpy as np

from rgbd_seg_ros.core.camera import CameraIntrinsics


@dataclass(frozen=True)
class CameraPose:
    """Camera position (m, world) and orientation angles (rad)."""

    position: tuple[float, float, float]  # optical centre in the world frame, metres
    yaw: float  # heading about world z, radians (0 = looking along +x)
    pitch: float  # radians, positive = looking down
    roll: float  # radians about the optical axis

    @property
    def rotation(self) -> np.ndarray:
        """``R_wc`` float64 3x3: columns are the camera x (right), y (down), z (forward) axes."""
        cy, sy = math.cos(self.yaw), math.sin(self.yaw)
        cp, sp = math.cos(self.pitch), math.sin(self.pitch)
        forward = np.array([cp * cy, cp * sy, -sp])
        right0 = np.array([sy, -cy, 0.0])
        down0 = np.cross(forward, right0)
        cr, sr = math.cos(self.roll), math.sin(self.roll)
        right = cr * right0 + sr * down0
        down = -sr * right0 + cr * down0
        return np.stack([right, down, forward], axis=1)

    @property
    def gravity(self) -> np.ndarray:
        """Unit vector pointing down (world -z) in camera coordinates, float64 ``(3,)``."""
        return self.rotation.T @ np.array([0.0, 0.0, -1.0])

    def matrix(self) -> np.ndarray:
        """4x4 world-from-camera transform, float64."""
        T = np.eye(4)  # noqa: N806
        T[:3, :3] = self.rotation
        T[:3, 3] = self.position
        return T


def sample_intrinsics(rng: np.random.Generator, width: int, height: int) -> CameraIntrinsics:
    """
    Random pinhole intrinsics around Kinect v1 / RealSense D4xx colour cameras.

    Focal length 500-620 px at 640 px width (Kinect v1 ~525, NYU 519, D435 ~615), scaled to
    ``width``; fy within 0.5 % of fx; principal point within 2 % of the image centre (0-based).
    """
    f = rng.uniform(500.0, 620.0) * width / 640.0
    fy = f * rng.uniform(0.995, 1.005)
    cx = (width - 1) / 2.0 + rng.uniform(-0.02, 0.02) * width
    cy = (height - 1) / 2.0 + rng.uniform(-0.02, 0.02) * height
    return CameraIntrinsics(f, fy, cx, cy, width, height)


def look_at_pose(position: tuple[float, float, float], target: tuple[float, float, float],
                 roll: float = 0.0) -> CameraPose:
    """Pose at ``position`` looking at ``target`` (both world, metres)."""
    d = np.asarray(target, float) - np.asarray(position, float)
    yaw = math.atan2(d[1], d[0])
    pitch = math.atan2(-d[2], math.hypot(d[0], d[1]))
    return CameraPose(tuple(float(v) for v in position), yaw, pitch, roll)


@dataclass(frozen=True)
class Trajectory:
    """
    A smooth closed camera path: an ellipse around the room centre with gentle head motion.

    ``pose(t)`` is infinitely differentiable in ``t`` (seconds); the path repeats every
    ``period_s``.
    """

    center: tuple[float, float]  # ellipse centre, metres
    radii: tuple[float, float]  # ellipse radii along x and y, metres
    phase: float  # start angle on the ellipse, radians
    period_s: float  # time for one loop, seconds
    direction: float  # +1 counter-clockwise, -1 clockwise
    height_m: float  # mean camera height above the floor
    look_offset: float  # heading relative to the path tangent, radians (toward the outside)
    pitch: float  # mean pitch, radians (positive down)
    sway: float  # amplitude of the heading oscillation, radians

    def position(self, t: float) -> tuple[float, float, float]:
        """Camera centre at time ``t`` seconds (world, metres)."""
        a = self.phase + self.direction * 2.0 * math.pi * t / self.period_s
        return (self.center[0] + self.radii[0] * math.cos(a),
                self.center[1] + self.radii[1] * math.sin(a),
                self.height_m + 0.04 * math.sin(2.0 * math.pi * t / 1.3))

    def pose(self, t: float) -> CameraPose:
        """Camera pose at time ``t`` seconds."""
        a = self.phase + self.direction * 2.0 * math.pi * t / self.period_s
        tx = -self.radii[0] * math.sin(a) * self.direction
        ty = self.radii[1] * math.cos(a) * self.direction
        heading = math.atan2(ty, tx) - self.direction * self.look_offset
        heading += self.sway * math.sin(2.0 * math.pi * t / 7.0)
        pitch = self.pitch + math.radians(5.0) * math.sin(2.0 * math.pi * t / 5.3)
        roll = math.radians(2.0) * math.sin(2.0 * math.pi * t / 3.7)
        return CameraPose(self.position(t), heading, pitch, roll)

    def keep_clear(self, radius: float = 0.5, samples: int = 48
                   ) -> list[tuple[float, float, float]]:
        """Floor disks ``(x, y, r)`` covering the path (for scene generation)."""
        out = []
        for i in range(samples):
            x, y, _ = self.position(i * self.period_s / samples)
            out.append((x, y, radius))
        return out


def sample_trajectory(rng: np.random.Generator, room_size: tuple[float, float, float]
                      ) -> Trajectory:
    """A random smooth path inside a room of ``room_size`` (x, y, height) metres."""
    sx, sy, _ = room_size
    return Trajectory(
        center=(sx / 2 + rng.uniform(-0.1, 0.1) * sx, sy / 2 + rng.uniform(-0.1, 0.1) * sy),
        radii=(max(0.3, rng.uniform(0.15, 0.3) * sx), max(0.3, rng.uniform(0.15, 0.3) * sy)),
        phase=rng.uniform(0, 2 * math.pi),
        period_s=rng.uniform(20.0, 40.0),
        direction=1.0 if rng.random() < 0.5 else -1.0,
        height_m=rng.uniform(0.6, 1.6),
        look_offset=math.radians(rng.uniform(30.0, 100.0)),
        pitch=math.radians(rng.uniform(0.0, 30.0)),
        sway=math.radians(rng.uniform(5.0, 25.0)),
    )


@dataclass(frozen=True)
class FurnitureTrajectory:
    """
    The ellipse of ``base``, with the camera turned toward the furniture near it (demo path).

    Each target ``(x, y, z, weight)`` weighs ``weight * exp(-d^2 / (2 sigma^2))`` with ``d``
    its horizontal distance (m) to the camera; the camera looks along the weighted mean of the
    unit vectors toward the targets plus ``base_pull`` times the base path's own heading (which
    decides between pieces on opposite sides), and down at their weighted mean pitch.
    """

    base: Trajectory
    targets: tuple[tuple[float, float, float, float], ...]  # world x, y, z (m) and weight
    sigma_m: float = 1.2  # distance scale of the weights, metres
    base_pull: float = 0.3  # weight of the base heading against the targets' (which sum to 1)

    @property
    def period_s(self) -> float:
        """Time for one loop, seconds (the base path's)."""
        return self.base.period_s

    def position(self, t: float) -> tuple[float, float, float]:
        """Camera centre at time ``t`` seconds (world, metres)."""
        return self.base.position(t)

    def look(self, t: float) -> tuple[float, float]:
        """Unsmoothed (yaw, pitch) toward the targets at ``t`` seconds, radians."""
        p = np.asarray(self.position(t))
        base_yaw = self.base.pose(t).yaw
        pull = self.base_pull * np.array([math.cos(base_yaw), math.sin(base_yaw)])
        targets = np.asarray(self.targets, float).reshape(-1, 4)
        if not len(targets):
            return base_yaw, self.base.pose(t).pitch
        d = targets[:, :3] - p
        horizontal = np.maximum(np.hypot(d[:, 0], d[:, 1]), 0.3)
        logw = np.log(targets[:, 3]) - horizontal ** 2 / (2.0 * self.sigma_m ** 2)
        w = np.exp(logw - logw.max())
        w /= w.sum()
        v = (w[:, None] * d[:, :2] / horizontal[:, None]).sum(axis=0) + pull
        pitch = float(w @ np.arctan2(-d[:, 2], horizontal))
        return math.atan2(v[1], v[0]), pitch

    def pose(self, t: float) -> CameraPose:
        """
        Camera pose at time ``t`` seconds: ``look`` averaged over +-1.5 s (a Gaussian of 0.6 s)
        so that passing a piece never whips the camera round; pitch clamped to 5-50 degrees
        down; a gentle roll.
        """
        offsets = np.linspace(-1.5, 1.5, 13)
        weights = np.exp(-0.5 * (offsets / 0.6) ** 2)
        looks = np.array([self.look(t + o) for o in offsets])
        yaw = math.atan2(float(weights @ np.sin(looks[:, 0])),
                         float(weights @ np.cos(looks[:, 0])))
        pitch = float(weights @ looks[:, 1] / weights.sum())
        pitch = min(max(pitch, math.radians(5.0)), math.radians(50.0))
        roll = math.radians(2.0) * math.sin(2.0 * math.pi * t / 3.7)
        return CameraPose(self.position(t), yaw, pitch, roll)

    def keep_clear(self, radius: float = 0.5, samples: int = 48
                   ) -> list[tuple[float, float, float]]:
        """Floor disks ``(x, y, r)`` covering the path (the base path's)."""
        return self.base.keep_clear(radius, samples)
