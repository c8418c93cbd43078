# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
r"""
Train a segmentation model: ``python -m training.train --config FILE [--set a.b=VALUE ...]``.

Examples::

    python -m training.train --config training/configs/synthetic_rgb.yaml --out runs/rgb
    python -m training.train --config training/configs/synthetic_primkd.yaml \
        --set distill.teacher=runs/rgb/model.safetensors --out runs/primkd
    torchrun --nproc_per_node 2 -m training.train --config training/configs/nyu_rgbd.yaml

``--set`` values are Python literals (``3e-4``, ``True``, ``(1, 2)``); anything else is taken
as a string (paths, backbone names). Unknown keys and wrong types are errors. Exit status: 0
done, 2 bad configuration, 130 interrupted (``last.safetensors`` saved; ``--resume`` continues).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import logging
from pathlib import Path
import sys

from training.config_io import load_config


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line (a config file plus strict overrides, nothing else)."""
    parser = argparse.ArgumentParser(prog='python -m training.train',
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', help='YAML config (training/configs/*.yaml)')
    parser.add_argument('--set', action='append', default=[], metavar='KEY=VALUE',
                        help='override one config value, e.g. optim.lr=3e-4 (repeatable)')
    parser.add_argument('--out', help='run directory (default: runs/<config name>)')
    parser.add_argument('--max-iters', type=int, metavar='N',
                        help='shorthand for --set train.max_iters=N')
    parser.add_argument('--resume', action='store_true',
                        help='continue from <out>/last.safetensors when it exists')
    parser.add_argument('--stop-after', type=int, metavar='N',
                        help='stop after N steps of this invocation and save last.safetensors '
                             '(time-sliced jobs); the schedule still spans train.max_iters')
    parser.add_argument('--print-config', action='store_true',
                        help='print the resolved config and exit')
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = parse_args(argv)
    overrides = list(args.set)
    if args.max_iters is not None:
        overrides.append(f'train.max_iters={args.max_iters}')
    try:
        cfg = load_config(args.config, overrides)
    except ValueError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    if args.print_config:
        from training.config_io import dump_config

        print(dump_config(cfg), end='')
        return 0
    if args.stop_after is not None and args.stop_after < 1:
        print('error: --stop-after must be >= 1', file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else Path('runs') / Path(args.config or 'default').stem
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO,
                            format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    from training.engine import fit

    try:
        return fit(cfg, out, resume=args.resume, stop_after=args.stop_after)
    except ValueError as exc:
        logging.getLogger('training.train').debug('configuration error', exc_info=True)
        print(f'error: {exc}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print('aborted', file=sys.stderr)
        return 130


if __name__ == '__main__':
    sys.exit(main())
