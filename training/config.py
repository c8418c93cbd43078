# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
The training configuration: one tree of frozen dataclasses, a one-line comment per field.

``__post_init__`` checks ranges and choices and raises ``ValueError`` naming the full key path
(``optim.lr``). Loading from YAML with overrides is ``config_io.load_config``. Nothing happens
at import time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rgbd_seg_ros.core.models.config import ModelConfig
from training.data.config import DataConfig

KNOWN_METHODS = ('supervised', 'primkd', 'cmkd', 'crodino', 'dropout_sd')
KNOWN_AMP = ('off', 'bf16', 'fp16')
KNOWN_ALIGNERS = ('conv1x1', 'masked')
KNOWN_ORTHO = ('cos2_pixel', 'pooled_cos')
KNOWN_FEAT_NORMALIZE = ('none', 'layernorm', 'teacher_ms')
KNOWN_INVARIANCE = ('mse', 'cos')
KNOWN_AUX_RESOLUTION = ('label', 'feature')


def _check_choice(path: str, value: str, known: Sequence[str]) -> None:
    if value not in known:
        raise ValueError(f'{path}: unknown value {value!r}; expected one of {tuple(known)}')


def _check_range(path: str, value: float, low: float, high: float | None = None) -> None:
    if value < low or (high is not None and value > high):
        bound = f'[{low}, {high}]' if high is not None else f'>= {low}'
        raise ValueError(f'{path} must be {bound}, got {value}')


@dataclass(frozen=True)
class OptimConfig:
    """AdamW with a per-iteration linear warm-up then poly decay (docs/training.md)."""

    lr: float = 6e-5  # peak learning rate, reached at the end of warm-up
    betas: tuple[float, float] = (0.9, 0.999)  # AdamW (beta1, beta2)
    weight_decay: float = 0.01  # decoupled decay on conv/linear weights; none on biases, norms
    eps: float = 1e-8  # AdamW epsilon
    warmup_iters: int = 0  # linear warm-up length in iterations (0 = none)
    warmup_start: float = 1e-3  # lr factor at iteration 0 of the warm-up
    poly_power: float = 0.9  # after warm-up: factor (1 - progress) ** poly_power
    min_lr: float = 0.0  # floor of the learning rate at the end of the schedule
    grad_clip: float = 0.0  # max global gradient L2 norm; 0 disables clipping

    def __post_init__(self) -> None:
        _check_range('optim.lr', self.lr, 0.0)
        _check_range('optim.weight_decay', self.weight_decay, 0.0)
        _check_range('optim.warmup_iters', self.warmup_iters, 0)
        _check_range('optim.warmup_start', self.warmup_start, 0.0, 1.0)
        _check_range('optim.poly_power', self.poly_power, 0.0)
        _check_range('optim.min_lr', self.min_lr, 0.0)
        _check_range('optim.grad_clip', self.grad_clip, 0.0)
        for i, b in enumerate(self.betas):
            if not 0.0 <= b < 1.0:
                raise ValueError(f'optim.betas[{i}] must be in [0, 1), got {b}')


@dataclass(frozen=True)
class LoopConfig:
    """The training loop: length, batch, evaluation and checkpoint cadence, precision."""

    max_iters: int = 2000  # optimisation steps; the lr schedule spans exactly these
    batch_size: int = 8  # global batch size, split evenly over the ranks
    eval_every: int = 500  # validate every N steps (and at the end); 0 = only at the end
    checkpoint_every: int = 500  # write last.safetensors every N steps (and at the end)
    log_every: int = 10  # append training losses to metrics.csv every N steps
    seed: int = 0  # seeds the model initialisation, data order and augmentation
    device: str = 'auto'  # 'auto' (CUDA when present), 'cpu', 'cuda' or 'cuda:N'
    amp: str = 'bf16'  # mixed precision on CUDA: 'off' | 'bf16' | 'fp16' (CPU always fp32)
    num_workers: int = 2  # DataLoader worker processes per rank (0 = load in the main process)
    val_batch_size: int = 4  # images per rank per validation batch
    sync_bn: bool = False  # convert BatchNorm to SyncBatchNorm under multi-GPU training
    freeze_bn: bool = False  # keep BatchNorm layers in eval mode (fixed running statistics)

    def __post_init__(self) -> None:
        _check_range('train.max_iters', self.max_iters, 1)
        _check_range('train.batch_size', self.batch_size, 1)
        _check_range('train.eval_every', self.eval_every, 0)
        _check_range('train.checkpoint_every', self.checkpoint_every, 0)
        _check_range('train.log_every', self.log_every, 1)
        _check_range('train.num_workers', self.num_workers, 0)
        _check_range('train.val_batch_size', self.val_batch_size, 1)
        _check_choice('train.amp', self.amp, KNOWN_AMP)
        if not (self.device in ('auto', 'cpu', 'cuda') or self.device.startswith('cuda:')):
            raise ValueError(
                f"train.device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {self.device!r}"
            )


@dataclass(frozen=True)
class DistillConfig:
    """Teacher/student distillation: PrimKD (§2) and cross-modal KD (§3); 0 disables a term."""

    teacher: str = ''  # frozen teacher checkpoint (.safetensors); set with --set distill.teacher=
    logit_weight: float = 1.0  # weight of the logit KL term (PrimKD alpha)
    temperature: float = 1.0  # softmax temperature of the KL term (loss scaled by T^2)
    kl_exclude_ignore: bool = False  # average the KL over labelled pixels only (PrimKD: all)
    feat_weight: float = 0.1  # weight of the aligned stage-feature MSE term (PrimKD beta)
    feat_select: str = 'max'  # per-sample stage choice: 'max' | 'min' | 'mean' | 'stage:K'
    feat_stages: tuple[int, ...] = ()  # stages (1-based) taking part; () = all stages
    aligner: str = 'conv1x1'  # student->teacher feature map: 'conv1x1' | 'masked' (multilayer)
    aligner_keep: float = 0.75  # 'masked' aligner: fraction of pixels kept by the random mask
    mgd_weight: float = 0.0  # weight of masked generative distillation (MGD, cross-modal KD)
    mgd_mask_ratio: float = 0.5  # MGD: fraction of student feature pixels masked out
    mgd_stages: tuple[int, ...] = (4,)  # stages (1-based) that get an MGD generator
    feat_normalize: str = 'none'  # feat/MGD MSE scale: 'none' | 'layernorm' | 'teacher_ms'

    def __post_init__(self) -> None:
        for name in ('logit_weight', 'feat_weight', 'mgd_weight'):
            _check_range(f'distill.{name}', getattr(self, name), 0.0)
        if self.temperature <= 0:
            raise ValueError(f'distill.temperature must be > 0, got {self.temperature}')
        _check_choice('distill.aligner', self.aligner, KNOWN_ALIGNERS)
        _check_choice('distill.feat_normalize', self.feat_normalize, KNOWN_FEAT_NORMALIZE)
        if not 0.0 < self.aligner_keep <= 1.0:
            raise ValueError(f'distill.aligner_keep must be in (0, 1], got {self.aligner_keep}')
        if not 0.0 <= self.mgd_mask_ratio < 1.0:
            raise ValueError(
                f'distill.mgd_mask_ratio must be in [0, 1), got {self.mgd_mask_ratio}'
            )
        sel = self.feat_select
        if sel not in ('max', 'min', 'mean') and not (
            sel.startswith('stage:') and sel[6:].isdigit() and int(sel[6:]) >= 1
        ):
            raise ValueError(
                f"distill.feat_select must be 'max', 'min', 'mean' or 'stage:K' (K >= 1), "
                f'got {sel!r}'
            )
        for name in ('feat_stages', 'mgd_stages'):
            for s in getattr(self, name):
                if s < 1:
                    raise ValueError(f'distill.{name}: stages are counted from 1, got {s}')


@dataclass(frozen=True)
class CrodinoConfig:
    """
    CroDiNo-KD (§4). Items marked (R) reconstruct unpublished details.

    (R) The deepest stage is split in channel halves, invariant first; the depth model reads
    ``model.depth_modality`` (HHA by default). Decoupled augmentation is set in the data section:
    ``data.decoupled=true`` and ``data.decoupled_geometry`` ('shared' or 'independent').
    """

    mixup: bool = True  # (R) mix own/other invariant parts before each decoder (shared geometry)
    seg_weight: float = 1.0  # CE of each model's own prediction
    ortho_weight: float = 1.0  # orthogonality between invariant and specific parts
    ortho_mode: str = 'cos2_pixel'  # (R) 'cos2_pixel' (per position) | 'pooled_cos' (DisCoM-KD)
    contrast_weight: float = 1.0  # cross-modal InfoNCE on the invariant parts
    contrast_temperature: float = 0.1  # (R) InfoNCE temperature tau
    proj_dim: int = 256  # (R) output width of the 2-layer projection MLP
    shared_projection: bool = False  # (R) one projection head for both modalities
    aux_weight: float = 1.0  # (R) CE of the shared auxiliary decoder, per part
    aux_channels: int = 64  # (R) hidden width of the shared auxiliary decoder
    mixup_detach_other: bool = False  # (R) no gradient into the other encoder through the mix
    mixup_lambda_min: float = 0.0  # (R) own-part weight lam ~ U(mixup_lambda_min, 1)
    invariance_weight: float = 0.0  # (R) explicit per-position distance inv_rgb <-> inv_depth
    invariance_distance: str = 'mse'  # (R) that distance: 'mse' | 'cos' (1 - cosine)
    aux_resolution: str = 'label'  # (R) aux CE: 'label' (upsampled) | 'feature' (cell fractions)
    ortho_preact: bool = False  # (R) orthogonality on the pre-activation halves (before ReLU)

    def __post_init__(self) -> None:
        for name in ('seg_weight', 'ortho_weight', 'contrast_weight', 'aux_weight',
                     'invariance_weight'):
            _check_range(f'crodino.{name}', getattr(self, name), 0.0)
        _check_range('crodino.mixup_lambda_min', self.mixup_lambda_min, 0.0, 1.0)
        _check_choice('crodino.invariance_distance', self.invariance_distance, KNOWN_INVARIANCE)
        _check_choice('crodino.aux_resolution', self.aux_resolution, KNOWN_AUX_RESOLUTION)
        if self.contrast_temperature <= 0:
            raise ValueError(
                f'crodino.contrast_temperature must be > 0, got {self.contrast_temperature}'
            )
        _check_range('crodino.proj_dim', self.proj_dim, 1)
        _check_range('crodino.aux_channels', self.aux_channels, 1)
        _check_choice('crodino.ortho_mode', self.ortho_mode, KNOWN_ORTHO)


@dataclass(frozen=True)
class TrainConfig:
    """Everything ``python -m training.train`` needs; written resolved to the run directory."""

    method: str = 'supervised'  # 'supervised' | 'primkd' | 'cmkd' | 'crodino' | 'dropout_sd'
    model: ModelConfig = field(default_factory=ModelConfig)  # the trained (student) model
    data: DataConfig = field(default_factory=DataConfig)  # training and validation data
    optim: OptimConfig = field(default_factory=OptimConfig)  # optimiser and lr schedule
    train: LoopConfig = field(default_factory=LoopConfig)  # loop length, cadence, precision
    distill: DistillConfig = field(default_factory=DistillConfig)  # primkd / cmkd settings
    crodino: CrodinoConfig = field(default_factory=CrodinoConfig)  # crodino settings

    def __post_init__(self) -> None:
        _check_choice('method', self.method, KNOWN_METHODS)
        arch = self.model.arch
        if self.method in ('primkd', 'dropout_sd') and arch != 'fusion':
            raise ValueError(f'method {self.method!r} trains a fusion student: set '
                             'model.arch=fusion')
        if self.method in ('cmkd', 'crodino') and arch != 'single':
            raise ValueError(
                f'method {self.method!r} trains single-modality models: set model.arch=single'
            )
        if self.method == 'crodino':
            if not self.data.decoupled:
                raise ValueError(
                    "method 'crodino' uses per-modality augmentation: set data.decoupled=true"
                )
            if self.data.decoupled_geometry == 'independent' and self.crodino.mixup:
                raise ValueError(
                    'crodino.mixup needs spatially aligned RGB and depth features: set '
                    "crodino.mixup=false with data.decoupled_geometry='independent'"
                )
            if self.data.decoupled_geometry == 'independent' and self.crodino.invariance_weight:
                raise ValueError(
                    'crodino.invariance_weight compares RGB and depth maps position by position '
                    "and needs data.decoupled_geometry='shared'; set crodino.invariance_weight=0"
                )


