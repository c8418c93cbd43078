# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Every training method against its baseline, under a fair protocol (docs/results.md).

Protocol (each point a documented choice, docs/results.md "Protocol"):

- **Pretrained initialisation.** The papers start every model (teachers and students, RGB and
  depth streams) from ImageNet weights; the benchmark's own stand-in is a ``pretrain`` run: an
  RGB model trained on an endless stream of rooms disjoint from the benchmark's frames (data
  seed ``PRETRAIN_DATA_SEED``), whose backbone (``training.export_backbone``) initialises the
  RGB stream of every model. The depth streams start from a ``pretrain_depth`` run (a depth
  model on the same rooms, the same steps, run beside it): an RGB backbone trained on these
  rooms is specialised to their appearance, and the longer it trains, the worse a depth stream
  it makes (docs/results.md, "Calibrating nyu_like"), unlike ImageNet weights for HHA.
  ``--no-depth-pretrain`` starts the depth streams from the RGB backbone too; ``--no-pretrain``
  trains from random initialisation.
- **Converged teachers.** One RGB, one depth and one RGB-D teacher per protocol, trained for
  ``teacher_factor`` (>= 3) times the student budget on the same training set, seed 100, shared
  by every seed; the JSON keeps each teacher's validation curve and flags one that had not
  levelled off (best of the last quarter more than ``plateau_tol`` above the best before it).
- **A finite, fixed training set** (``data.synthetic_train_length`` pre-rendered frames, cached
  on disk, read for many epochs, as NYU's 795 images), identical for every seed; ``--stream``
  uses an endless stream of new rooms instead.
- **Equal budgets.** Every student trains exactly as many steps as its baseline.
- **Same initialisation.** Seed ``s`` sets the student's initial weights (built under its own
  seeded RNG, ``training.methods.student_model``) and the augmentation/data order, so a baseline
  and a distilled run of one seed differ only in the method.
- **Statistics.** Mean, sample std and a 95 % t-interval of test mIoU over the seeds; the paired
  difference to the baseline per seed; per-class test IoU for every row; wall-clock including
  the teachers.

Runs (teachers first, then the students of every seed; ``--jobs`` runs that many at once):

=============  =========================  ==============  ===============================
method         config                     teacher         exported model -> baseline
=============  =========================  ==============  ===============================
rgb            *_rgb.yaml                 -               RGB baseline
depth          *_depth.yaml               -               depth baseline
rgbd           *_rgbd.yaml                -               fusion baseline
primkd         *_primkd.yaml              teacher_rgb     fusion -> rgbd
primkd_depth   *_primkd.yaml              teacher_depth   fusion -> rgbd (PrimKD Table 1)
cmkd_rgb       *_cmkd_rgb.yaml            teacher_rgbd    RGB -> rgb
cmkd_depth     *_cmkd_depth.yaml          teacher_rgbd    depth -> depth
crodino        *_crodino.yaml             -               RGB -> rgb, depth -> depth
=============  =========================  ==============  ===============================

From the repository root::

    python -m bench.methods --protocol quick|full --seeds 0,1,2
        [--methods rgb,depth,rgbd,primkd,cmkd_rgb,cmkd_depth,crodino]
        [--data synthetic|nyu|DIR] [--world nyu_like|depth_favoured] [--root DIR]
        [--pretrain-iters N] [--teacher-factor K]
        [--jobs 2] [--nproc 1] [--device cpu] --json OUT

``--data nyu --root DIR`` (a folder from ``training.prepare_nyu``) uses the NYU configs and their
paper hyper-parameters (``--protocol`` only sets the seeds' count then), ``--nproc G`` trains
each run with ``torchrun`` on G processes, and the tables are printed in the layout of the
papers' (PrimKD Tables 3/4, CroDiNo-KD's RGB/depth students). Finished runs are reused when
their config file, overrides and synthetic world are unchanged (``run_fingerprint``); a folder
trained with other settings is refused, not silently reused (delete ``--out`` to start over).
A run writes its resume state every ``RESUME_EVERY`` steps, so the same command after an
interruption (a killed job, a machine that went away) continues each unfinished run from there.

The modules, one job each: ``plan`` (protocols, runs and the typed ``Plan``), ``cli`` (options
-> plan), ``runs`` (one run's overrides, fingerprint and training), ``schedule`` (dependency
order), ``scores`` (test scores, statistics, report rows), ``benchmark`` (a whole plan ->
report), ``tables`` (Markdown) and ``environment`` (what a report was measured with).
"""

from bench.methods.benchmark import run_benchmark
from bench.methods.cli import main, plan_from_args
from bench.methods.environment import cpu_model, software_versions
from bench.methods.plan import (
    DEFAULT_METHODS,
    METHODS,
    PRETRAIN,
    PRETRAIN_DATA_SEED,
    PRETRAIN_DEPTH,
    PRETRAIN_STREAM,
    PRETRAINS,
    PROTOCOLS,
    ROWS,
    RUNS,
    TEACHER_SEED,
    TEACHERS,
    VARIANT_KEYS,
    Budget,
    Plan,
    protocol_budget,
    run_dir,
)
from bench.methods.runs import (
    CONFIGS,
    RESUME_EVERY,
    run_fingerprint,
    run_sets,
    train_run,
    write_stamp,
)
from bench.methods.schedule import run_needs, run_order, schedule
from bench.methods.scores import build_rows, summarise, test_scores
from bench.methods.tables import format_paper_tables, format_tables

__all__ = [
    'CONFIGS', 'DEFAULT_METHODS', 'METHODS', 'PRETRAIN', 'PRETRAINS', 'PRETRAIN_DATA_SEED',
    'PRETRAIN_DEPTH', 'PRETRAIN_STREAM', 'PROTOCOLS', 'RESUME_EVERY', 'ROWS', 'RUNS',
    'TEACHERS', 'TEACHER_SEED', 'VARIANT_KEYS', 'Budget', 'Plan', 'build_rows', 'cpu_model',
    'format_paper_tables', 'format_tables', 'main', 'plan_from_args', 'protocol_budget',
    'run_benchmark', 'run_dir', 'run_fingerprint', 'run_needs', 'run_order', 'run_sets',
    'schedule', 'software_versions', 'summarise', 'test_scores', 'train_run', 'write_stamp',
]
