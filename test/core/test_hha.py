# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
HHA against the reference fixtures, ray-cast scenes with known geometry, and bad input.

Fixture PNGs store R = disparity, G = height, B = angle; ``cv2.imread`` returns BGR, so every
reference image is read with ``[..., ::-1]`` into [disparity, height, angle].
"""

from __future__ import annotations

from dataclasses import dataclass
import math
import os
from pathlib import Path

import cv2
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
import pytest
import torch

from rgbd_seg_ros.core import hha, hha_geometry
from rgbd_seg_ros.core.camera import CameraIntrinsics

# --------------------------------------------------------------------------- helpers


def _read_ref(path: Path) -> np.ndarray:
    """Reference HHA PNG as [disparity, height, angle] (PNG planes R, G, B)."""
    bgr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert bgr is not None and bgr.dtype == np.uint8 and bgr.shape[2] == 3, path
    return np.ascontiguousarray(bgr[..., ::-1])


def _read_depth(path: Path, metres_per_unit: float) -> np.ndarray:
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert raw is not None and raw.dtype == np.uint16 and raw.ndim == 2, path
    return raw.astype(np.float64) * metres_per_unit


def _channel_stats(ours: np.ndarray, ref: np.ndarray) -> list[tuple[float, float, int]]:
    """Per channel: mean absolute error, fraction of pixels within 5, max error."""
    diff = np.abs(ours.astype(np.int64) - ref.astype(np.int64)).reshape(-1, 3)
    return [(diff[:, c].mean(), (diff[:, c] <= 5).mean(), int(diff[:, c].max())) for c in range(3)]


def _assert_issue_tolerance(ours: np.ndarray, ref: np.ndarray) -> None:
    for name, (mae, within5, _) in zip(hha.HHA_CHANNELS, _channel_stats(ours, ref)):
        assert mae <= 1.0, f'{name}: MAE {mae:.3f} grey levels'
        assert within5 >= 0.99, f'{name}: only {within5:.4f} of pixels within 5'


def _collinear_windows(valid: np.ndarray, radius: int) -> np.ndarray:
    """
    Pixels whose (2r+1)^2 window holds fewer than 3 valid points, or only collinear ones.

    Brute force over the windows (independent of the implementation's box filters): the
    points are collinear iff the 2x2 covariance of their pixel offsets is singular. Only
    partly valid windows can be degenerate with r >= 1, so only those are examined.
    """
    k = 2 * radius + 1
    win = sliding_window_view(np.pad(valid, radius), (k, k))  # [H, W, k, k] view
    count = win.sum((2, 3), dtype=np.int64)
    out = count < 3
    partial = np.nonzero((count >= 3) & (count < k * k))
    w = win[partial].astype(np.int64)  # [N, k, k]
    off = np.arange(-radius, radius + 1, dtype=np.int64)
    du, dv = off[None, :], off[:, None]
    n = count[partial]
    su, sv = (w * du).sum((1, 2)), (w * dv).sum((1, 2))
    cuu = n * (w * du * du).sum((1, 2)) - su * su
    cvv = n * (w * dv * dv).sum((1, 2)) - sv * sv
    cuv = n * (w * du * dv).sum((1, 2)) - su * sv
    out[partial] = cuu * cvv - cuv * cuv == 0
    return out


# --------------------------------------------------------------------------- reference fixtures


@pytest.fixture(scope='module')
def nyu(request) -> dict:
    root = Path(__file__).resolve().parents[1] / 'fixtures' / 'hha'
    return {
        'root': root,
        'depth': _read_depth(root / '0.png', 1e-4),  # units of 0.1 mm
        'raw': _read_depth(root / '0_raw.png', 1e-4),
        'K': np.loadtxt(root / 'K_nyu_color.txt'),
    }


def test_filled_depth_matches_reference(nyu):
    ours = hha.hha_image(nyu['depth'], nyu['K'])
    ref = _read_ref(nyu['root'] / 'hha_complete.png')
    assert ours.dtype == np.uint8 and ours.shape == (480, 640, 3)
    _assert_issue_tolerance(ours, ref)
    # Measured: disparity identical, height and angle off by 1 on < 0.05 % of the pixels.
    diff = np.abs(ours.astype(int) - ref.astype(int))
    assert diff.max() <= 1
    assert (diff == 0).mean() >= 0.999


def test_matlab_output_is_the_same_file_content(nyu):
    ref = _read_ref(nyu['root'] / 'hha_complete.png')
    np.testing.assert_array_equal(_read_ref(nyu['root'] / 'matlab_hha.png'), ref)


def test_tilted_crop_matches_reference(nyu):
    root = nyu['root'] / 'derived'
    depth = _read_depth(root / 'rcnn_demo_depth.png', 1e-3)  # millimetres
    ours = hha.hha_image(depth, np.loadtxt(root / 'K_nyu_color_crop.txt'))
    ref = _read_ref(root / 'rcnn_demo_hha_ref.png')
    assert ours.shape == (425, 560, 3)
    _assert_issue_tolerance(ours, ref)
    diff = np.abs(ours.astype(int) - ref.astype(int))
    assert diff.max() <= 1
    assert (diff == 0).mean() >= 0.999


@pytest.mark.parametrize('variant', ['raw_mask', 'raw_only'])
def test_missing_depth_matches_reference(nyu, variant):
    """
    ``getHHA(C, D, RD)`` (hha.png) and ``getHHA(C, RD, RD)`` (nyu0_hha_ref_rawonly.png).

    Tolerance, measured and explained: where a 7x7 window holds 1-2 valid points or only
    collinear ones (a row or column at the edge of the NYU invalid border, 0.8 % of the pixels)
    the reference's normal is numerically arbitrary and ours is "no normal" (218), so the angle
    there differs by up to 180 (angle MAE 0.72, 99.2 % within 5). Everywhere else the angle is
    within 1 and exact on >= 99.5 % (measured 99.88 % / 99.72 %). Degenerate 21x21 windows also
    feed the reference's gravity estimate, so heights differ by 1 on 0.29 % / 0.58 % of the
    pixels; disparity is identical.
    """
    valid = nyu['raw'] > 0
    if variant == 'raw_mask':
        ours = hha.hha_image(nyu['depth'], nyu['K'], valid_mask=valid)
        ref = _read_ref(nyu['root'] / 'hha.png')
    else:
        ours = hha.hha_image(nyu['raw'], nyu['K'])
        ref = _read_ref(nyu['root'] / 'derived' / 'nyu0_hha_ref_rawonly.png')
    _assert_issue_tolerance(ours, ref)
    diff = np.abs(ours.astype(int) - ref.astype(int))
    np.testing.assert_array_equal(diff[..., 0], 0)
    assert diff[..., 1].max() <= 1 and diff[..., 1].mean() <= 0.01
    degenerate = _collinear_windows(valid, hha.NORMAL_RADIUS)
    assert 0 < degenerate.mean() < 0.3
    np.testing.assert_array_equal(ours[..., 2][degenerate], 218)
    assert diff[..., 2][~degenerate].max() <= 1
    assert (diff[..., 2][~degenerate] == 0).mean() >= 0.995
    if variant == 'raw_only':  # missing depth: disparity 255 at the camera centre
        assert (ours[..., 0][~valid] == 255).all()


def test_filled_depth_with_torch_box_filter(nyu):
    """The GPU code path (depthwise convolutions, float32) on the CPU."""
    cam = CameraIntrinsics.from_matrix(nyu['K'], 640, 480).cropped(1, 1, 640, 480)  # 0-based
    ours = hha.compute_hha(nyu['depth'], cam, box_filter='torch')[0].permute(1, 2, 0).numpy()
    ref = _read_ref(nyu['root'] / 'hha_complete.png')
    diff = np.abs(ours.astype(int) - ref.astype(int))
    assert diff.max() <= 1 and (diff == 0).mean() >= 0.999


def test_one_based_convention_matters(nyu):
    """Using the 1-based K as if it were 0-based shifts the output measurably (docs/hha.md)."""
    cam_wrong = CameraIntrinsics.from_matrix(nyu['K'], 640, 480)
    wrong = hha.compute_hha(nyu['depth'], cam_wrong)[0].permute(1, 2, 0).numpy()
    ref = _read_ref(nyu['root'] / 'hha_complete.png')
    assert (wrong[..., 1] != ref[..., 1]).mean() > 0.01


# --------------------------------------------------------------------------- ray-cast scenes


@dataclass
class Scene:
    depth_m: np.ndarray  # [H, W] float32
    height_cm: np.ndarray  # [H, W] true height above the floor
    angle_deg: np.ndarray  # [H, W] true normal angle (NaN where no surface)
    surface: np.ndarray  # [H, W] int id of the surface hit (-1 none)
    gravity: np.ndarray  # (3,) unit, down, camera frame
    cam: CameraIntrinsics
    camera_height_m: float


def _camera_axes(pitch_deg: float, roll_deg: float) -> np.ndarray:
    """Columns = camera x, y, z axes in a world frame with x right, y down, z forward."""
    p, r = math.radians(pitch_deg), math.radians(roll_deg)
    x = np.array([1.0, 0.0, 0.0])
    y = np.array([0.0, math.cos(p), -math.sin(p)])
    z = np.array([0.0, math.sin(p), math.cos(p)])  # pitched down by p
    x, y = math.cos(r) * x + math.sin(r) * y, -math.sin(r) * x + math.cos(r) * y
    return np.stack([x, y, z], 1)


def ray_cast(
    *,
    camera_height_m: float,
    pitch_deg: float,
    roll_deg: float = 0.0,
    wall_z_m: float | None = None,
    box: tuple[float, float, float, float, float] | None = None,
    ceiling_m: float | None = None,
    width: int = 320,
    height: int = 240,
    focal: float = 260.0,
) -> Scene:
    """
    Noise-free depth of a floor (world y = camera height, y down), optional wall facing the
    camera (z = wall_z_m), optional box (x0, x1, z0, z1, height) on the floor, optional
    ceiling (ceiling_m above the camera).
    """
    cam = CameraIntrinsics(focal, focal, (width - 1) / 2 + 0.3, (height - 1) / 2 - 0.7,
                           width, height)
    axes = _camera_axes(pitch_deg, roll_deg)
    u, v = np.meshgrid(np.arange(width), np.arange(height))
    rays_c = np.stack([(u - cam.cx) / cam.fx, (v - cam.cy) / cam.fy, np.ones_like(u, float)], -1)
    rays = rays_c @ axes.T  # world direction per pixel (camera z component = 1)
    t_best = np.full((height, width), np.inf)
    surface = np.full((height, width), -1)
    angle = np.full((height, width), np.nan)

    def hit(t, sid, ang):
        better = (t > 0) & (t < t_best)
        t_best[better] = t[better]
        surface[better] = sid
        angle[better] = ang

    with np.errstate(divide='ignore', invalid='ignore'):
        hit(camera_height_m / rays[..., 1], 0, 0.0)  # floor: normal away from camera = down
        if wall_z_m is not None:
            hit(wall_z_m / rays[..., 2], 1, 90.0)
        if ceiling_m is not None:
            hit(-ceiling_m / rays[..., 1], 3, 180.0)
        if box is not None:
            x0, x1, z0, z1, box_h = box
            top_y = camera_height_m - box_h
            t = top_y / rays[..., 1]  # top face
            px, pz = t * rays[..., 0], t * rays[..., 2]
            hit(np.where((px >= x0) & (px <= x1) & (pz >= z0) & (pz <= z1), t, np.inf), 2, 0.0)
            t = z0 / rays[..., 2]  # front face
            px, py = t * rays[..., 0], t * rays[..., 1]
            inside = (px >= x0) & (px <= x1) & (py >= top_y) & (py <= camera_height_m)
            hit(np.where(inside, t, np.inf), 4, 90.0)
    depth = np.where(np.isfinite(t_best), t_best, 0.0)  # z along the optical axis = t
    world_y = t_best * rays[..., 1]
    return Scene(
        depth_m=depth.astype(np.float32),
        height_cm=np.where(np.isfinite(t_best), 100 * (camera_height_m - world_y), np.nan),
        angle_deg=angle,
        surface=surface,
        gravity=axes[1].copy(),  # world down (0, 1, 0) in camera coordinates = row 1 of axes
        cam=cam,
        camera_height_m=camera_height_m,
    )


def _interior(surface: np.ndarray, radius: int) -> np.ndarray:
    """Pixels whose (2r+1)^2 window (inside the image) sees only their own surface."""
    k = 2 * radius + 1
    pad = np.pad(surface, radius, constant_values=-2)
    win = sliding_window_view(pad, (k, k))
    same = ((win == surface[..., None, None]) | (win == -2)).all((2, 3))
    return same & (surface >= 0)


def _hha(scene: Scene, **kwargs) -> np.ndarray:
    out = hha.compute_hha(torch.from_numpy(scene.depth_m), scene.cam, **kwargs)
    assert out.shape == (1, 3, *scene.depth_m.shape) and out.dtype == torch.float32
    return out[0].permute(1, 2, 0).numpy()


def _expected_disparity(depth_m: np.ndarray) -> np.ndarray:
    z_cm = np.maximum(100.0 * depth_m.astype(np.float64), 100.0)
    return np.minimum(np.rint(31000.0 / z_cm), 255)


ROOM = dict(camera_height_m=1.4, pitch_deg=25.0, roll_deg=-8.0, wall_z_m=3.2,
            box=(-0.5, 0.4, 1.9, 2.6, 0.45))


@pytest.mark.parametrize('known_gravity', [False, True])
def test_room_scene_channels(known_gravity):
    scene = ray_cast(**ROOM)
    assert {0, 1, 2, 4} <= set(np.unique(scene.surface))
    out = _hha(scene, gravity=scene.gravity if known_gravity else None)
    disparity, height_cm, angle = out[..., 0], out[..., 1], out[..., 2]
    np.testing.assert_array_equal(disparity, _expected_disparity(scene.depth_m))
    # The floor is the lowest point and more than 90 cm below the camera: heights are cm above
    # the floor. With the estimated gravity (off by ~0.1 degree) +-1 grey level.
    expected_h = np.clip(np.rint(scene.height_cm), 0, 255)
    assert np.abs(height_cm - expected_h).max() <= 1
    if known_gravity:  # only float rounding at .5 left
        assert (height_cm == expected_h).mean() >= 0.999
    box_top = (scene.surface == 2) & _interior(scene.surface, 3)
    assert box_top.sum() > 20 and np.abs(height_cm[box_top] - 45).max() <= 1
    # Angles: floor and box top 38, wall and box front 128, where the 7x7 window is one plane.
    inner = _interior(scene.surface, hha.NORMAL_RADIUS)
    for sid, grey in ((0, 38), (1, 128), (2, 38), (4, 128)):
        sel = inner & (scene.surface == sid)
        assert sel.sum() > 20, sid
        assert np.abs(angle[sel] - grey).max() <= 1, (sid, np.unique(angle[sel]))


def test_gravity_estimate_of_tilted_rolled_camera():
    scene = ray_cast(**ROOM)
    g = hha.estimate_gravity(scene.depth_m, scene.cam)
    assert g.shape == (1, 3)
    err_deg = math.degrees(math.acos(min(1.0, float(np.dot(g[0].numpy(), scene.gravity)))))
    assert err_deg < 0.3
    assert abs(float(torch.linalg.vector_norm(g[0])) - 1) < 1e-5


def test_ceiling_is_218():
    scene = ray_cast(camera_height_m=1.5, pitch_deg=-5.0, wall_z_m=4.0, ceiling_m=1.0,
                     roll_deg=3.0)
    out = _hha(scene)
    sel = _interior(scene.surface, hha.NORMAL_RADIUS) & (scene.surface == 3)
    assert sel.sum() > 50
    assert np.abs(out[..., 2][sel] - 218).max() <= 1


def test_low_camera_uses_130_cm_rule():
    # Camera 60 cm above the floor, looking level: nothing is 90 cm below it, so the floor is
    # assumed 130 cm below the camera and the real floor reads 130 - 60 = 70 cm.
    scene = ray_cast(camera_height_m=0.6, pitch_deg=8.0, wall_z_m=3.0)
    out = _hha(scene, gravity=scene.gravity)
    floor = scene.surface == 0
    assert floor.sum() > 100
    assert np.abs(out[..., 1][floor] - 70).max() <= 1
    wall = scene.surface == 1
    expected = np.rint(130 - 60 + scene.height_cm[wall])
    assert np.abs(out[..., 1][wall] - np.clip(expected, 0, 255)).max() <= 1
    # Estimated gravity gives the same within +-1.
    est = _hha(scene)
    assert np.abs(est[..., 1][floor] - 70).max() <= 1


def test_rule_boundary_at_90_cm():
    # 95 cm below the camera is "floor seen": heights measured from it (floor = 0).
    scene = ray_cast(camera_height_m=0.95, pitch_deg=20.0, wall_z_m=2.5)
    out = _hha(scene, gravity=scene.gravity)
    assert np.abs(out[..., 1][scene.surface == 0]).max() <= 1


def test_near_wall_clips_disparity():
    # A wall 0.8-1.6 m away, seen at an angle: 255 up to 1.216 m, then 31000 / z_cm.
    scene = ray_cast(camera_height_m=1.2, pitch_deg=10.0, wall_z_m=1.0, roll_deg=0.0)
    depth = scene.depth_m.copy()
    depth *= np.linspace(0.8, 1.6, depth.shape[1], dtype=np.float32)[None, :]  # tilt in x
    out = hha.compute_hha(depth, scene.cam)[0].permute(1, 2, 0).numpy()
    near = depth <= 1.2
    assert near.any() and (out[..., 0][near] == 255).all()
    far = depth >= 1.25
    assert far.any()
    np.testing.assert_array_equal(out[..., 0][far], np.rint(31000 / (100 * depth[far])))


def test_batch_equals_single_images():
    scenes = [ray_cast(**ROOM), ray_cast(camera_height_m=0.6, pitch_deg=8.0, wall_z_m=3.0)]
    depth = torch.from_numpy(np.stack([s.depth_m for s in scenes]))
    mask = depth > 0
    mask[1, 80:120, 100:180] = False
    assert bool(mask[0].all()) and not bool(mask[1].all())  # a dense and a holed image
    batch = hha.compute_hha(depth[:, None], [s.cam for s in scenes], mask[:, None])
    for i, s in enumerate(scenes):
        single = hha.compute_hha(depth[i], s.cam, mask[i])
        np.testing.assert_array_equal(batch[i:i + 1].numpy(), single.numpy())
    # A [B, 3, 3] K tensor gives the same as CameraIntrinsics.
    K = torch.from_numpy(np.stack([s.cam.K for s in scenes]))  # noqa: N806
    np.testing.assert_array_equal(hha.compute_hha(depth, K, mask).numpy(), batch.numpy())
    # Image 0 has every pixel, image 1 a hole: with a known gravity too, each image of the
    # mixed batch equals the image alone.
    gravity = torch.from_numpy(np.stack([s.gravity for s in scenes]))
    batch_g = hha.compute_hha(depth, K, mask, gravity=gravity)
    for i in range(2):
        single = hha.compute_hha(depth[i], K[i], mask[i], gravity=gravity[i])
        np.testing.assert_array_equal(batch_g[i:i + 1].numpy(), single.numpy())


def test_torch_and_opencv_box_filters_agree_with_brute_force():
    rng = np.random.default_rng(3)
    mask = torch.from_numpy((rng.random((2, 23, 31)) > 0.3).astype(np.float32))
    vals = torch.from_numpy(rng.random((2, 23, 31)).astype(np.float32)) * mask
    radius = 4
    scratch = hha_geometry.Scratch(torch.device('cpu'))
    ours_cv = hha_geometry._box_sums_opencv(mask, vals, radius, scratch, True).clone()
    ours_t = hha_geometry._box_sums_torch(mask, vals, radius, scratch, True)
    for box in (hha_geometry._box_sums_opencv, hha_geometry._box_sums_torch):  # T sums only
        np.testing.assert_allclose(box(mask, vals, radius, scratch, False).numpy(),
                                   ours_t[:, 6:].numpy(), rtol=1e-6, atol=1e-5)
    k = 2 * radius + 1
    off = np.arange(-radius, radius + 1)
    du, dv = off[None, :], off[:, None]
    for b in range(2):
        wm = sliding_window_view(np.pad(mask[b].numpy().astype(np.float64), radius), (k, k))
        wb = sliding_window_view(np.pad(vals[b].numpy().astype(np.float64), radius), (k, k))
        # order: S00, S01, S02, S10, S11, S20, T00, T01, T10 (i: column offset, j: row offset)
        expected = [wm.sum((2, 3)), (wm * dv).sum((2, 3)), (wm * dv * dv).sum((2, 3)),
                    (wm * du).sum((2, 3)), (wm * du * dv).sum((2, 3)),
                    (wm * du * du).sum((2, 3)), wb.sum((2, 3)), (wb * dv).sum((2, 3)),
                    (wb * du).sum((2, 3))]
        for j, exp in enumerate(expected):
            for ours in (ours_cv, ours_t):
                got = ours[b, j].numpy().astype(np.float64)
                if j < 6:  # mask moments are exact integers
                    np.testing.assert_array_equal(got, exp)
                else:
                    np.testing.assert_allclose(got, exp, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize('shape', [(240, 320), (1, 40), (40, 1), (3, 3)])
def test_dense_shortcut_equals_general_fit(shape):
    """All-valid depth uses separable mask moments; the result equals the general fit."""
    scene = ray_cast(**ROOM)
    depth = torch.from_numpy(scene.depth_m[:shape[0], :shape[1]].copy())[None]
    cam = scene.cam.cropped(0, 0, shape[1], shape[0])
    params = hha._intrinsics_params(cam, 1, *shape, depth.device)
    scratch = hha_geometry.Scratch(depth.device)
    fit = hha_geometry.fit_inputs(depth, hha._fit_mask(None, depth), scratch)
    for radius in (hha.NORMAL_RADIUS, hha.GRAVITY_NORMAL_RADIUS):
        for orient in (True, False):
            got = [hha_geometry.plane_normals(fit, params, radius, 'opencv', scratch,
                                torch.empty(1, 3, *shape), orient, dense).numpy()
                   for dense in (True, False)]
            np.testing.assert_array_equal(np.isnan(got[0]), np.isnan(got[1]))
            # float32 rounding differs at truncated windows: <= 1e-4 (0.006 degree)
            np.testing.assert_allclose(got[0], got[1], atol=1e-4, equal_nan=True)
    if 1 in shape:
        assert np.isnan(got[0]).all()  # a single row or column has no plane


def test_surface_normals_of_a_plane():
    scene = ray_cast(camera_height_m=1.3, pitch_deg=30.0, roll_deg=10.0)
    n = hha.surface_normals(scene.depth_m, scene.cam, radius=3)
    assert n.shape == (1, 3, 240, 320)
    floor = scene.surface[None] == 0
    dots = (n[0].permute(1, 2, 0).numpy() @ scene.gravity)[floor[0]]
    assert np.abs(dots - 1).max() < 1e-4  # every floor normal = gravity (down, away)


def test_valid_mask_only_affects_normals():
    scene = ray_cast(**ROOM)
    mask = np.ones_like(scene.depth_m, dtype=bool)
    mask[60:100, 120:200] = False
    full = _hha(scene)
    masked = hha.compute_hha(scene.depth_m, scene.cam, mask)[0].permute(1, 2, 0).numpy()
    np.testing.assert_array_equal(masked[..., 0], full[..., 0])
    assert np.abs(masked[..., 1] - full[..., 1]).max() <= 1
    hole = np.zeros_like(mask)
    hole[63:97, 123:197] = True  # 7x7 windows entirely inside the masked area: no normal
    assert (masked[..., 2][hole] == 218).all()


@pytest.mark.cuda
def test_cuda_matches_cpu(nyu):
    if not torch.cuda.is_available():
        pytest.skip('no CUDA device')
    cam = CameraIntrinsics.from_matrix(nyu['K'], 640, 480).cropped(1, 1, 640, 480)
    depth = torch.from_numpy(np.stack([nyu['depth'], nyu['raw']]).astype(np.float32))
    valid = torch.from_numpy(np.stack([nyu['raw'] > 0, nyu['raw'] > 0]))
    cpu = hha.compute_hha(depth, cam, valid)
    prev = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    # TF32 must not matter: no convolution or matrix product here may use it.
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    try:
        gpu = hha.compute_hha(depth.cuda(), cam, valid.cuda())
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = prev
    assert gpu.device.type == 'cuda' and gpu.dtype == torch.float32
    diff = (gpu.cpu() - cpu).abs()
    assert diff.max() <= 1 and (diff == 0).float().mean() >= 0.999
    ref = _read_ref(nyu['root'] / 'hha_complete.png')
    single = hha.compute_hha(depth[:1].cuda(), cam)[0].permute(1, 2, 0).cpu().numpy()
    _assert_issue_tolerance(single, ref)


# --------------------------------------------------------------------------- defined outputs


def test_all_invalid_depth_gives_documented_constant():
    cam = CameraIntrinsics(50.0, 50.0, 15.5, 11.5, 32, 24)
    for fill in (0.0, np.nan, np.inf, -1.0):
        out = hha.compute_hha(np.full((24, 32), fill, np.float32), cam)
        for c, value in enumerate((255, 130, 218)):
            assert (out[0, c] == value).all(), (fill, c)
    assert hha.estimate_gravity(np.zeros((24, 32), np.float32), cam)[0].tolist() == [0, 1, 0]


def test_nan_inf_negative_are_missing():
    scene = ray_cast(**ROOM)
    bad = scene.depth_m.copy()
    bad[40:60, 80:100], bad[40:60, 100:110], bad[40:60, 110:116], bad[40:60, 116:120] = (
        np.nan, np.inf, -np.inf, -2.0)
    zero = scene.depth_m.copy()
    zero[40:60, 80:120] = 0.0
    np.testing.assert_array_equal(hha.compute_hha(bad, scene.cam).numpy(),
                                  hha.compute_hha(zero, scene.cam).numpy())


def test_float64_and_tensor_inputs():
    scene = ray_cast(**ROOM)
    a = hha.compute_hha(scene.depth_m, scene.cam)
    b = hha.compute_hha(torch.from_numpy(scene.depth_m.astype(np.float64)), scene.cam)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    k_one_based = scene.cam.K + np.array([[0, 0, 1.0], [0, 0, 1.0], [0, 0, 0]])
    img = hha.hha_image(scene.depth_m, k_one_based)
    np.testing.assert_array_equal(img, a[0].permute(1, 2, 0).numpy().astype(np.uint8))


# --------------------------------------------------------------------------- bad input


def _cam(width=32, height=24):
    return CameraIntrinsics(50.0, 50.0, 15.5, 11.5, width, height)


@pytest.mark.parametrize(
    ('depth', 'match'),
    [
        (np.ones((24, 32), np.uint16), 'floating-point metres'),
        (torch.ones(24, 32, dtype=torch.int32), 'floating-point metres'),
        (np.ones(32, np.float32), r'\[H, W\]'),
        (np.ones((1, 2, 24, 32), np.float32), r'\[B, 1, H, W\]'),
        (np.ones((0, 24, 32), np.float32), 'empty'),
        ([[1.0, 2.0]], 'torch.Tensor or numpy'),
    ],
)
def test_bad_depth_rejected(depth, match):
    with pytest.raises(ValueError, match=match):
        hha.compute_hha(depth, _cam())


def test_bad_intrinsics_rejected():
    depth = np.ones((24, 32), np.float32)
    with pytest.raises(ValueError, match='32x24'):
        hha.compute_hha(depth, _cam(64, 48))
    K = torch.tensor(_cam().K)  # noqa: N806
    for bad, match in (
        (K * torch.tensor([[0.0, 1, 1], [1, 1, 1], [1, 1, 1]]), 'focal lengths must be positive'),
        (K * torch.tensor([[1.0, 1, 1], [1, -1, 1], [1, 1, 1]]), 'focal lengths must be positive'),
        (K[:2], r'\[3, 3\] or \[B, 3, 3\]'),
        (K.expand(3, 3, 3), r'B = 1'),
        (K * float('nan'), 'NaN or Inf'),
    ):
        with pytest.raises(ValueError, match=match):
            hha.compute_hha(depth, bad)
    with pytest.raises(ValueError, match='2 intrinsics for a batch of 3'):
        hha.compute_hha(np.ones((3, 24, 32), np.float32), [_cam(), _cam()])
    with pytest.raises(ValueError, match='CameraIntrinsics'):
        hha.compute_hha(depth, 'K')
    with pytest.raises(ValueError, match='positive'):
        CameraIntrinsics(-5.0, 50.0, 1.0, 1.0, 32, 24)
    with pytest.raises(ValueError, match='skew'):
        hha.hha_image(depth, np.array([[50.0, 1.0, 16.0], [0, 50.0, 12.0], [0, 0, 1]]))


def test_bad_mask_gravity_and_options_rejected():
    depth = np.ones((24, 32), np.float32)
    with pytest.raises(ValueError, match='dtype bool'):
        hha.compute_hha(depth, _cam(), np.ones((24, 32), np.uint8))
    with pytest.raises(ValueError, match='does not match'):
        hha.compute_hha(depth, _cam(), np.ones((24, 31), bool))
    with pytest.raises(ValueError, match='finite and non-zero'):
        hha.compute_hha(depth, _cam(), gravity=[0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match=r'\[3\] or \[B, 3\]'):
        hha.compute_hha(depth, _cam(), gravity=[0.0, 1.0])
    with pytest.raises(ValueError, match='box_filter'):
        hha.compute_hha(depth, _cam(), box_filter='fft')
    with pytest.raises(ValueError, match='radius'):
        hha.surface_normals(depth, _cam(), radius=0)
    with pytest.raises(ValueError, match=r'\[H, W\]'):
        hha.hha_image(np.ones((1, 24, 32)), _cam().K)
    with pytest.raises(ValueError, match='does not match'):
        hha.hha_image(depth, _cam().K, valid_mask=np.ones((2, 2), bool))


def test_tiny_images_are_defined():
    for shape in ((1, 1), (1, 6), (6, 1), (2, 5)):
        cam = CameraIntrinsics(10.0, 10.0, 0.0, 0.0, shape[1], shape[0])
        out = hha.compute_hha(np.full(shape, 2.0, np.float32), cam)
        assert out.shape == (1, 3, *shape) and torch.isfinite(out).all()
        if 1 in shape:  # a single row or column: collinear points, no normal
            assert (out[0, 2] == 218).all()


# --------------------------------------------------------------------------- tools


def _write_depth_folder(folder: Path, scenes: list[Scene]) -> list[np.ndarray]:
    folder.mkdir()
    depths = []
    for i, scene in enumerate(scenes):
        mm = np.rint(scene.depth_m * 1000).astype(np.uint16)
        mm[10:20, 30:60] = 0  # a hole
        assert cv2.imwrite(str(folder / f'frame_{i}.png'), mm)
        depths.append(mm.astype(np.float32) * np.float32(1e-3))  # grey level x depth scale
    return depths


def test_prepare_hha_round_trip(tmp_path):
    from training.prepare_hha import main, prepare_hha

    scenes = [ray_cast(**ROOM), ray_cast(camera_height_m=0.6, pitch_deg=8.0, wall_z_m=3.0)]
    depths = _write_depth_folder(tmp_path / 'depth', scenes)
    k_file = tmp_path / 'K.txt'
    k_one_based = scenes[0].cam.K + np.array([[0, 0, 1.0], [0, 0, 1.0], [0, 0, 0]])
    np.savetxt(k_file, k_one_based)
    out = tmp_path / 'hha'
    assert main(['--depth-dir', str(tmp_path / 'depth'), '--intrinsics', str(k_file),
                 '--out', str(out), '--one-based', '--device', 'cpu']) == 0
    for i, depth in enumerate(depths):
        got = _read_ref(out / f'frame_{i}.png')  # PNG planes R, G, B like the reference
        np.testing.assert_array_equal(got, hha.hha_image(depth, k_one_based))
    # Outputs newer than their inputs are skipped; a newer input is recomputed.
    assert prepare_hha(tmp_path / 'depth', k_file, out, one_based=True, progress=False) == (0, 2)
    src = tmp_path / 'depth' / 'frame_1.png'
    later = (out / 'frame_1.png').stat().st_mtime + 10
    os.utime(src, (later, later))
    assert prepare_hha(tmp_path / 'depth', k_file, out, one_based=True, progress=False) == (1, 1)
    # Without --one-based the same file is read as 0-based: a different (shifted) result.
    out0 = tmp_path / 'hha0'
    prepare_hha(tmp_path / 'depth', k_file, out0, progress=False)
    assert not np.array_equal(_read_ref(out0 / 'frame_0.png'), _read_ref(out / 'frame_0.png'))


def test_prepare_hha_rejects_bad_input(tmp_path):
    from training.prepare_hha import prepare_hha

    depth_dir = tmp_path / 'depth'
    depth_dir.mkdir()
    k_file = tmp_path / 'K.txt'
    np.savetxt(k_file, _cam().K)
    with pytest.raises(ValueError, match='no .png'):
        prepare_hha(depth_dir, k_file, tmp_path / 'o', progress=False)
    cv2.imwrite(str(depth_dir / 'a.png'), np.zeros((24, 32), np.uint8))
    with pytest.raises(ValueError, match='16-bit'):
        prepare_hha(depth_dir, k_file, tmp_path / 'o', progress=False)
    (depth_dir / 'a.png').unlink()
    cv2.imwrite(str(depth_dir / 'a.png'), np.full((24, 32), 1500, np.uint16))
    cv2.imwrite(str(depth_dir / 'b.png'), np.full((48, 64), 1500, np.uint16))
    with pytest.raises(ValueError, match='64x48 but earlier images are 32x24'):
        prepare_hha(depth_dir, k_file, tmp_path / 'o', progress=False)
    bad_k = tmp_path / 'bad.txt'
    bad_k.write_text('1 2 3\n')
    with pytest.raises(ValueError, match='3x3'):
        prepare_hha(depth_dir, bad_k, tmp_path / 'o', progress=False)
    with pytest.raises(ValueError, match='depth-scale'):
        prepare_hha(depth_dir, k_file, tmp_path / 'o', depth_scale=0.0, progress=False)
    with pytest.raises(ValueError, match='must differ'):
        prepare_hha(depth_dir, k_file, depth_dir, progress=False)


def test_demo_writes_figure(tmp_path, capsys):
    from tools.hha_demo import main

    out = tmp_path / 'demo.png'
    assert main(['--out', str(out), '--repeats', '1']) == 0
    fig = cv2.imread(str(out))
    assert fig is not None and fig.shape[0] > 480 and fig.shape[1] >= 4 * 640
    text = capsys.readouterr().out
    assert 'time per frame' in text and '100.00 % identical' in text


def test_gpu_code_paths_agree_on_cpu():
    """The elementwise and torch.linalg branches used on GPUs equal the CPU (BLAS, numpy) ones."""
    rng = np.random.default_rng(5)
    n = torch.nn.functional.normalize(torch.from_numpy(rng.normal(size=(2, 3, 500))), dim=1)
    n = n.float()
    v = torch.from_numpy(rng.normal(size=(2, 3)).astype(np.float32))
    w = torch.from_numpy(rng.normal(size=(2, 500)).astype(np.float32))
    for blas in (True, False):
        out = torch.empty(2, 500)
        np.testing.assert_allclose(hha_geometry.dot3(n, v, out, blas=blas).numpy(),
                                   torch.einsum('bkp,bk->bp', n, v).numpy(), atol=1e-5)
        red = torch.empty(2, 3)
        np.testing.assert_allclose(hha_geometry._reduce(n, w, red, blas=blas).numpy(),
                                   torch.einsum('bkp,bp->bk', n, w).numpy(), atol=1e-3)
    a6 = torch.tensor([[2.0, 0.1, 0.0, -1.0, 0.2, 0.5], [0, 0, 0, 0, 0, 0]])
    y = torch.tensor([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]], dtype=torch.float64)
    steps = [hha_geometry._eigen_step(a6, y, use_numpy=u) for u in (True, False)]
    np.testing.assert_allclose(steps[0].numpy(), steps[1].numpy(), atol=1e-12)
    e = a6[0].double().numpy()  # smallest eigenvalue's vector, agreeing with y
    a = np.array([[e[0], e[1], e[2]], [e[1], e[3], e[4]], [e[2], e[4], e[5]]])
    _, vecs = np.linalg.eigh(a)
    expected = vecs[:, 0] * np.sign(vecs[1, 0])
    np.testing.assert_allclose(steps[0][0].numpy(), expected, atol=1e-12)
    assert steps[0][1].tolist() == [0.0, 1.0, 0.0]  # A = 0: y kept


def test_threads_do_not_share_buffers():
    from concurrent.futures import ThreadPoolExecutor

    scenes = [ray_cast(**ROOM, width=160, height=120, focal=130.0),
              ray_cast(camera_height_m=0.6, pitch_deg=8.0, wall_z_m=3.0, width=160,
                       height=120, focal=130.0)]
    expected = [_hha(s) for s in scenes]
    with ThreadPoolExecutor(2) as pool:
        for _ in range(3):
            got = list(pool.map(_hha, scenes * 2))
            for i, out in enumerate(got):
                np.testing.assert_array_equal(out, expected[i % 2])


def test_inference_mode_and_autograd_inputs():
    scene = ray_cast(**ROOM, width=160, height=120, focal=130.0)
    plain = _hha(scene)
    with torch.inference_mode():
        inside = _hha(scene)
    depth = torch.from_numpy(scene.depth_m).requires_grad_(True)
    after = hha.compute_hha(depth, scene.cam)  # buffers made in inference mode are not reused
    assert not after.requires_grad
    np.testing.assert_array_equal(inside, plain)
    np.testing.assert_array_equal(after[0].permute(1, 2, 0).numpy(), plain)
