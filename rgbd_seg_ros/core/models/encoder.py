# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Encoders over timm backbones (``features_only``).

An ``Encoder`` returns the deepest ``num_stages`` feature levels of a timm backbone as NCHW
tensors; channels and reductions come from timm's ``feature_info``. Backbones whose features are
channel-last (NHWC, e.g. MambaOut) are permuted to NCHW.

Dual-stream fusion needs to run two backbones in lockstep and replace each stage's output before
the next stage runs. ``Encoder.forward_stage`` does that for the two feature-extractor layouts
timm uses for the supported families: ``FeatureDictNet``/``FeatureListNet`` (ResNet, ConvNeXt,
PVTv2, RegNet, ...), where the modules run in registration order, and the EfficientNet/MobileNetV3
feature classes (stem, then ``blocks``). Other layouts work in single-stream models only.

Pretrained weights come only from a local ``.safetensors`` file in timm's key layout (as in the
timm releases on the model hub, downloaded beforehand); the hub itself is never contacted and
pickle files are refused.
"""

from __future__ import annotations

import difflib
import logging
from pathlib import Path

import timm
from timm.models import adapt_input_conv
from timm.models._features import FeatureDictNet
import torch
from torch import nn

logger = logging.getLogger(__name__)

# Backbones the project tests (any timm backbone with features_only may work).
TESTED_BACKBONES = (
    'resnet18', 'resnet34', 'resnet50', 'convnext_atto', 'mobilenetv3_large_100',
    'efficientnet_b0', 'pvt_v2_b0', 'pvt_v2_b2',
)

_PICKLE_MAGIC = (b'PK\x03\x04', b'\x80')  # torch zip archive, raw pickle protocol >= 2


def check_backbone_name(name: str) -> None:
    """Raise ``ValueError`` with close matches when timm has no model called ``name``."""
    if timm.is_model(name):
        return
    close = difflib.get_close_matches(name, timm.list_models(), n=5, cutoff=0.6)
    hint = f' Did you mean one of {close}?' if close else ''
    raise ValueError(
        f'unknown timm backbone {name!r}.{hint} Tested backbones: {TESTED_BACKBONES}; '
        'see timm.list_models() for all.'
    )


def read_safetensors_weights(path: str) -> dict[str, torch.Tensor]:
    """
    Read a local ``.safetensors`` state dict; refuse pickle files and anything remote.

    :param path: local file path.
    :returns: tensor name -> CPU tensor.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    p = Path(path)
    if path == 'imagenet':
        raise ValueError(
            "pretrained 'imagenet' is resolved by the training module (python -m training.train "
            'converts the registry file once; python -m training.import_weights BACKBONE --out '
            'FILE writes it): create_model needs the converted .safetensors path'
        )
    if not p.is_file():
        raise ValueError(
            f'pretrained weights {path!r} not found: ModelConfig.pretrained must be a local '
            '.safetensors file (the model hub is never used)'
        )
    with p.open('rb') as f:
        head = f.read(9)
    # safetensors: an 8-byte little-endian header length, then '{'; the first length byte can
    # be 0x80 like a pickle's, so only a file not shaped like safetensors counts as a pickle
    looks_safetensors = len(head) == 9 and head[8:9] == b'{'
    if not looks_safetensors and any(head.startswith(m) for m in _PICKLE_MAGIC):
        raise ValueError(
            f'{path} is a pickle-based PyTorch file; refusing to unpickle it. Convert it once, '
            'in a trusted environment, with safetensors.torch.save_file(state_dict, ...)'
        )
    try:
        return load_file(str(p))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ValueError(f'{path} is not a readable safetensors file: {exc}') from exc


def _source_key(target_key: str, source: dict[str, torch.Tensor]) -> str | None:
    """Key in a classification checkpoint for ``target_key`` of a timm feature extractor."""
    if target_key in source:
        return target_key
    # FeatureDictNet(flatten_sequential=True) renames 'stages.0' to 'stages_0'.
    top, _, rest = target_key.partition('.')
    for i, ch in enumerate(top):
        if ch == '_':
            candidate = f'{top[:i]}.{top[i + 1:]}.{rest}' if rest else f'{top[:i]}.{top[i + 1:]}'
            if candidate in source:
                return candidate
    return None


def _load_backbone_weights(backbone: nn.Module, path: str, in_chans: int) -> None:
    """Copy weights from a timm-layout safetensors file into a features_only backbone."""
    source = read_safetensors_weights(path)
    first_conv = backbone.pretrained_cfg.get('first_conv') or ''
    first_convs = (first_conv,) if isinstance(first_conv, str) else tuple(first_conv)
    target = backbone.state_dict()
    loaded: dict[str, torch.Tensor] = {}
    missing = []
    used = set()
    for key, ref in target.items():
        src_key = _source_key(key, source)
        if src_key is None:
            if key.endswith('num_batches_tracked'):
                continue
            missing.append(key)
            continue
        value = source[src_key]
        used.add(src_key)
        if value.shape != ref.shape:
            # a classification file names it 'stem.0', a features_only export 'stem_0'
            is_first = any(src_key in (f'{c}.weight', f'{c.replace(".", "_", 1)}.weight')
                           for c in first_convs if c)
            if is_first and value.ndim == 4 and value.shape[0] == ref.shape[0]:
                value = adapt_input_conv(in_chans, value.float(), base_chans=value.shape[1])
            else:
                raise ValueError(
                    f'{path}: tensor {src_key!r} has shape {tuple(value.shape)}, the backbone '
                    f'expects {tuple(ref.shape)}; is the file for another backbone?'
                )
        loaded[key] = value.to(ref.dtype)
    if missing:
        raise ValueError(
            f'{path}: {len(missing)} backbone tensors missing (e.g. {missing[:5]}); the file must '
            'hold a timm state dict of the same model'
        )
    backbone.load_state_dict(loaded, strict=False)
    ignored = len(source) - len(used)
    logger.info('loaded %d backbone tensors from %s (%d head tensors ignored)',
                len(loaded), path, ignored)


def _stage_plan(backbone: nn.Module) -> tuple[list[list[str]], bool]:
    """
    Split a timm feature extractor into module paths per feature tap.

    :returns: (one list of submodule paths per feature level, NHWC flag); an empty list when the
        layout is not splittable.
    """
    if isinstance(backbone, FeatureDictNet):
        nhwc = str(getattr(backbone, 'output_fmt', 'NCHW')).endswith('NHWC')
        if backbone.concat:
            return [], nhwc
        plan, current = [], []
        for name in backbone.keys():
            current.append(name)
            if name in backbone.return_layers:
                plan.append(current)
                current = []
        return plan, nhwc
    stage_out = getattr(backbone, '_stage_out_idx', None)
    blocks = getattr(backbone, 'blocks', None)
    if stage_out is not None and isinstance(blocks, nn.Sequential) and (
        getattr(backbone, 'feature_hooks', None) is None
    ):
        # EfficientNetFeatures / MobileNetV3Features: stem modules, then blocks; a tap after
        # block i when stage i + 1 is an output stage (stage 0 = stem output).
        stem = []
        for name, _ in backbone.named_children():
            if name == 'blocks':
                break
            stem.append(name)
        plan, current = [], list(stem)
        if 0 in stage_out:
            plan.append(current)
            current = []
        for i in range(len(blocks)):
            current.append(f'blocks.{i}')
            if i + 1 in stage_out:
                plan.append(current)
                current = []
        return plan, False
    return [], False


class Encoder(nn.Module):
    """
    The deepest ``num_stages`` feature levels of a timm backbone, NCHW.

    ``forward(x [B, in_chans, H, W]) -> [B, C_i, H / r_i, W / r_i]`` for each used level i, with
    ``channels`` C_i and ``reductions`` r_i from timm's ``feature_info``.
    """

    def __init__(
        self, backbone: str, in_chans: int = 3, pretrained: str = '', num_stages: int = 4
    ) -> None:
        super().__init__()
        check_backbone_name(backbone)
        try:
            self.backbone = timm.create_model(
                backbone, features_only=True, pretrained=False, in_chans=in_chans
            )
        except (RuntimeError, TypeError, AssertionError) as exc:
            raise ValueError(
                f'timm backbone {backbone!r} cannot be built as a feature extractor '
                f'(features_only=True, in_chans={in_chans}): {exc}'
            ) from exc
        if pretrained:
            _load_backbone_weights(self.backbone, pretrained, in_chans)
        info = self.backbone.feature_info
        all_channels = list(info.channels())
        all_reductions = list(info.reduction())
        if num_stages > len(all_channels):
            raise ValueError(
                f'backbone {backbone!r} has {len(all_channels)} feature levels, '
                f'num_stages={num_stages} asked for more'
            )
        self.name = backbone
        self.in_chans = in_chans
        self.levels = tuple(range(len(all_channels) - num_stages, len(all_channels)))
        self.channels = tuple(all_channels[i] for i in self.levels)
        self.reductions = tuple(all_reductions[i] for i in self.levels)
        plan, self.nhwc = _stage_plan(self.backbone)
        if not plan and str(getattr(self.backbone, 'output_fmt', 'NCHW')).endswith('NHWC'):
            self.nhwc = True
        if plan and len(plan) != len(all_channels):
            plan = []
        # Merge the plan so that stage i ends at used level i (stage 0 includes the stem and
        # any unused shallow levels).
        self._stages: list[list[str]] = []
        if plan:
            first = [p for level in plan[: self.levels[0] + 1] for p in level]
            self._stages = [first] + [plan[i] for i in self.levels[1:]]
        # Plain lists (not registered again): the modules stay owned by self.backbone.
        self._stage_modules = [
            [self.backbone.get_submodule(p) for p in stage] for stage in self._stages
        ]

    @property
    def supports_stages(self) -> bool:
        """Whether ``forward_stage`` works (needed for dual-stream fusion)."""
        return bool(self._stages)

    @property
    def num_stages(self) -> int:
        """Number of feature levels returned."""
        return len(self.channels)

    @property
    def max_reduction(self) -> int:
        """Largest stride; inputs are padded to a multiple of it."""
        return max(self.reductions)

    def _to_nchw(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, 3, 1, 2) if self.nhwc else x

    def _to_native(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, 2, 3, 1) if self.nhwc else x

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``[B, in_chans, H, W]`` -> list of NCHW features, shallow to deep."""
        features = self.backbone(x)
        return [self._to_nchw(features[i]) for i in self.levels]

    def forward_stage(self, index: int, x: torch.Tensor) -> torch.Tensor:
        """
        Run stage ``index`` alone.

        :param index: 0..num_stages-1; stage 0 takes the image and includes the stem.
        :param x: NCHW input: the image for stage 0, else the (possibly rectified) output of
            stage ``index - 1``.
        :returns: NCHW output of stage ``index``.
        """
        if not self._stages:
            raise ValueError(
                f'backbone {self.name!r} cannot be run stage by stage (its timm feature '
                'extractor is neither FeatureListNet nor EfficientNet-style); use it in a '
                'single-stream model'
            )
        if index > 0:
            x = self._to_native(x)
        for module in self._stage_modules[index]:
            x = module(x)
        if not isinstance(x, torch.Tensor):
            raise ValueError(f'backbone {self.name!r}: stage {index} returns {type(x).__name__}')
        return self._to_nchw(x)
