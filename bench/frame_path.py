# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Per-frame cost of ``Segmenter.predict`` at the camera's resolution against the bare network at
its input size, side by side in one run, for each model and backend.

Columns (ms per frame, mean over the frames and repeats, one process, ``--threads`` threads):

- ``network``: ``Segmenter.network_logits`` on inputs already at the network size (encoding,
  HHA, the forward pass): the cost no frame path can avoid.
- ``at net size``: ``predict`` on a frame already at the network size.
- ``camera``: ``predict`` on the camera frame (``--width`` x ``--height``): resize, network,
  full-resolution labels (``core.upsample``).
- ``camera, old``: the path before ``core.upsample`` on the same frames: logits upsampled to
  the camera size, channels-first argmax (``predict_logits(...).argmax(1)``), to numpy.

It also checks the labels: the share of pixels where ``predict`` equals the old path, and the
mIoU of both against the frames' ground truth. Prints a table and writes JSON.

    .venv/bin/python bench/frame_path.py --json bench/results/frame_path.json
"""

from __future__ import annotations

import argparse
from pathlib import Path
import shutil
import sys
import tempfile
import time

from common import REPO, set_env, write_json  # noqa: E402 - bench/common.py

DEMO = REPO / 'models' / 'demo'


def _mean_ms(fn, items, repeats: int) -> float:
    fn(items[0])
    t0 = time.perf_counter()
    for _ in range(repeats):
        for item in items:
            fn(item)
    return (time.perf_counter() - t0) / (repeats * len(items)) * 1e3


def network_inputs(seg, frame):
    """(rgb, depth_m, K) tensors already resized to the network size (not timed)."""
    import numpy as np
    import torch

    from rgbd_seg_ros.core.preprocess import resize_inputs

    h, w = frame.rgb.shape[:2]
    rgb = torch.from_numpy(np.ascontiguousarray(frame.rgb)).permute(2, 0, 1)[None]
    depth = torch.from_numpy(frame.depth_m)[None, None] if seg.needs_depth else None
    k = (torch.from_numpy(frame.intrinsics.K.astype(np.float32))[None]
         if seg.needs_intrinsics else None)
    return resize_inputs(rgb, depth, k, None, seg.network_size(h, w))[:3]


def _measure(seg, frames, small, labels_gt, repeats: int) -> dict:
    import numpy as np

    from rgbd_seg_ros.core.metrics import confusion_matrix, scores_from_confusion

    def predict(f):
        return seg.predict(f.rgb, f.depth_m, f.intrinsics)

    def old(f):
        import torch

        rgb = torch.from_numpy(np.ascontiguousarray(f.rgb)).permute(2, 0, 1)[None]
        depth = torch.from_numpy(f.depth_m)[None, None] if seg.needs_depth else None
        k = torch.from_numpy(f.intrinsics.K.astype(np.float32))[None]
        logits = seg.predict_logits(rgb, depth, k if seg.needs_intrinsics else None)
        return logits.argmax(dim=1).to(torch.int32).cpu().numpy().astype(np.uint8)[0]

    inputs = [network_inputs(seg, f) for f in frames]
    row = {
        'network_ms': _mean_ms(lambda x: seg.network_logits(*x), inputs, repeats),
        'at_net_size_ms': _mean_ms(predict, small, repeats),
        'camera_ms': _mean_ms(predict, frames, repeats),
        'camera_old_ms': _mean_ms(old, frames, repeats),
    }
    k = seg.labels.num_classes
    same = total = 0
    conf = {'new': np.zeros((k, k), np.int64), 'old': np.zeros((k, k), np.int64)}
    for f, gt in zip(frames, labels_gt):
        new_l, old_l = predict(f), old(f)
        same += int(np.count_nonzero(new_l == old_l))
        total += new_l.size
        conf['new'] += confusion_matrix(new_l, gt, k)
        conf['old'] += confusion_matrix(old_l, gt, k)
    row['labels_identical'] = same / total
    row['miou'] = {n: float(scores_from_confusion(c)['miou']) * 100 for n, c in conf.items()}
    row['camera_over_network'] = row['camera_ms'] / row['network_ms']
    row['camera_over_net_size'] = row['camera_ms'] / row['at_net_size_ms']
    row['old_camera_over_network'] = row['camera_old_ms'] / row['network_ms']
    return row


def run(args: argparse.Namespace) -> dict:
    """Measure every model x backend; returns the result dict."""
    set_env(args.threads)
    import torch

    from rgbd_seg_ros.core.backends import apply_backend
    from rgbd_seg_ros.core.inference import Segmenter
    from tools.demo_scoring import fixed_test_frames

    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix='bench_frame_path_'))
    frames = fixed_test_frames(args.frames, (args.height, args.width))
    rows = {}
    for name in args.models.split(','):
        path = work / f'{name}.safetensors'  # a private copy: the ONNX cache goes next to it
        shutil.copy(Path(args.model_dir) / f'{name}.safetensors', path)
        for backend in args.backend.split(','):
            seg = Segmenter.from_checkpoint(path)
            if apply_backend(seg, backend, path) != backend:
                raise RuntimeError(f'backend {backend} is not available here')
            net_h, net_w = seg.meta.input_size
            small = fixed_test_frames(args.frames, (net_h, net_w))
            rows[f'{name}/{backend}'] = _measure(seg, frames, small, [f.label for f in frames],
                                                 args.repeats)
            print(f'{name}/{backend}: {rows[f"{name}/{backend}"]}', flush=True)
    shutil.rmtree(work, ignore_errors=True)
    return {'config': vars(args), 'rows': rows,
            'torch_threads': torch.get_num_threads(), 'torch_version': torch.__version__}


def print_table(result: dict) -> None:
    """The side-by-side table."""
    cfg = result['config']
    print(f"\nms per frame, camera {cfg['width']}x{cfg['height']}, {cfg['frames']} frames x "
          f"{cfg['repeats']}, {result['torch_threads']} thread(s)")
    print(f"{'model/backend':22} {'network':>8} {'net size':>9} {'camera':>8} {'ratio':>6} "
          f"{'old':>8} {'old ratio':>9} {'same %':>7} {'mIoU new/old':>13}")
    for name, r in result['rows'].items():
        print(f"{name:22} {r['network_ms']:8.1f} {r['at_net_size_ms']:9.1f} "
              f"{r['camera_ms']:8.1f} {r['camera_over_network']:6.2f} {r['camera_old_ms']:8.1f} "
              f"{r['old_camera_over_network']:9.2f} {100 * r['labels_identical']:7.3f} "
              f"{r['miou']['new']:6.1f}/{r['miou']['old']:.1f}")


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--width', type=int, default=640)
    parser.add_argument('--height', type=int, default=480)
    parser.add_argument('--frames', type=int, default=8, help='fixed test frames')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=1, help='torch threads')
    parser.add_argument('--model-dir', default=str(DEMO), help='bundle folder (%(default)s)')
    parser.add_argument('--models', default='rgbd,rgb', help='bundles in --model-dir')
    parser.add_argument('--backend', default='torch,onnxruntime')
    parser.add_argument('--json', default=str(REPO / 'bench' / 'results' / 'frame_path.json'))
    args = parser.parse_args(argv)
    result = run(args)
    print_table(result)
    write_json(result, args.json)
    return 0


if __name__ == '__main__':
    sys.exit(main())
