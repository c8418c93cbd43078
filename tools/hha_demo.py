# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
HHA demo: one depth frame, its colour-mapped depth and its three HHA channels side by side.

    python -m tools.hha_demo [--out out/hha_demo.png] [--depth PNG --intrinsics K.txt
        --depth-scale S]

Default input: the NYU demo frame of the HHA fixtures (``test/fixtures/hha/0.png``, 16-bit,
0.1 mm per grey level, and ``K_nyu_color.txt``, a 1-based MATLAB camera matrix). Prints the
estimated gravity, the time per frame and, for the default frame, the difference from the
reference output ``hha_complete.png``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
import statistics
import sys
import time

import cv2
import numpy as np

FIXTURES = Path(__file__).resolve().parents[1] / 'test' / 'fixtures' / 'hha'
PANEL_TITLE_PX = 34


def _panel(img_bgr: np.ndarray, title: str) -> np.ndarray:
    """A panel with a title bar above the image."""
    bar = np.full((PANEL_TITLE_PX, img_bgr.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, title, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([bar, img_bgr])


def render_figure(depth_m: np.ndarray, hha: np.ndarray) -> np.ndarray:
    """BGR figure: depth (turbo colour map, missing black), disparity, height, angle."""
    valid = depth_m > 0
    lo, hi = (float(depth_m[valid].min()), float(depth_m[valid].max())) if valid.any() else (0, 1)
    scaled = np.clip((depth_m - lo) / max(hi - lo, 1e-6) * 255, 0, 255).astype(np.uint8)
    depth_vis = cv2.applyColorMap(scaled, cv2.COLORMAP_TURBO)
    depth_vis[~valid] = 0
    grey = [cv2.cvtColor(np.ascontiguousarray(hha[..., c]), cv2.COLOR_GRAY2BGR) for c in range(3)]
    panels = [
        _panel(depth_vis, f'depth {lo:.2f}-{hi:.2f} m'),
        _panel(grey[0], 'disparity 31000/max(z_cm,100)'),
        _panel(grey[1], 'height above floor (cm)'),
        _panel(grey[2], 'angle to gravity + 38 (deg)'),
    ]
    gap = np.full((panels[0].shape[0], 6, 3), 255, np.uint8)
    row = [panels[0]]
    for p in panels[1:]:
        row += [gap, p]
    return np.hstack(row)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog='python -m tools.hha_demo',
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', type=Path, default=Path('out/hha_demo.png'),
                        help='figure to write (PNG)')
    parser.add_argument('--depth', type=Path, default=FIXTURES / '0.png',
                        help='16-bit depth PNG (default: the NYU demo frame)')
    parser.add_argument('--intrinsics', type=Path, default=FIXTURES / 'K_nyu_color.txt',
                        help='3x3 camera matrix, 1-based pixel coordinates (MATLAB convention)')
    parser.add_argument('--depth-scale', type=float, default=1e-4,
                        help='metres per depth grey level (default 0.0001, the demo frame)')
    parser.add_argument('--repeats', type=int, default=5, help='timed runs after a warm-up')
    args = parser.parse_args(argv)

    import torch

    from rgbd_seg_ros.core.camera import CameraIntrinsics
    from rgbd_seg_ros.core.hha import compute_hha, estimate_gravity

    raw = cv2.imread(str(args.depth), cv2.IMREAD_UNCHANGED)
    if raw is None or raw.dtype != np.uint16 or raw.ndim != 2:
        parser.error(f'{args.depth}: expected a 16-bit single-channel depth PNG '
                     '(pass --depth and --intrinsics when the test fixtures are not installed)')
    try:
        K = np.loadtxt(args.intrinsics)  # noqa: N806
        cam = CameraIntrinsics.from_matrix(K, raw.shape[1], raw.shape[0]).cropped(
            1, 1, raw.shape[1], raw.shape[0])  # 1-based -> 0-based
    except (OSError, ValueError) as exc:
        parser.error(f'{args.intrinsics}: {exc}')
    depth_m = raw.astype(np.float32) * np.float32(args.depth_scale)

    depth_t = torch.from_numpy(depth_m)
    with torch.inference_mode():
        hha_t = compute_hha(depth_t, cam)  # warm-up
        times = []
        for _ in range(max(1, args.repeats)):
            t0 = time.perf_counter()
            hha_t = compute_hha(depth_t, cam)
            times.append((time.perf_counter() - t0) * 1e3)
        gravity = estimate_gravity(depth_t, cam)[0].tolist()
    hha = hha_t[0].permute(1, 2, 0).numpy().astype(np.uint8)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(args.out), render_figure(depth_m, hha)):
        parser.error(f'could not write {args.out}')
    h, w = depth_m.shape
    print(f'HHA of {args.depth} ({w}x{h}, depth {depth_m[depth_m > 0].min():.3f}-'
          f'{depth_m.max():.3f} m) on the CPU, torch threads: {torch.get_num_threads()}')
    print(f'time per frame: median {statistics.median(times):.1f} ms, min {min(times):.1f} ms '
          f'over {len(times)} runs (reference implementation: ~2640 ms)')
    print('gravity (camera frame, down): ' + ', '.join(f'{v:+.4f}' for v in gravity))
    ref_path = args.depth.parent / 'hha_complete.png'
    if args.depth.resolve() == (FIXTURES / '0.png').resolve() and ref_path.is_file():
        ref = cv2.imread(str(ref_path), cv2.IMREAD_UNCHANGED)[..., ::-1]  # planes R, G, B
        diff = np.abs(hha.astype(int) - ref.astype(int))
        for c, name in enumerate(('disparity', 'height', 'angle')):
            print(f'vs reference {name:9}: mean abs diff {diff[..., c].mean():.4f}, '
                  f'{(diff[..., c] == 0).mean() * 100:.2f} % identical')
    print(f'wrote {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
