# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
HHA for a whole folder of 16-bit depth PNGs, written as lossless PNGs.

    python -m training.prepare_hha --depth-dir D --intrinsics K --out O
        [--depth-scale S] [--one-based] [--device auto|cpu|cuda] [--overwrite]

- Depth: single-channel 16-bit PNGs, ``--depth-scale`` metres per grey level (default 0.001,
  i.e. millimetres; the Depth2HHA demo PNGs need 0.0001); 0 = missing.
- ``--intrinsics``: a text file with the 3x3 camera matrix (whitespace separated) of the depth
  images. Pixel convention: **0-based** pixel centres by default (OpenCV, ROS CameraInfo, this
  project); pass ``--one-based`` for MATLAB-derived matrices such as the NYU toolbox
  calibration (the HHA reference's ``K_nyu_color.txt``), whose principal point is 1 larger.
  Every image in the folder must have the same size.
- Output: ``O/<name>.png`` per ``D/<name>.png``, planes R = disparity, G = height, B = angle
  (the reference's files; ``training.data.files.read_hha`` reads them back), computed by
  ``rgbd_seg_ros.core.hha.compute_hha`` exactly as training and the robot do. Outputs newer than
  their input are skipped unless ``--overwrite``; files are written atomically.
- Runs on the GPU when one is available (``--device auto``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import logging
import os
from pathlib import Path
import sys

import cv2
import numpy as np
import torch
from tqdm import tqdm

from rgbd_seg_ros.core.camera import CameraIntrinsics
from rgbd_seg_ros.core.device import resolve_device
from rgbd_seg_ros.core.hha import compute_hha

logger = logging.getLogger(__name__)

KNOWN_DEVICES = ('auto', 'cpu', 'cuda')


def read_depth_png(path: Path, depth_scale: float) -> np.ndarray:
    """16-bit single-channel PNG -> float32 metres ``[H, W]`` (0 = missing)."""
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError(f'unreadable image: {path}')
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.dtype != np.uint16 or img.ndim != 2:
        raise ValueError(
            f'{path}: depth must be a single-channel 16-bit PNG, got {img.dtype} {img.shape}'
        )
    return img.astype(np.float32) * np.float32(depth_scale)


def read_camera_matrix(path: Path, one_based: bool) -> np.ndarray:
    """3x3 camera matrix from a text file, converted to 0-based pixel centres."""
    try:
        K = np.loadtxt(path, dtype=np.float64)  # noqa: N806
    except (OSError, ValueError) as exc:
        raise ValueError(f'cannot read camera matrix from {path}: {exc}') from exc
    if K.size != 9:
        raise ValueError(f'{path}: expected a 3x3 camera matrix, got {K.size} numbers')
    K = K.reshape(3, 3).copy()  # noqa: N806
    if one_based:
        K[0, 2] -= 1.0
        K[1, 2] -= 1.0
    CameraIntrinsics.from_matrix(K, 1, 1)  # validates (finite, no skew, positive focal)
    return K


def _is_up_to_date(out: Path, src: Path) -> bool:
    return out.is_file() and out.stat().st_mtime >= src.stat().st_mtime


def _write_png_atomic(path: Path, hha: np.ndarray) -> None:
    tmp = path.with_name(f'.{path.stem}.tmp.png')
    if not cv2.imwrite(str(tmp), np.ascontiguousarray(hha[..., ::-1])):  # RGB planes
        raise ValueError(f'could not write {tmp}')
    os.replace(tmp, path)


def prepare_hha(
    depth_dir: str | Path,
    intrinsics: str | Path,
    out: str | Path,
    depth_scale: float = 1e-3,
    one_based: bool = False,
    device: str = 'auto',
    overwrite: bool = False,
    progress: bool = True,
) -> tuple[int, int]:
    """
    HHA PNGs for every ``*.png`` in ``depth_dir`` (see the module docstring).

    :returns: (written, skipped as up to date).
    """
    depth_dir, out = Path(depth_dir), Path(out)
    if not depth_dir.is_dir():
        raise ValueError(f'--depth-dir {depth_dir} is not a folder')
    if not (np.isfinite(depth_scale) and depth_scale > 0):
        raise ValueError(f'--depth-scale must be a positive number of metres, got {depth_scale}')
    K = read_camera_matrix(Path(intrinsics), one_based)  # noqa: N806
    if device not in KNOWN_DEVICES:
        raise ValueError(f'unknown device {device!r}; expected one of {KNOWN_DEVICES}')
    dev = resolve_device(device)
    files = sorted(p for p in depth_dir.iterdir() if p.suffix.lower() == '.png' and p.is_file())
    if not files:
        raise ValueError(f'no .png depth images in {depth_dir}')
    if out.resolve() == depth_dir.resolve():
        raise ValueError('--out must differ from --depth-dir (outputs would replace inputs)')
    out.mkdir(parents=True, exist_ok=True)
    cam = None
    written = skipped = 0
    for src in tqdm(files, desc='HHA', unit='img', disable=not progress):
        dst = out / f'{src.stem}.png'
        if not overwrite and _is_up_to_date(dst, src):
            skipped += 1
            continue
        depth = read_depth_png(src, depth_scale)
        height, width = depth.shape
        if cam is None:
            cam = CameraIntrinsics.from_matrix(K, width, height)
        elif (cam.width, cam.height) != (width, height):
            raise ValueError(
                f'{src} is {width}x{height} but earlier images are {cam.width}x{cam.height}; '
                'one intrinsics file serves one image size'
            )
        with torch.inference_mode():
            hha = compute_hha(torch.from_numpy(depth).to(dev), cam)
        _write_png_atomic(dst, hha[0].permute(1, 2, 0).to('cpu', torch.uint8).numpy())
        written += 1
    return written, skipped


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog='python -m training.prepare_hha',
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('--depth-dir', required=True, help='folder of 16-bit depth PNGs')
    parser.add_argument('--intrinsics', required=True,
                        help='text file with the 3x3 camera matrix of the depth images')
    parser.add_argument('--out', required=True, help='output folder for the HHA PNGs')
    parser.add_argument('--depth-scale', type=float, default=1e-3,
                        help='metres per depth grey level (default 0.001 = millimetres)')
    parser.add_argument('--one-based', action='store_true',
                        help='the matrix uses 1-based pixel coordinates (MATLAB, NYU toolbox)')
    parser.add_argument('--device', default='auto', choices=KNOWN_DEVICES,
                        help='where to compute (auto: CUDA when available)')
    parser.add_argument('--overwrite', action='store_true',
                        help='recompute outputs even when newer than their input')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    try:
        written, skipped = prepare_hha(args.depth_dir, args.intrinsics, args.out,
                                       args.depth_scale, args.one_based, args.device,
                                       args.overwrite)
    except ValueError as exc:
        parser.error(str(exc))
    logger.info('wrote %d HHA images to %s (%d up to date)', written, args.out, skipped)
    return 0


if __name__ == '__main__':
    sys.exit(main())
