# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Print a checkpoint's metadata (``inspect FILE``) or rebuild and check the model (``verify FILE``).

``python -m tools.inspect_checkpoint inspect runs/rgb/model.safetensors``
"""

from __future__ import annotations

import argparse
import json
import sys

from rgbd_seg_ros.core.checkpoint import inspect_checkpoint, load_checkpoint


def main(argv: list[str] | None = None) -> int:
    """``inspect FILE`` prints the metadata as JSON; ``verify FILE`` fully loads the model."""
    parser = argparse.ArgumentParser(prog='python -m tools.inspect_checkpoint',
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('command', choices=('inspect', 'verify'),
                        help='inspect: print metadata; verify: rebuild the model and check all')
    parser.add_argument('file', help='checkpoint .safetensors file')
    args = parser.parse_args(argv)
    try:
        if args.command == 'inspect':
            print(json.dumps(inspect_checkpoint(args.file), indent=2))
        else:
            model, meta = load_checkpoint(args.file)
            n = sum(p.numel() for p in model.parameters())
            print(f'OK {args.file}: {meta.model.arch}/{meta.model.backbone}, modalities '
                  f'{list(meta.modalities)}, {meta.labels.num_classes} classes '
                  f'({meta.labels.name}), {n} parameters')
    except ValueError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
