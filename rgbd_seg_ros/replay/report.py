# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Write a replay report: ``report.json``, ``report.md`` and PNG plots.

- ``timeline.png``: per-frame mIoU (with the fusion model alone on the fallback frames, dashed),
  the depth valid-pixel ratio with the switching threshold, and the latency, over bag time, with
  the mode shaded and the switches marked. Without ground truth the first panel is left out.
- ``latency.png``: latency histogram per mode with p50/p95.
- ``examples.png``: RGB, depth, node output, ground truth and the fusion-only output for a few
  frames (steady RGB-D, just after a switch, inside the outage, after recovery).

The plots are drawn by ``plots.py``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from rgbd_seg_ros.replay.plots import (
    MODE_TITLES,
    fmt,
    plot_examples,
    plot_latency,
    plot_timeline,
)
from rgbd_seg_ros.replay.scoring import ReplayResult

LOG = logging.getLogger(__name__)

def write_report(result: ReplayResult, out_dir: str | Path, plots: bool = True) -> dict[str, Path]:
    """
    Write ``report.json``, ``report.md`` and (``plots=True``) the PNGs into ``out_dir``.

    :returns: name -> path of every file written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = result.summary()
    paths: dict[str, Path] = {}
    if plots:
        paths['timeline'] = plot_timeline(result, out / 'timeline.png')
        if any(f.latency_ms is not None for f in result.frames):
            paths['latency'] = plot_latency(result, out / 'latency.png')
        if result.examples:
            paths['examples'] = plot_examples(result, out / 'examples.png')
    summary['plots'] = {k: v.name for k, v in paths.items()}
    paths['json'] = out / 'report.json'
    paths['json'].write_text(json.dumps(summary, indent=2) + '\n')
    paths['markdown'] = out / 'report.md'
    paths['markdown'].write_text(render_markdown(summary))
    return paths


def format_summary(summary: dict[str, Any], paths: dict[str, Path] | None = None) -> str:
    """A few lines for the terminal: frames, mIoU per mode, fallback value, latency, files."""
    lat = summary['latency_ms']
    fb = summary['fallback']
    lines = [
        f'{summary["source"]} replay of {summary["bag"]}: {summary["frames"]} RGB frames, '
        f'{summary["frames_without_output"]} without output, '
        f'{len(summary["mode_switches"])} mode switches',
    ]
    if summary['miou'] is not None:
        by_mode = ', '.join(f'{m} {fmt(v)} %' for m, v in summary['miou_by_mode'].items())
        lines.append(f'  mIoU {fmt(summary["miou"])} % (by mode: {by_mode}), pixel accuracy '
                     f'{fmt(summary["pixel_acc"])} %')
    if fb['miou_fusion_only'] is not None:
        lines.append(
            f'  fallback frames ({fb["frames"]}): with fallback {fmt(fb["miou_with_fallback"])} '
            f'% mIoU, fusion model alone {fmt(fb["miou_fusion_only"])} % '
            f'(fallback gains {fmt(fb["miou_gain"])} points)')
    lines.append(f'  latency p50 {fmt(lat["p50"], 1)} ms, p95 {fmt(lat["p95"], 1)} ms')
    for s in summary['mode_switches']:
        lines.append(f'  t = {s["t_rel"]:7.3f} s: {s["from"]} -> {s["to"]} ({s["reason"]})')
    if summary.get('transport'):
        lines.append('  transport: ' + ', '.join(f'{k} {v}' for k, v in
                                                 summary['transport'].items()))
    if summary['skipped_messages']:
        lines.append('  skipped: ' + ', '.join(f'{k} ({v})' for k, v in
                                               summary['skipped_messages'].items()))
    for name, path in (paths or {}).items():
        lines.append(f'  {name:9s} {path}')
    return '\n'.join(lines)


def render_markdown(summary: dict[str, Any]) -> str:
    """``report.md`` from the ``report.json`` dictionary."""
    lat = summary['latency_ms']
    fb = summary['fallback']
    lines = [
        f'# Replay report: `{Path(summary["bag"]).name}`',
        '',
        f'{summary["source"]} replay of `{summary["bag"]}`, '
        f'{summary["duration_s"]:.2f} s of bag time from t0 = {summary["start_time"]:.3f} s.',
        '',
        '| | value |',
        '| --- | --- |',
        f'| RGB frames | {summary["frames"]} |',
        f'| frames with output | {summary["frames_with_output"]} |',
        f'| frames without output | {summary["frames_without_output"]} |',
        f'| frames scored against ground truth | {summary["frames_scored"]} |',
        f'| mIoU (all frames) | {fmt(summary["miou"], unit=" %")} |',
        f'| pixel accuracy | {fmt(summary["pixel_acc"], unit=" %")} |',
        f'| latency p50 / p95 | {fmt(lat["p50"], 1, 1)} / {fmt(lat["p95"], 1, 1)} ms |',
        f'| mode switches | {len(summary["mode_switches"])} |',
        '',
        '## Per mode',
        '',
        '| mode | frames | mIoU | pixel acc | latency p50 | latency p95 |',
        '| --- | --- | --- | --- | --- | --- |',
    ]
    for mode, count in summary['frames_by_mode'].items():
        ml = summary['latency_ms_by_mode'].get(mode, {})
        lines.append(
            f'| {MODE_TITLES.get(mode, mode)} | {count} | '
            f'{fmt(summary["miou_by_mode"].get(mode), unit=" %")} | '
            f'{fmt(summary["pixel_acc_by_mode"].get(mode), unit=" %")} | '
            f'{fmt(ml.get("p50"), 1, 1, " ms")} | {fmt(ml.get("p95"), 1, 1, " ms")} |'
        )
    lines += ['', '## What the fallback is worth', '']
    if fb['miou_fusion_only'] is not None:
        lines += [
            f'On the {fb["frames"]} frames the node served in a fallback mode, the fallback '
            'scored '
            f'**{fmt(fb["miou_with_fallback"], unit=" %")} mIoU**; the fusion model alone, fed '
            f'the depth it had (none during a gap), would have scored '
            f'**{fmt(fb["miou_fusion_only"], unit=" %")}** '
            f'(gain {fmt(fb["miou_gain"], digits=1, unit=" points")}).',
        ]
    elif fb['frames']:
        lines.append(f'{fb["frames"]} frames in a fallback mode (no ground truth to score them).')
    else:
        lines.append('The node never left RGB-D mode on this bag.')
    lines += ['', '## Mode switches', '']
    if summary['mode_switches']:
        lines += ['| t since start (s) | bag time (s) | from | to | reason |',
                  '| --- | --- | --- | --- | --- |']
        for s in summary['mode_switches']:
            lines.append(
                f'| {s["t_rel"]:.3f} | {s["t"]:.3f} | {s["from"]} | {s["to"]} | {s["reason"]} |'
            )
    else:
        lines.append('none')
    if summary.get('transport'):
        lines += ['', '## Transport (live)', '']
        for key, value in summary['transport'].items():
            lines.append(f'- {key}: {value}')
    if summary['skipped_messages']:
        lines += ['', '## Skipped messages', '']
        for reason, count in summary['skipped_messages'].items():
            lines.append(f'- {reason}: {count}')
    if summary.get('iou_per_class'):
        lines += ['', '## IoU per class (all frames)', '', '| class | IoU |', '| --- | --- |']
        for name, value in summary['iou_per_class'].items():
            lines.append(f'| {name} | {fmt(value, unit=" %")} |')
    if summary.get('plots'):
        lines += ['', '## Plots', '']
        for name in summary['plots'].values():
            lines.append(f'![{name}]({name})')
    return '\n'.join(lines) + '\n'


