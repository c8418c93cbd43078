# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
r"""
From training runs' checkpoints to a robot-ready model folder, checked as the node loads it.

    python -m tools.deploy --fusion runs/rgbd/model.safetensors --rgb runs/rgb/model.safetensors \
        [--depth runs/depth/model.safetensors] --out deploy/my_robot [--onnx] [--fp32]

Writes ``OUT/{rgbd,rgb,depth}.safetensors``: float16 weights (as the shipped ``models/demo``;
``--fp32`` keeps float32), the checkpoint metadata with a ``deploy`` provenance entry (source
file and sha256), world-readable. The folder is then loaded through ``ModelSet`` (the node's
start-up path: class sets, modalities, input sizes) and each bundle's logits are compared with
its source checkpoint's on a seeded input. ``--onnx`` adds ``OUT/<name>.onnx`` per model and
``OUT/ONNX.md``, which documents the graph's inputs: the **normalised** network inputs (``rgb``
``[B, 3, H, W]``; ``hha`` ``[B, 3, H, W]`` computed outside the graph by
``rgbd_seg_ros.core.hha.compute_hha``; ``depth`` ``[B, 1, H, W]``) at the checkpoint's input
size, normalised with the mean/std recorded in its metadata; output ``logits`` ``[B, K, H, W]``.
The node itself needs no ONNX file (``backend: onnxruntime`` exports one at start-up).
Finally it prints the node command lines that use the folder. Exit status 0 done, 2 refused.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import replace
import hashlib
import json
import logging
import os
from pathlib import Path
import sys
from typing import Any

LOG = logging.getLogger('tools.deploy')
BUNDLES = {'rgbd': 'fusion_model', 'rgb': 'rgb_model', 'depth': 'depth_model'}
MAX_LOGIT_DIFF = {'fp16': 0.05, 'fp32': 1e-5}  # bundle vs source checkpoint, seeded input


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open('rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def write_bundle(source: Path, out: Path, fp16: bool = True) -> dict[str, Any]:
    """
    One checkpoint as a deployable bundle at ``out`` (mode 0644); returns its report row.

    :raises ValueError: the source is not a readable checkpoint (``load_checkpoint``'s reason).
    """
    import torch

    from rgbd_seg_ros.core.checkpoint import load_checkpoint, save_checkpoint

    model, meta = load_checkpoint(source)
    provenance = {**meta.provenance, 'deploy': {
        'source': str(source), 'source_sha256': _sha256(source),
        'dtype': 'float16' if fp16 else 'float32'}}
    save_checkpoint(out, model, replace(meta, model=model.cfg, provenance=provenance),
                    dtype=torch.float16 if fp16 else None)
    os.chmod(out, 0o644)
    return {'source': str(source), 'bytes': out.stat().st_size,
            'modalities': list(meta.modalities), 'input_size': list(meta.input_size or ()),
            'mean': list(meta.normalization.mean), 'std': list(meta.normalization.std)}


def logit_gap(source: Path, bundle: Path) -> float:
    """Largest |logit| difference of ``bundle`` and ``source`` on a seeded input (CPU, fp32)."""
    import torch

    from rgbd_seg_ros.core.checkpoint import load_checkpoint
    from rgbd_seg_ros.core.models import MODALITY_CHANNELS

    ref, meta = load_checkpoint(source)
    got, _ = load_checkpoint(bundle)
    h, w = meta.input_size or (64, 80)
    g = torch.Generator().manual_seed(0)
    inputs = {m: torch.randn(1, MODALITY_CHANNELS[m], h, w, generator=g)
              for m in meta.modalities}
    with torch.inference_mode():
        return float((ref(inputs) - got(inputs)).abs().max())


def export_onnx_files(out: Path, names: Sequence[str]) -> list[Path]:
    """``OUT/<name>.onnx`` for each bundle and ``OUT/ONNX.md`` describing their inputs."""
    from rgbd_seg_ros.core.export import export_onnx
    from rgbd_seg_ros.core.inference import Segmenter

    written, rows = [], []
    for name in names:
        segmenter = Segmenter.from_checkpoint(out / f'{name}.safetensors')
        path = export_onnx(segmenter, out / f'{name}.onnx')
        os.chmod(path, 0o644)
        written.append(path)
        meta = segmenter.meta
        h, w = meta.input_size
        inputs = ', '.join(f'`{m}` [B, {3 if m != "depth" else 1}, {h}, {w}]'
                           for m in meta.modalities)
        rows.append(f'| `{path.name}` | {inputs} | `logits` [B, {meta.labels.num_classes}, '
                    f'{h}, {w}] | {list(meta.normalization.mean)} / '
                    f'{list(meta.normalization.std)} |')
    doc = out / 'ONNX.md'
    doc.write_text(
        '# ONNX graphs of these models\n\n'
        'Each graph is the network only: its inputs are the normalised network inputs at a '
        'fixed size (dynamic batch), float32:\n\n'
        '- `rgb`: uint8 RGB resized to H x W (bilinear), `/ 255`, then `(x - mean) / std`;\n'
        '- `hha`: **computed outside the graph** from metric depth and the camera intrinsics '
        'scaled to H x W (`rgbd_seg_ros.core.hha.compute_hha`, depth resized nearest), '
        '`/ 255`, then the same mean/std as RGB;\n'
        '- `depth`: `(min(depth_m, depth_max_m) / depth_max_m - depth_mean) / depth_std`, '
        'invalid pixels 0 (values in the checkpoint metadata, `normalization`).\n\n'
        'The output `logits` are at the input size; the label is their argmax over classes. '
        'The checkpoint metadata is in the file\'s `metadata_props["rgbd_seg_ros"]`.\n\n'
        '| file | inputs | output | mean / std |\n|---|---|---|---|\n' + '\n'.join(rows) + '\n',
        encoding='utf-8')
    os.chmod(doc, 0o644)
    return written


def node_commands(out: Path, names: Sequence[str]) -> str:
    """The node command lines (ros2 launch and plain Python) that run the bundles of ``out``."""
    args = {BUNDLES[n]: str((out / f'{n}.safetensors').resolve()) for n in names}
    if 'rgb' not in names:  # one model: the fusion model is its own fallback
        args['rgb_fallback'] = 'fusion_model'
    launch = ' '.join(f'{k}:={v}' for k, v in args.items())
    plain = ' '.join(f'-p {k}:={v}' for k, v in args.items())
    return (f'  ros2 launch rgbd_seg_ros segment.launch.py camera:=realsense device:=cuda '
            f'{launch}\n'
            f'  python -m rgbd_seg_ros.nodes.segmentation_node --ros-args --params-file '
            f'config/segment.yaml {plain}')


def deploy(sources: dict[str, Path], out: Path, fp16: bool = True,
           onnx: bool = False) -> dict[str, Any]:
    """
    Write, check and (optionally) export the bundles of ``sources`` (``rgbd``/``rgb``/``depth``
    -> checkpoint) into ``out``; returns the report (also written as ``OUT/deploy.json``).

    :raises ValueError: no RGB model, a missing or broken checkpoint, models that the node
        would refuse together, or a bundle whose logits drift from its source.
    """
    from rgbd_seg_ros.core.checkpoint import load_meta
    from rgbd_seg_ros.core.model_set import ModelSet, trained_without_depth

    for name, path in sources.items():
        if not Path(path).is_file():
            raise ValueError(f'--{"fusion" if name == "rgbd" else name}: no such checkpoint '
                             f'{path}')
    one_model = 'rgb' not in sources
    if one_model and not ('rgbd' in sources
                          and trained_without_depth(load_meta(sources['rgbd'])) > 0):
        raise ValueError('--rgb is required: the node needs the RGB-only model as its fallback '
                         '(train it with training/configs/*_rgb.yaml), unless --fusion was '
                         'trained with depth dropout (data.depth_dropout_p > 0) and serves as '
                         'its own fallback')
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o755)
    names = [n for n in BUNDLES if n in sources]
    report: dict[str, Any] = {'models': {}}
    precision = 'fp16' if fp16 else 'fp32'
    for name in names:
        row = write_bundle(Path(sources[name]), out / f'{name}.safetensors', fp16)
        row['max_logit_diff'] = logit_gap(Path(sources[name]), out / f'{name}.safetensors')
        if row['max_logit_diff'] > MAX_LOGIT_DIFF[precision]:
            raise ValueError(f'{name}: the {precision} bundle drifts from its checkpoint by '
                             f'{row["max_logit_diff"]:.3g} in the logits; deploy with --fp32')
        report['models'][name] = row
    try:  # the node's start-up checks (classes, modalities, sizes) on the written folder
        paths = {BUNDLES[n]: str(out / f'{n}.safetensors') for n in BUNDLES if n in names}
        if one_model:
            paths.update(rgb_model='', rgb_fallback='fusion_model')
        models = ModelSet.from_paths(**paths)
    except (ValueError, RuntimeError) as exc:
        raise ValueError(f'the node would refuse these models together: {exc}') from exc
    report['modes'] = list(models.modes)
    if onnx:
        report['onnx'] = [str(p) for p in export_onnx_files(out, names)]
    report['node'] = node_commands(out, names)
    (out / 'deploy.json').write_text(json.dumps(report, indent=2) + '\n', encoding='utf-8')
    os.chmod(out / 'deploy.json', 0o644)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(prog='python -m tools.deploy',
                                     description=__doc__.split('\n\n')[0].strip())
    parser.add_argument('--fusion', help='RGB-D fusion checkpoint (rgbd mode)')
    parser.add_argument('--rgb', help='RGB-only checkpoint (the fallback; required unless '
                        '--fusion was trained with depth dropout: one model)')
    parser.add_argument('--depth', help='depth-only checkpoint (RGB blackouts; optional)')
    parser.add_argument('--out', required=True, help='folder to write the bundles to')
    parser.add_argument('--onnx', action='store_true', help='also write ONNX graphs + ONNX.md')
    parser.add_argument('--fp32', action='store_true', help='keep float32 weights (2x size)')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(name)s: %(message)s')
    sources = {name: Path(p) for name, p in (('rgbd', args.fusion), ('rgb', args.rgb),
                                             ('depth', args.depth)) if p}
    try:
        report = deploy(sources, Path(args.out), fp16=not args.fp32, onnx=args.onnx)
    except ValueError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    for name, row in report['models'].items():
        print(f'{name:5s} {row["bytes"] / 1e6:6.1f} MB  inputs {row["modalities"]} at '
              f'{row["input_size"]}, max |logit diff| vs checkpoint {row["max_logit_diff"]:.2g}')
    print(f'modes {report["modes"]}; wrote {args.out} (deploy.json'
          f'{", ONNX.md" if args.onnx else ""}). Run the node with:\n{report["node"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
