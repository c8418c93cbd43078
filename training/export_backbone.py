# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Export the backbone of a trained model as initial weights for other models.

    python -m training.export_backbone --checkpoint runs/x/model.safetensors --out FILE
        [--stream rgb|depth]

The output is a plain timm-layout safetensors state dict (the backbone only, no decoder, no
fusion modules) that ``model.pretrained`` reads, for single-stream and fusion models alike
(a fusion model loads it into both streams; a 1-channel depth stream averages the first
convolution, as timm does for ImageNet weights) and follows the input normalisation recorded in
the file's metadata (the checkpoint's own). ``bench.methods`` uses it for its
pretraining stage, the stand-in for the ImageNet initialisation of the papers
(docs/results.md, "Protocol"). The file's metadata names the source checkpoint, its sha256 and
the stream.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import hashlib
import json
import logging
from pathlib import Path
import sys

from safetensors.torch import save_file

from rgbd_seg_ros.core.checkpoint import load_checkpoint
from training.imagenet import NORMALIZATION_KEY

logger = logging.getLogger(__name__)

KNOWN_STREAMS = ('rgb', 'depth')
# stream -> prefix of its backbone tensors, for single-stream and fusion models
_PREFIXES = {
    ('single', 'rgb'): 'encoder.backbone.',
    ('single', 'depth'): 'encoder.backbone.',
    ('fusion', 'rgb'): 'encoder.rgb_encoder.backbone.',
    ('fusion', 'depth'): 'encoder.depth_encoder.backbone.',
}


def export_backbone(checkpoint: str | Path, out: str | Path, stream: str = 'rgb') -> int:
    """
    Write the backbone tensors of ``checkpoint`` (one stream of it) to ``out``.

    :param checkpoint: a model file written by ``training.train``.
    :param out: the safetensors file to write (timm key names).
    :param stream: ``'rgb'`` or ``'depth'``: which stream of a fusion model; for a single-stream
        model it must name that model's own input kind (``'depth'`` covers HHA and depth).
    :returns: the number of tensors written.
    :raises ValueError: an unknown stream, or a stream the model does not have.
    """
    if stream not in KNOWN_STREAMS:
        raise ValueError(f'unknown stream {stream!r}; expected one of {KNOWN_STREAMS}')
    model, meta = load_checkpoint(checkpoint, 'cpu')
    arch = meta.model.arch
    if arch == 'single':
        own = 'rgb' if meta.model.modality == 'rgb' else 'depth'
        if own != stream:
            raise ValueError(f'{checkpoint} is a single-stream {meta.model.modality!r} model; it '
                             f'has no {stream!r} stream (use --stream {own})')
    prefix = _PREFIXES[(arch, stream)]
    tensors = {k[len(prefix):]: v.detach().contiguous()
               for k, v in model.state_dict().items() if k.startswith(prefix)}
    if not tensors:
        raise ValueError(f'{checkpoint}: no backbone tensors under {prefix!r}')
    digest = hashlib.sha256(Path(checkpoint).read_bytes()).hexdigest()
    info = {'source': str(checkpoint), 'source_sha256': digest, 'stream': stream,
            'backbone': meta.model.backbone,
            'source_provenance': meta.provenance}
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    # a model initialised from this file expects the inputs this checkpoint was trained on
    save_file(tensors, str(out), metadata={
        'rgbd_seg_ros_backbone': json.dumps(info, default=str),
        NORMALIZATION_KEY: json.dumps(meta.normalization.to_dict())})
    logger.info('wrote %d %s backbone tensors of %s to %s', len(tensors), meta.model.backbone,
                checkpoint, out)
    return len(tensors)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: export one stream's backbone; exit 2 with the reason on bad input."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0].strip())
    parser.add_argument('--checkpoint', required=True, help='model.safetensors of a training run')
    parser.add_argument('--out', required=True, help='backbone .safetensors to write')
    parser.add_argument('--stream', default='rgb', choices=KNOWN_STREAMS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s')
    try:
        n = export_backbone(args.checkpoint, args.out, args.stream)
    except ValueError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    print(f'wrote {n} tensors to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
