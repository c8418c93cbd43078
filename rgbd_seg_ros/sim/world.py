# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Synthetic RGB-D frames: random single views (``sample_frame``) and smooth sequences through one
room (``SyntheticSequence``), deterministic per seed.
"""

from __future__ import annotations

from dataclasses import dataclass
import math

import numpy as np

from rgbd_seg_ros.core.camera import CameraIntrinsics
from rgbd_seg_ros.sim.camera import (
    CameraPose,
    FurnitureTrajectory,
    Trajectory,
    look_at_pose,
    sample_intrinsics,
    sample_trajectory,
)
from rgbd_seg_ros.sim.classes import BOX, CABINET, CHAIR, CRATE, OBJECT, SHELF, TABLE
from rgbd_seg_ros.sim.primitives import Box, Cylinder, Sphere
from rgbd_seg_ros.sim.render import render
from rgbd_seg_ros.sim.scene import Scene, draw_room_size, generate_scene
from rgbd_seg_ros.sim.sensor import SensorConfig, apply_depth, apply_rgb
from rgbd_seg_ros.sim.style import WorldStyle, world_style

# independent random streams derived from (seed, index)
_SCENE, _CAMERA, _SENSOR = 0, 1, 2
# camera paths of SyntheticSequence: 'orbit' looks ahead/outward along an ellipse (mostly walls
# and floor); 'furniture' follows the same ellipse aimed at the furniture near it (the demo's)
PATHS = ('orbit', 'furniture')
_FURNITURE = (TABLE, CHAIR, CABINET, SHELF, BOX, CRATE, OBJECT)


def furniture_targets(scene: Scene) -> tuple[tuple[float, float, float, float], ...]:
    """Aim points ``(x, y, z, weight)`` of the furniture and objects: centre, footprint m^2."""
    out = []
    for p in scene.primitives:
        if p.label not in _FURNITURE:
            continue
        if isinstance(p, Box):
            x, y, z = p.center
            area = 4.0 * p.half[0] * p.half[1]
        elif isinstance(p, Cylinder):
            (x, y), z = p.center_xy, 0.5 * (p.z0 + p.z1)
            area = math.pi * p.radius ** 2
        elif isinstance(p, Sphere):
            x, y, z = p.center
            area = math.pi * p.radius ** 2
        else:
            continue
        out.append((float(x), float(y), float(z), float(area) + 0.05))
    return tuple(out)


@dataclass
class Frame:
    """One synthetic RGB-D frame with ground truth (docs/architecture.md, Synthetic world)."""

    rgb: np.ndarray  # uint8 [H, W, 3], RGB order
    depth_m: np.ndarray  # float32 [H, W], metres, 0 where invalid
    valid: np.ndarray  # bool [H, W]
    label: np.ndarray  # uint8 [H, W], class ids of SYNTHETIC_LABELS, 255 unlabeled
    intrinsics: CameraIntrinsics  # 0-based pixel centres
    gravity: np.ndarray  # float64 (3,), unit vector pointing down in the camera frame
    depth_clean_m: np.ndarray  # float32 [H, W], noise-free z-depth (every pixel valid)
    camera_height_m: float = 0.0  # optical centre above the floor, metres
    pose: np.ndarray | None = None  # float64 4x4 world-from-camera (world z up, floor z = 0)


def _rng(seed: int, index: int, stream: int) -> np.random.Generator:
    if seed < 0 or index < 0:
        raise ValueError(f'seed and index must be >= 0, got seed={seed}, index={index}')
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(index), stream]))


def _check_size(width: int, height: int) -> None:
    if int(width) < 8 or int(height) < 8:
        raise ValueError(f'image size must be at least 8x8, got {width}x{height}')


def _make_frame(scene: Scene, intr: CameraIntrinsics, pose: CameraPose,
                sensor: SensorConfig, rng: np.random.Generator) -> Frame:
    buffers = render(scene, intr, pose)
    rgb = apply_rgb(buffers, sensor, rng)
    depth, valid = apply_depth(buffers, sensor, rng)
    return Frame(rgb=rgb, depth_m=depth, valid=valid, label=buffers.label, intrinsics=intr,
                 gravity=pose.gravity, depth_clean_m=buffers.depth_m,
                 camera_height_m=float(pose.position[2]), pose=pose.matrix())


def _sample_pose(rng: np.random.Generator, size: tuple[float, float, float]) -> CameraPose:
    """A camera 0.5-1.8 m high, >= 0.4 m from the walls, looking into the room."""
    sx, sy, _ = size
    x = rng.uniform(0.4, sx - 0.4)
    y = rng.uniform(0.4, sy - 0.4)
    height = rng.uniform(0.5, 1.8)
    # look toward a random point of the room's central area, at least 1.5 m away if possible
    for _ in range(20):
        tx, ty = rng.uniform(0.2 * sx, 0.8 * sx), rng.uniform(0.2 * sy, 0.8 * sy)
        if math.hypot(tx - x, ty - y) >= 1.5:
            break
    else:  # camera in the middle of a small room: look at a wall point instead
        tx, ty = (0.1 if x > sx / 2 else sx - 0.1), rng.uniform(0.1, sy - 0.1)
    dist = max(math.hypot(tx - x, ty - y), 0.5)
    pitch = math.radians(rng.uniform(-5.0, 40.0))
    tz = height - math.tan(pitch) * dist
    roll = math.radians(rng.uniform(-8.0, 8.0))
    pose = look_at_pose((x, y, height), (tx, ty, tz), roll)
    return CameraPose(pose.position, pose.yaw + math.radians(rng.normal(0, 5.0)), pose.pitch,
                      pose.roll)


def sample_view(seed: int, index: int, width: int, height: int,
                world: str | WorldStyle | None = None
                ) -> tuple[Scene, CameraIntrinsics, CameraPose]:
    """The room, intrinsics and camera pose of ``sample_frame(seed, index, ...)``."""
    _check_size(width, height)
    cam_rng = _rng(seed, index, _CAMERA)
    scene_rng = _rng(seed, index, _SCENE)
    size = draw_room_size(scene_rng)
    pose = _sample_pose(cam_rng, size)
    intr = sample_intrinsics(cam_rng, width, height)
    scene = generate_scene(scene_rng, keep_clear=[(pose.position[0], pose.position[1], 0.6)],
                           size=size, world=world)
    return scene, intr, pose


def sample_frame(seed: int, index: int, width: int, height: int,
                 sensor: SensorConfig | None = None,
                 world: str | WorldStyle | None = None) -> Frame:
    """
    An independent random frame: room, furniture, camera and noise drawn from ``(seed, index)``.

    :param width: image width, pixels; ``height``: image height, pixels.
    :param sensor: sensor model; ``None`` means the world's own sensor (``WorldStyle.sensor``).
    :param world: world variant name or style (``sim.style.WORLDS``); ``None``: the default.
    """
    style = world_style(world)
    scene, intr, pose = sample_view(seed, index, width, height, style)
    sensor = style.sensor if sensor is None else sensor
    return _make_frame(scene, intr, pose, sensor, _rng(seed, index, _SENSOR))


def render_frame(scene: Scene, intrinsics: CameraIntrinsics, pose: CameraPose,
                 sensor: SensorConfig | None = None, noise_seed: int = 0) -> Frame:
    """Render ``scene`` from ``pose`` through ``sensor`` (noise drawn from ``noise_seed``)."""
    sensor = SensorConfig() if sensor is None else sensor
    return _make_frame(scene, intrinsics, pose, sensor, _rng(noise_seed, 0, _SENSOR + 2))


class SyntheticSequence:
    """
    One room and a smooth camera trajectory through it (for bags and the camera simulator).

    ``frame(i, t)`` renders the view at time ``t`` seconds; ``i`` (the frame counter) seeds the
    sensor noise, so the same ``(i, t)`` always gives the same frame. ``path`` (``PATHS``):
    ``'orbit'`` looks ahead/outward along the ellipse, ``'furniture'`` turns the camera toward
    the furniture near it (``FurnitureTrajectory``; the same room and positions).
    """

    def __init__(self, seed: int, width: int, height: int,
                 sensor: SensorConfig | None = None,
                 world: str | WorldStyle | None = None, path: str = 'orbit') -> None:
        _check_size(width, height)
        style = world_style(world)
        self.seed = int(seed)
        self.world = style.name
        self.sensor = style.sensor if sensor is None else sensor
        scene_rng = _rng(seed, 0, _SCENE)
        cam_rng = _rng(seed, 0, _CAMERA)
        size = draw_room_size(scene_rng)
        orbit = sample_trajectory(cam_rng, size)
        self.intrinsics: CameraIntrinsics = sample_intrinsics(cam_rng, width, height)
        self.scene: Scene = generate_scene(scene_rng, orbit.keep_clear(0.5), size, style)
        if path not in PATHS:
            raise ValueError(f'unknown camera path {path!r}; expected one of {PATHS}')
        self.trajectory: Trajectory | FurnitureTrajectory = orbit
        if path == 'furniture':
            self.trajectory = FurnitureTrajectory(orbit, furniture_targets(self.scene))

    def pose(self, t: float) -> CameraPose:
        """Camera pose at ``t`` seconds."""
        return self.trajectory.pose(float(t))

    def frame(self, i: int, t: float) -> Frame:
        """Frame number ``i`` at time ``t`` seconds."""
        return _make_frame(self.scene, self.intrinsics, self.pose(t), self.sensor,
                           _rng(self.seed, int(i), _SENSOR + 1))
