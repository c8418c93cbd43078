# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""What a benchmark report was measured with: the checkout, the packages and the host's CPU."""

from __future__ import annotations

from pathlib import Path
import platform


def software_versions() -> dict[str, str]:
    """The checkout's commit, the package versions and the CPU a report was measured with."""
    from importlib.metadata import PackageNotFoundError, version

    from rgbd_seg_ros.core.checkpoint import git_commit

    out = {'git_commit': git_commit(), 'python': platform.python_version()}
    for package in ('torch', 'timm', 'numpy', 'opencv-python-headless'):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = ''
    # the kernels a CPU run takes depend on the host's instruction set: two hosts can differ in
    # the last bits from the first step on, so the host is part of what a report was made with
    import torch

    out['cpu'] = cpu_model()
    out['torch_cpu_capability'] = str(torch.backends.cpu.get_cpu_capability())
    return out


def cpu_model() -> str:
    """The host's CPU model name (``/proc/cpuinfo``; ``platform.processor()`` elsewhere)."""
    try:
        for line in Path('/proc/cpuinfo').read_text(encoding='utf-8').splitlines():
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor()
