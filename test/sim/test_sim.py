# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""The synthetic world: determinism, geometry, designed ambiguities, sensor statistics."""

import dataclasses
import math

import cv2
import numpy as np
import pytest

from rgbd_seg_ros.core.camera import CameraIntrinsics
from rgbd_seg_ros.sim import SYNTHETIC_LABELS, Frame, SensorConfig, SyntheticSequence, sample_frame
from rgbd_seg_ros.sim import classes as C
from rgbd_seg_ros.sim.camera import CameraPose
from rgbd_seg_ros.sim.render import render
from rgbd_seg_ros.sim.scene import Box, generate_scene
from rgbd_seg_ros.sim.world import render_frame, sample_view

IDEAL = SensorConfig.ideal()


def _points(depth: np.ndarray, k: CameraIntrinsics) -> np.ndarray:
    """Back-projection ``[H, W, 3]`` (camera frame, metres) with 0-based pixel centres."""
    h, w = depth.shape
    u, v = np.meshgrid(np.arange(w), np.arange(h))
    return np.stack([(u - k.cx) / k.fx * depth, (v - k.cy) / k.fy * depth, depth], axis=-1)


def _first_view(predicate, size=(96, 128), limit=120, world=None):
    """First (index, frame, scene, K, pose) of seed 0 whose ideal frame satisfies predicate."""
    for i in range(limit):
        scene, k, pose = sample_view(0, i, size[1], size[0], world)
        frame = render_frame(scene, k, pose, IDEAL)
        if predicate(frame, scene):
            return i, frame, scene, k, pose
    pytest.fail('no synthetic view satisfies the condition')


def _without(scene, keep):
    return dataclasses.replace(scene, primitives=[p for p in scene.primitives if keep(p)])


def _eroded(mask: np.ndarray, k: int = 5) -> np.ndarray:
    return cv2.erode(mask.astype(np.uint8), np.ones((k, k), np.uint8)).astype(bool)


# -- the Frame contract ----------------------------------------------------------------------

def test_frame_contract():
    f = sample_frame(1, 2, 80, 60)
    assert isinstance(f, Frame)
    assert f.rgb.shape == (60, 80, 3) and f.rgb.dtype == np.uint8
    assert f.depth_m.shape == (60, 80) and f.depth_m.dtype == np.float32
    assert f.valid.dtype == bool and f.label.dtype == np.uint8
    assert f.depth_clean_m.dtype == np.float32 and np.all(f.depth_clean_m > 0)
    np.testing.assert_array_equal(f.valid, f.depth_m > 0)
    assert set(np.unique(f.label)) <= set(range(SYNTHETIC_LABELS.num_classes)) | {255}
    assert 10 <= SYNTHETIC_LABELS.num_classes <= 14
    assert isinstance(f.intrinsics, CameraIntrinsics)
    assert (f.intrinsics.width, f.intrinsics.height) == (80, 60)
    assert f.gravity.shape == (3,) and abs(np.linalg.norm(f.gravity) - 1) < 1e-9
    assert 0.5 <= f.camera_height_m <= 1.8
    # intrinsics around Kinect/RealSense values (500-620 px at 640 wide), centred
    assert 500 * 80 / 640 <= f.intrinsics.fx <= 620 * 80 / 640
    assert abs(f.intrinsics.cx - 39.5) <= 0.02 * 80 + 1e-9


def test_deterministic_per_seed_and_index():
    a = sample_frame(7, 3, 64, 48)
    b = sample_frame(7, 3, 64, 48)
    for field in ('rgb', 'depth_m', 'valid', 'label', 'depth_clean_m', 'gravity'):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    c = sample_frame(7, 4, 64, 48)
    d = sample_frame(8, 3, 64, 48)
    assert not np.array_equal(a.depth_clean_m, c.depth_clean_m)
    assert not np.array_equal(a.depth_clean_m, d.depth_clean_m)


def test_sequence_is_deterministic_and_smooth():
    seq = SyntheticSequence(5, 64, 48)
    f1 = seq.frame(3, 0.1)
    f2 = SyntheticSequence(5, 64, 48).frame(3, 0.1)
    np.testing.assert_array_equal(f1.rgb, f2.rgb)
    np.testing.assert_array_equal(f1.depth_m, f2.depth_m)
    # 30 Hz steps: the camera moves by centimetres and a few degrees, never jumps
    poses = [seq.pose(i / 30.0) for i in range(90)]
    steps = [np.linalg.norm(np.subtract(a.position, b.position)) for a, b in zip(poses, poses[1:])]
    turns = [abs(math.remainder(a.yaw - b.yaw, 2 * math.pi)) for a, b in zip(poses, poses[1:])]
    assert max(steps) < 0.05 and max(turns) < math.radians(3)
    assert np.linalg.norm(np.subtract(poses[0].position, poses[-1].position)) > 0.1
    # the trajectory stays clear of furniture: the nearest surface is never closer than 0.2 m
    for t in (0.0, 5.0, 10.0, 15.0):
        assert seq.frame(0, t).depth_clean_m.min() > 0.2


def test_vga_rendering_works():
    f = sample_frame(0, 0, 640, 480)
    assert f.rgb.shape == (480, 640, 3) and f.depth_m.shape == (480, 640)
    assert 0.3 < f.valid.mean() <= 1.0


# -- geometry --------------------------------------------------------------------------------

def test_floor_pixels_lie_on_one_plane_at_camera_height():
    for index in range(6):
        f = sample_frame(3, index, 96, 72, IDEAL)
        floor = f.label == C.FLOOR
        if floor.sum() < 50:
            continue
        heights = _points(f.depth_clean_m, f.intrinsics)[floor] @ f.gravity
        np.testing.assert_allclose(heights, f.camera_height_m, atol=2e-3)
        ceiling = f.label == C.CEILING
        if ceiling.sum() > 20:  # the ceiling is a second horizontal plane above the camera
            h_c = _points(f.depth_clean_m, f.intrinsics)[ceiling] @ f.gravity
            assert h_c.max() < 0 and np.ptp(h_c) < 4e-3


def test_walls_are_vertical_with_respect_to_gravity():
    checked = 0
    for index in range(6):
        f = sample_frame(4, index, 96, 72, IDEAL)
        p = _points(f.depth_clean_m.astype(np.float64), f.intrinsics)
        wall = _eroded(f.label == C.WALL, 3)
        # normals from neighbour differences inside wall regions
        n = np.cross(p[1:-1, 2:] - p[1:-1, :-2], p[2:, 1:-1] - p[:-2, 1:-1])
        n /= np.linalg.norm(n, axis=-1, keepdims=True)
        inner = wall[1:-1, 1:-1]
        if inner.sum() < 50:
            continue
        cos = np.abs(n[inner] @ f.gravity)
        assert np.median(cos) < 0.01 and np.percentile(cos, 90) < 0.05
        checked += 1
    assert checked >= 3


def test_floor_mats_are_raised_3_to_6_cm_in_the_depth_favoured_world():
    _, f, _, k, _ = _first_view(lambda fr, s: _eroded(fr.label == C.FLOOR_MAT).sum() > 100,
                                world='depth_favoured')
    mat = _eroded(f.label == C.FLOOR_MAT)
    # top faces: height above the floor = camera height - (P . g)
    above = f.camera_height_m - _points(f.depth_clean_m, k)[mat] @ f.gravity
    top = above[above > 0.01]
    assert 0.029 <= np.median(top) <= 0.061


# -- designed ambiguities, checked on rendered pixels ----------------------------------------

def test_floor_mat_looks_like_the_floor_but_is_raised_in_the_depth_favoured_world():
    i, f, scene, k, pose = _first_view(
        lambda fr, s: _eroded(fr.label == C.FLOOR_MAT).sum() > 150, world='depth_favoured')
    mat = _eroded(f.label == C.FLOOR_MAT)
    g = render_frame(_without(scene, lambda p: p.label != C.FLOOR_MAT), k, pose, IDEAL)
    assert np.all(g.label[mat] == C.FLOOR)  # the floor is what lies underneath
    # same colour statistics as the floor it covers ...
    diff = np.abs(f.rgb[mat].astype(float).mean(0) - g.rgb[mat].astype(float).mean(0))
    assert diff.max() < 10, diff
    # ... but a clear depth step
    assert np.median(g.depth_clean_m[mat] - f.depth_clean_m[mat]) > 0.03


def test_picture_has_the_wall_depth_but_not_its_look():
    _, f, scene, k, pose = _first_view(lambda fr, s: _eroded(fr.label == C.PICTURE).sum() > 150)
    pic = _eroded(f.label == C.PICTURE)
    g = render_frame(_without(scene, lambda p: p.label != C.PICTURE), k, pose, IDEAL)
    assert np.all(g.label[pic] == C.WALL)
    dz = np.abs(g.depth_clean_m[pic] - f.depth_clean_m[pic])
    # below the sensor's depth noise at that distance for (nearly) every pixel
    sigma = SensorConfig().depth_sigma_m(f.depth_clean_m[pic])
    assert np.median(dz) < 0.004 and np.mean(dz < sigma) > 0.9
    assert np.abs(f.rgb[pic].astype(float) - g.rgb[pic].astype(float)).mean() > 15


def test_wall_painted_cabinet_matches_the_wall_in_colour():
    def painted(s):
        return [j for j, p in enumerate(s.primitives)
                if p.label == C.CABINET and p.material in s.wall_materials]

    checked = 0
    for i in range(120):
        scene, k, pose = sample_view(0, i, 128, 96, 'depth_favoured')
        ids = painted(scene)
        if not ids:
            continue
        b = render(scene, k, pose, with_normals=True)
        reduced = dataclasses.replace(
            scene, primitives=[p for j, p in enumerate(scene.primitives) if j not in ids])
        b2 = render(reduced, k, pose, with_normals=True)
        # cabinet front faces, parallel to the wall they hide
        front = (_eroded(np.isin(b.surface, ids))
                 & (np.abs((b.normal_cam * b2.normal_cam).sum(-1)) > 0.999)
                 & (b2.label == C.WALL))
        if front.sum() < 150:
            continue
        f = render_frame(scene, k, pose, IDEAL)
        g = render_frame(reduced, k, pose, IDEAL)
        a = f.rgb[front].astype(float).mean(0)
        c = g.rgb[front].astype(float).mean(0)
        # the same paint: equal chromaticity, brightness within the lighting difference
        np.testing.assert_allclose(a / a.sum(), c / c.sum(), atol=0.01)
        assert abs(a.sum() / c.sum() - 1) < 0.15
        assert np.median(g.depth_clean_m[front] - f.depth_clean_m[front]) > 0.3
        checked += 1
        if checked == 2:
            break
    assert checked == 2


def test_box_and_crate_share_one_shape_distribution():
    dims = {C.BOX: [], C.CRATE: []}
    wrapped = 0
    for i in range(150):  # depth_favoured: ~30 % of boxes wear a picture's texture (nyu_like 5 %)
        scene = generate_scene(np.random.default_rng(i), world='depth_favoured')
        pictures = {p.material for p in scene.primitives if p.label == C.PICTURE}
        for p in scene.primitives:
            if isinstance(p, Box) and p.label in dims:
                dims[p.label].append(sorted(p.half))
                wrapped += p.label == C.BOX and p.material in pictures
    box, crate = np.array(dims[C.BOX]), np.array(dims[C.CRATE])
    assert len(box) > 100 and len(crate) > 100
    # identical generator: means agree within ~3 standard errors
    se = np.sqrt(box.var(0) / len(box) + crate.var(0) / len(crate))
    assert np.all(np.abs(box.mean(0) - crate.mean(0)) < 3.5 * se)
    assert wrapped > 10  # boxes wrapped in the very material of a picture on the wall


# -- sensor models ---------------------------------------------------------------------------

def _scene_view(index: int = 2, size=(96, 128)):
    scene, k, pose = sample_view(0, index, size[1], size[0])
    return scene, k, pose


def test_ideal_sensor_is_exact():
    scene, k, pose = _scene_view()
    f = render_frame(scene, k, pose, IDEAL)
    assert f.valid.all()
    np.testing.assert_array_equal(f.depth_m, f.depth_clean_m)


def test_depth_noise_follows_its_sigma():
    scene, k, pose = _scene_view()
    cfg = dataclasses.replace(IDEAL, depth_noise=True)
    f = render_frame(scene, k, pose, cfg, noise_seed=1)
    z = f.depth_clean_m
    r = (f.depth_m - z) / cfg.depth_sigma_m(z)
    assert abs(r.mean()) < 0.05 and 0.95 < r.std() < 1.05


def test_quantisation_and_range_limits():
    scene, k, pose = _scene_view()
    cfg = dataclasses.replace(IDEAL, quantize_mm=True, range_limits=True, min_depth_m=1.0,
                              max_depth_m=3.0)
    f = render_frame(scene, k, pose, cfg)
    mm = f.depth_m[f.valid] * 1000.0
    np.testing.assert_allclose(mm, np.round(mm), atol=1e-3)
    assert np.abs(f.depth_m - f.depth_clean_m)[f.valid].max() <= 0.0005 + 1e-6
    inside = (f.depth_clean_m >= 1.0005) & (f.depth_clean_m <= 2.9995)
    np.testing.assert_array_equal(f.valid[inside], True)
    assert not f.valid[(f.depth_clean_m < 0.999) | (f.depth_clean_m > 3.001)].any()


def test_invalid_border_and_edge_holes():
    scene, k, pose = _scene_view(size=(120, 160))
    f = render_frame(scene, k, pose, dataclasses.replace(IDEAL, invalid_border=True,
                                                         invalid_border_px=16.0))
    b = round(16 * 160 / 640)
    assert not f.valid[:b].any() and not f.valid[:, -b:].any()
    assert f.valid[b:-b, b:-b].all()
    g = render_frame(scene, k, pose, dataclasses.replace(IDEAL, edge_holes=True))
    z = g.depth_clean_m
    jump = np.zeros_like(z, bool)
    jump[:, 1:] = np.abs(np.diff(z, axis=1)) > 0.1 * z[:, 1:]
    assert jump.sum() > 20
    assert not g.valid[jump].any()  # every pixel beside a jump is lost
    assert 0.75 < g.valid.mean() < 1.0  # holes only near edges
    # a band of 2 px per side at 640 px covers half of a 160-px pixel: about half of the jump
    # pixels go (their own share, plus the fray of lost neighbours at 0.4 x that share)
    half = render_frame(scene, k, pose, dataclasses.replace(IDEAL, edge_holes=True,
                                                            edge_hole_px=2.0))
    lost = 1.0 - half.valid[jump].mean()
    assert 0.4 < lost < 0.8, lost
    assert half.valid.mean() > g.valid.mean()
    full = render_frame(scene, k, pose, dataclasses.replace(IDEAL, edge_holes=True,
                                                            edge_hole_px=4.0))
    assert not full.valid[jump].any()  # a band of a whole pixel or more: as the 1-px default


def test_glass_dark_and_specular_holes():
    _, f0, scene, k, pose = _first_view(lambda fr, s: (fr.label == C.WINDOW).sum() > 100)
    cfg = dataclasses.replace(IDEAL, transparent_holes=True)
    f = render_frame(scene, k, pose, cfg)
    glass = render(scene, k, pose).transparent
    assert glass.sum() > 50
    assert 0.8 < 1 - f.valid[glass].mean() < 0.97  # ~90 % lost (frames are opaque)
    assert f.valid[~glass].all()
    # dark materials: holes with the configured probability, nowhere else
    dark_scene = None
    for i in range(60):
        s, kk, pp = sample_view(0, i, 128, 96)
        b = render(s, kk, pp)
        if (b.ir_albedo < 0.03).sum() > 200:
            dark_scene = (s, kk, pp, b.ir_albedo < 0.03)
            break
    assert dark_scene is not None
    s, kk, pp, dark = dark_scene
    g = render_frame(s, kk, pp, dataclasses.replace(IDEAL, dark_holes=True, dark_hole_prob=0.7))
    assert abs((1 - g.valid[dark].mean()) - 0.7) < 0.08
    assert g.valid[~dark].all()
    # specular highlights: the saturated pixels and their 8-neighbours are lost, nothing else
    for i in range(60):
        s, kk, pp = sample_view(0, i, 128, 96)
        b = render(s, kk, pp)
        if (b.specular > 0.25).sum() > 20:
            break
    else:
        pytest.fail('no view with a specular highlight')
    g = render_frame(s, kk, pp, dataclasses.replace(IDEAL, specular_holes=True))
    hot = cv2.dilate((b.specular > 0.25).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    np.testing.assert_array_equal(g.valid, ~hot)


def test_rgb_noise_std():
    scene, k, pose = _scene_view()
    clean = render_frame(scene, k, pose, IDEAL)
    noisy = render_frame(scene, k, pose, dataclasses.replace(IDEAL, rgb_noise=True,
                                                             rgb_noise_std=3.0))
    d = noisy.rgb.astype(float) - clean.rgb.astype(float)
    inner = (clean.rgb > 15) & (clean.rgb < 240)  # away from clipping
    assert abs(d[inner].mean()) < 0.1 and abs(d[inner].std() - 3.0) < 0.15


def test_gravity_matches_the_pose():
    pose = CameraPose((1.0, 1.0, 1.2), yaw=0.3, pitch=math.radians(30), roll=math.radians(10))
    g = pose.gravity
    # pitch down 30 deg and roll 10 deg: gravity has z = sin(30) (forward) and x from roll
    assert abs(g[2] - math.sin(math.radians(30))) < 1e-12
    assert abs(g[0] - math.cos(math.radians(30)) * math.sin(math.radians(10))) < 1e-12
    assert abs(np.linalg.norm(g) - 1) < 1e-12


# -- world variants (sim.style) --------------------------------------------------------------

def test_nyu_like_rugs_are_flat_and_not_the_floor_material():
    _, f, scene, k, _ = _first_view(lambda fr, s: _eroded(fr.label == C.FLOOR_MAT).sum() > 100,
                                    world='nyu_like')
    rugs = [p for p in scene.primitives if p.label == C.FLOOR_MAT]
    assert rugs and all(p.material != scene.floor_material for p in rugs)
    assert all(0.005 <= 2 * p.half[2] <= 0.012 for p in rugs)
    mat = _eroded(f.label == C.FLOOR_MAT)
    above = f.camera_height_m - _points(f.depth_clean_m, k)[mat] @ f.gravity
    assert np.median(above) < 0.0125  # flat: below the Kinect's depth step at 2-4 m


def test_world_variants_differ_in_their_designed_ambiguities():
    counts = {}
    for world in ('nyu_like', 'depth_favoured'):
        painted = flat = cabinets = objects = 0
        for i in range(100):  # 40 rooms drew 14 % flat objects in nyu_like, 100 draw 16 %
            scene, _, _ = sample_view(5, i, 64, 48, world)
            for p in scene.primitives:
                if isinstance(p, Box) and p.label == C.CABINET and p.half[2] > 0.2:
                    cabinets += 1
                    painted += p.material in scene.wall_materials
                if p.label == C.OBJECT:
                    objects += 1
                    flat += isinstance(p, Box) and 2 * p.half[2] <= 0.015
        counts[world] = (painted / cabinets, flat / objects)
    # depth_favoured: ~45 % wall-painted cabinets, no flat objects; nyu_like: ~10 %, and ~1/6 of
    # all objects flat (35 % of those on supports; books on shelves and floor objects are not)
    assert 0.3 < counts['depth_favoured'][0] < 0.6 and counts['depth_favoured'][1] == 0
    assert counts['nyu_like'][0] < 0.2 and 0.15 < counts['nyu_like'][1] < 0.5


def test_disparity_quantisation_steps_grow_with_the_square_of_depth():
    cfg = SensorConfig(disparity_step_px=0.125)
    fb = cfg.disparity_focal_px * cfg.stereo_baseline_m  # 43.5 px m
    z = np.linspace(0.5, 4.5, 2001, dtype=np.float32)
    q = cfg.disparity_quantize(z)
    k = fb / q / 0.125  # every output lies on the disparity lattice k * step
    np.testing.assert_allclose(k, np.rint(k), atol=1e-3)
    step = z.astype(np.float64) ** 2 * 0.125 / fb  # 2 m: 11.5 mm, 4 m: 46 mm
    assert np.all(np.abs(q - z) <= 0.5 * step * 1.05 + 1e-6)
    assert len(np.unique(q[z > 4.0])) < len(np.unique(q[z < 1.0]))
    assert SensorConfig().disparity_quantize(z) is z  # off by default


def test_unknown_world_is_refused_with_the_known_names():
    with pytest.raises(ValueError, match='nyu_like'):
        sample_frame(0, 0, 32, 24, world='kitchen')


def test_furniture_path_looks_at_a_lone_target_and_keeps_the_orbit():
    from rgbd_seg_ros.sim.camera import FurnitureTrajectory

    orbit = SyntheticSequence(3, 40, 30, world='nyu_like')
    aimed = SyntheticSequence(3, 40, 30, world='nyu_like', path='furniture')
    assert isinstance(aimed.trajectory, FurnitureTrajectory)
    assert aimed.scene.primitives == orbit.scene.primitives  # same room: only the view turns
    target = (1.0, 2.0, 0.5)
    base = orbit.trajectory
    path = FurnitureTrajectory(base, (target + (1.0,),), base_pull=0.0)
    for t in (0.0, 3.3, 11.0):
        q = base.position(t)
        yaw, pitch = path.look(t)
        assert yaw == pytest.approx(math.atan2(target[1] - q[1], target[0] - q[0]), abs=1e-12)
        distance = max(math.hypot(target[0] - q[0], target[1] - q[1]), 0.3)  # clamped
        assert pitch == pytest.approx(math.atan2(q[2] - target[2], distance), abs=1e-12)
        pose = path.pose(t)
        assert pose.position == q
        offsets = np.linspace(-1.5, 1.5, 13)
        yaws = [path.look(t + o)[0] for o in offsets]
        weights = np.exp(-0.5 * (offsets / 0.6) ** 2)
        expected = math.atan2(weights @ np.sin(yaws), weights @ np.cos(yaws))
        assert pose.yaw == pytest.approx(expected, abs=1e-12)  # toward the target, smoothed
        assert math.radians(5.0) <= pose.pitch <= math.radians(50.0)
    pulled = FurnitureTrajectory(base, (target + (1.0,),), base_pull=0.3)
    q, b = base.position(0.0), base.pose(0.0).yaw
    u = np.subtract(target[:2], q[:2])
    v = u / np.linalg.norm(u) + 0.3 * np.array([math.cos(b), math.sin(b)])
    assert pulled.look(0.0)[0] == pytest.approx(math.atan2(v[1], v[0]), abs=1e-12)


def test_furniture_path_weighs_the_nearer_piece():
    from rgbd_seg_ros.sim.camera import FurnitureTrajectory

    base = SyntheticSequence(3, 40, 30).trajectory
    p = base.position(0.0)
    near = (p[0] + 0.5, p[1], p[2], 1.0)  # straight ahead along +x, level
    side = (p[0], p[1] + 4.0, p[2], 1.0)  # 4 m along +y
    yaw, _ = FurnitureTrajectory(base, (near, side), base_pull=0.0).look(0.0)
    r = math.exp(-(4.0 ** 2 - 0.5 ** 2) / (2 * 1.2 ** 2))  # weight of side / weight of near
    assert yaw == pytest.approx(math.atan2(r, 1.0), abs=1e-12)
    with pytest.raises(ValueError, match="unknown camera path 'spiral'"):
        SyntheticSequence(0, 40, 30, path='spiral')


def test_furniture_path_sees_more_furniture_than_the_orbit():
    def structure_fraction(seq):
        labels = np.stack([seq.frame(k, 2.0 * k).label for k in range(10)])
        return np.isin(labels, (C.FLOOR, C.WALL, C.CEILING, C.UNLABELED)).mean()

    orbit = [structure_fraction(SyntheticSequence(s, 40, 30, world='nyu_like'))
             for s in range(4)]
    aimed = [structure_fraction(SyntheticSequence(s, 40, 30, world='nyu_like', path='furniture'))
             for s in range(4)]
    assert np.mean(aimed) < np.mean(orbit) - 0.05
