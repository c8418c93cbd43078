# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The replay report's plots, with matplotlib's object API (``Figure``: no GUI backend, no global
state): ``timeline.png`` (per-frame mIoU, depth valid ratio, latency over bag time, modes
shaded), ``latency.png`` (histogram per mode) and ``examples.png`` (RGB, depth, output, ground
truth, fusion-only output for a few frames).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from rgbd_seg_ros.replay.scoring import ReplayResult

LOG = logging.getLogger(__name__)

MODE_COLORS = {'rgbd': '#cfe8cf', 'rgb': '#fbd9a8', 'depth': '#cddcf2', None: '#e6e6e6'}
MODE_LINE_COLORS = {'rgbd': '#2e7d32', 'rgb': '#e65100', 'depth': '#1565c0', None: '#777777'}
_LEGEND = {'loc': 'upper left', 'bbox_to_anchor': (1.005, 1.0), 'fontsize': 8,
           'frameon': False, 'borderaxespad': 0.0}
MODE_TITLES = {'rgbd': 'RGB-D (fusion)', 'rgb': 'RGB fallback', 'depth': 'depth only',
               None: 'no output'}

def fmt(value: float | None, scale: float = 100.0, digits: int = 1, unit: str = '') -> str:
    return 'n/a' if value is None else f'{value * scale:.{digits}f}{unit}'


def _mode_runs(t: np.ndarray, modes: list[str | None]) -> list[tuple[float, float, str | None]]:
    """Contiguous runs of one mode as ``(t_start, t_end, mode)``, each frame half a period wide."""
    if len(t) == 0:
        return []
    dt = float(np.median(np.diff(t))) if len(t) > 1 else 0.1
    runs = []
    start = 0
    for i in range(1, len(t) + 1):
        if i == len(t) or modes[i] != modes[start]:
            runs.append((t[start] - dt / 2, t[i - 1] + dt / 2, modes[start]))
            start = i
    return runs


def _shade_modes(ax: Any, runs: list[tuple[float, float, str | None]]) -> None:
    for t0, t1, mode in runs:
        ax.axvspan(t0, t1, color=MODE_COLORS.get(mode, '#eeeeee'), lw=0, zorder=0)


def plot_timeline(result: ReplayResult, path: Path) -> Path:
    """mIoU, depth health and latency over bag time, with modes shaded; returns ``path``."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    frames = result.frames
    t = np.array([(f.t_ns - result.start_ns) / 1e9 for f in frames], dtype=np.float64)
    modes = [f.mode for f in frames]
    runs = _mode_runs(t, modes)
    scored = any(f.miou is not None for f in frames)
    panels = (['miou'] if scored else []) + ['depth', 'latency']
    ratios = {'miou': 3.0, 'depth': 1.6, 'latency': 1.6}
    fig = Figure(figsize=(13, 1.9 * sum(ratios[p] for p in panels) / 1.6 + 1.0))
    axes = fig.subplots(len(panels), 1, sharex=True,
                        gridspec_kw={'height_ratios': [ratios[p] for p in panels]})
    axes = np.atleast_1d(axes)
    summary = result.summary()
    for ax, panel in zip(axes, panels):
        _shade_modes(ax, runs)
        for s in result.mode_switches:
            ax.axvline((s.t_ns - result.start_ns) / 1e9, color='k', ls=':', lw=1, zorder=1)
        if panel == 'miou':
            _panel_miou(ax, t, frames)
        elif panel == 'depth':
            _panel_depth(ax, t, frames, result.settings.get('min_valid_ratio'))
        else:
            _panel_latency(ax, t, frames)
        ax.grid(alpha=0.3, zorder=1)
    top = axes[0]
    span = max(float(t[-1] - t[0]), 1e-3) if len(t) else 1.0
    previous, level = -np.inf, 0
    for s in result.mode_switches:
        x = (s.t_ns - result.start_ns) / 1e9
        level = (level + 1) % 2 if x - previous < 0.06 * span else 0  # stagger close labels
        previous = x
        top.annotate(f'{s.from_mode}\u2192{s.to_mode} {x:.2f} s', (x, 1.0),
                     xycoords=('data', 'axes fraction'), xytext=(2, 2 + 10 * level),
                     textcoords='offset points', fontsize=7, va='bottom')
    axes[-1].set_xlabel('bag time since start (s)')
    if len(t):
        axes[-1].set_xlim(t[0] - 0.5 * _period(t), t[-1] + 0.5 * _period(t))
    present = [m for m in MODE_COLORS if any(r[2] == m for r in runs)]
    handles = [Patch(color=MODE_COLORS[m], label=MODE_TITLES[m]) for m in present]
    handles.append(Line2D([], [], color='k', ls=':', lw=1, label='state machine switch'))
    fig.legend(handles=handles, loc='upper right', ncol=len(handles), fontsize=8,
               frameon=False, bbox_to_anchor=(0.99, 0.995),
               title='background: model that produced each frame', title_fontsize=8)
    title = f'{Path(result.bag).name} ({result.source})'
    if summary['miou'] is not None:
        by_mode = ', '.join(f'{m} {fmt(v)} %' for m, v in summary['miou_by_mode'].items())
        title += f': mIoU {fmt(summary["miou"])} % ({by_mode})'
    fig.suptitle(title, x=0.01, ha='left', fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.savefig(path, dpi=110)
    return path


def _period(t: np.ndarray) -> float:
    return float(np.median(np.diff(t))) if len(t) > 1 else 0.1


def _panel_miou(ax: Any, t: np.ndarray, frames: list[Any]) -> None:
    y = np.array([np.nan if f.miou is None else 100 * f.miou for f in frames])
    ax.plot(t, y, color='k', lw=1.3, marker='.', ms=3, label='node output (with fallback)',
            zorder=3)
    only = np.array([np.nan if f.fusion_only_miou is None else 100 * f.fusion_only_miou
                     for f in frames])
    if np.isfinite(only).any():
        ax.plot(t, only, color='#c62828', ls='--', lw=1.3, marker='x', ms=3, zorder=3,
                label='fusion model alone (no fallback)')
    ax.set_ylabel('frame mIoU (%)')
    finite = np.concatenate([y[np.isfinite(y)], only[np.isfinite(only)]])
    low = float(finite.min()) if finite.size else 0.0
    ax.set_ylim(max(0.0, low - 10), 100)
    ax.legend(**_LEGEND)


def _panel_depth(ax: Any, t: np.ndarray, frames: list[Any], threshold: float | None) -> None:
    ratio = np.array([np.nan if f.depth_ratio is None else 100 * f.depth_ratio for f in frames])
    ax.plot(t, ratio, color='#1565c0', lw=1.2, marker='.', ms=3, label='depth valid pixels',
            zorder=3)
    missing = np.array([f.depth_ratio is None for f in frames], dtype=bool)
    if missing.any():
        ax.plot(t[missing], np.zeros(missing.sum()), ls='none', marker='|', ms=9,
                color='#c62828', label='no depth paired', zorder=3)
    if threshold is not None:
        ax.axhline(100 * float(threshold), color='#1565c0', ls='--', lw=0.8,
                   label=f'switch threshold {100 * float(threshold):.0f} %')
    ax.set_ylim(-5, 105)
    ax.set_ylabel('depth valid (%)')
    ax.legend(**_LEGEND)


def _panel_latency(ax: Any, t: np.ndarray, frames: list[Any]) -> None:
    for mode in MODE_LINE_COLORS:
        sel = [i for i, f in enumerate(frames) if f.mode == mode and f.latency_ms is not None]
        if sel:
            ax.plot(t[sel], [frames[i].latency_ms for i in sel], ls='none', marker='o', ms=3,
                    color=MODE_LINE_COLORS[mode], label=MODE_TITLES[mode], zorder=3)
    lost = [i for i, f in enumerate(frames) if f.mode is None]
    if lost:
        ax.plot(t[lost], np.zeros(len(lost)), ls='none', marker='x', ms=5, color='#b71c1c',
                label='no output', zorder=3)
    waits = np.array([np.nan if f.sync_wait_ms is None else f.sync_wait_ms for f in frames])
    if np.nanmax(waits, initial=0.0) > 0:
        ax.plot(t, waits, color='#777777', lw=1, drawstyle='steps-mid', zorder=2,
                label='of which waiting for depth')
    values = [f.latency_ms for f in frames if f.latency_ms is not None]
    if values:
        p95 = float(np.percentile(values, 95))
        ax.axhline(p95, color='#555555', ls='--', lw=0.8, label=f'p95 {p95:.1f} ms')
        ax.set_ylim(0, max(values) * 1.15)
    ax.set_ylabel('latency (ms)')
    ax.legend(**_LEGEND)


def plot_latency(result: ReplayResult, path: Path) -> Path:
    """Latency histogram per mode, p50 and p95 marked; returns ``path``."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3.6))
    ax = fig.subplots()
    values = [f.latency_ms for f in result.frames if f.latency_ms is not None]
    bins = np.linspace(0, max(values) * 1.05, 40) if values else 10
    for mode in MODE_LINE_COLORS:
        data = [f.latency_ms for f in result.frames if f.mode == mode and f.latency_ms is not None]
        if data:
            ax.hist(data, bins=bins, alpha=0.6, color=MODE_LINE_COLORS[mode],
                    label=f'{MODE_TITLES[mode]} (n={len(data)}, p50 {np.median(data):.1f} ms)')
    for q, ls in ((50, '-'), (95, '--')):
        v = float(np.percentile(values, q))
        ax.axvline(v, color='k', ls=ls, lw=1, label=f'all p{q} {v:.1f} ms')
    ax.set_xlabel(f'latency per frame (ms), {result.source} replay')
    ax.set_ylabel('frames')
    ax.legend(fontsize=8)
    ax.set_title(f'{Path(result.bag).name}: input to output latency', fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def _depth_rgb(depth_m: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray:
    """Depth as a turbo-coloured RGB image, invalid black; grey placeholder when absent."""
    from matplotlib import colormaps

    if depth_m is None:
        return np.full(shape + (3,), 0.82)
    valid = depth_m > 0
    if not valid.any():
        return np.ones(shape + (3,))
    lo, hi = np.percentile(depth_m[valid], [2, 98])
    norm = np.clip((depth_m - lo) / max(hi - lo, 1e-6), 0, 1)
    img = colormaps['viridis'](norm)[..., :3]
    img[~valid] = 1.0
    return img


def plot_examples(result: ReplayResult, path: Path) -> Path:
    """A row per example frame: RGB, depth, output, ground truth, fusion alone; ``path``."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    from rgbd_seg_ros.core.labels import LabelSet

    labels = LabelSet('replay', result.label_names, tuple(
        tuple(c) for c in result.settings.get('label_colors', _fallback_colors(
            len(result.label_names)))), result.ignore_index)
    examples = result.examples
    has_gt = any(e.get('gt') is not None for e in examples)
    has_only = any(e.get('fusion_only') is not None for e in examples)
    cols = ['RGB', 'depth (white: no return)', 'node output']
    cols += ['ground truth'] if has_gt else []
    cols += ['fusion alone (no fallback)'] if has_only else []
    h, w = examples[0]['rgb'].shape[:2]
    legend_rows = -(-len(result.label_names) // 7)
    fig_h = 2.5 * len(examples) * h / max(h, w) + 0.35 + 0.2 * legend_rows
    fig = Figure(figsize=(2.6 * len(cols) * w / max(h, w) + 0.4, fig_h))
    axes = np.atleast_2d(fig.subplots(len(examples), len(cols), squeeze=False))
    for row, ex in enumerate(examples):
        shape = ex['rgb'].shape[:2]
        images = [ex['rgb'], _depth_rgb(ex.get('depth_m'), shape), labels.colorize(ex['pred'])]
        if has_gt:
            gt = ex.get('gt')
            images.append(labels.colorize(gt) if gt is not None else np.full(shape + (3,), 0.82))
        if has_only:
            only = ex.get('fusion_only')
            images.append(labels.colorize(only) if only is not None
                          else np.full(shape + (3,), 0.82))
            if only is None:
                axes[row, len(cols) - 1].text(
                    0.5, 0.5, 'same as output\n(fusion mode)', ha='center', va='center',
                    transform=axes[row, len(cols) - 1].transAxes, fontsize=8)
        for col, img in enumerate(images):
            ax = axes[row, col]
            ax.imshow(img, interpolation='nearest')
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(cols[col], fontsize=9)
        mode = ex.get('mode')
        axes[row, 0].set_ylabel(ex.get('title', ''), fontsize=8)
        for spine in axes[row, 2].spines.values():
            spine.set_color(MODE_LINE_COLORS.get(mode, '#777777'))
            spine.set_linewidth(3)
        depth_m = ex.get('depth_m')
        if depth_m is None:
            axes[row, 1].text(0.5, 0.5, 'no depth', ha='center', va='center',
                              transform=axes[row, 1].transAxes, fontsize=9)
        else:
            valid = depth_m > 0
            text = (f'{depth_m[valid].min():.1f}-{depth_m[valid].max():.1f} m, '
                    f'{100 * valid.mean():.0f} % valid' if valid.any() else 'all invalid')
            axes[row, 1].text(0.02, 0.02, text, transform=axes[row, 1].transAxes, fontsize=7,
                              color='k', backgroundcolor=(1, 1, 1, 0.7), va='bottom')
    handles = [Patch(color=np.asarray(c) / 255, label=n)
               for n, c in zip(labels.names, labels.colors)]
    fig.legend(handles=handles, loc='lower center', ncol=min(7, len(handles)), fontsize=7,
               frameon=False)
    fig.tight_layout(rect=(0, (0.1 + 0.2 * legend_rows) / fig_h, 1, 1), h_pad=0.8, w_pad=0.3)
    fig.savefig(path, dpi=100)
    return path


def _fallback_colors(k: int) -> list[tuple[int, int, int]]:
    from matplotlib import colormaps

    cmap = colormaps['tab20']
    return [tuple(int(255 * v) for v in cmap(i % 20)[:3]) for i in range(k)]
