# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Source layouts of ImageNet weight files -> timm's layout (``training/imagenet.py`` uses it).

A weight file names its tensors after the code that wrote it (torchvision's ``mobilenet_v2``,
lukemelas' EfficientNet-PyTorch); timm names the same tensors differently and groups the
blocks in stages (``blocks.S.B``). ``to_timm`` renames every tensor and checks the result against
the timm model: nothing left over, nothing missing, every shape equal.
"""

from __future__ import annotations

import torch

KNOWN_LAYOUTS = ('torchvision_mobilenet_v2', 'efficientnet_pytorch')


def _block_names(stage_sizes: tuple[int, ...]) -> list[str]:
    """``blocks.S.B`` of every block, in order."""
    return [f'blocks.{s}.{b}' for s, n in enumerate(stage_sizes) for b in range(n)]


def _rename(key: str, table: tuple[tuple[str, str], ...]) -> str | None:
    """``key`` with the first matching (source prefix, timm prefix) of ``table``; else None."""
    for src, dst in table:
        if key.startswith(src):
            return dst + key[len(src):]
    return None


_TV_FIRST = (('conv.0.0.', 'conv_dw.'), ('conv.0.1.', 'bn1.'), ('conv.1.', 'conv_pw.'),
             ('conv.2.', 'bn2.'))
_TV_BLOCK = (('conv.0.0.', 'conv_pw.'), ('conv.0.1.', 'bn1.'), ('conv.1.0.', 'conv_dw.'),
             ('conv.1.1.', 'bn2.'), ('conv.2.', 'conv_pwl.'), ('conv.3.', 'bn3.'))
_EP_DS = (('_depthwise_conv.', 'conv_dw.'), ('_bn1.', 'bn1.'), ('_project_conv.', 'conv_pw.'),
          ('_bn2.', 'bn2.'))
_EP_IR = (('_expand_conv.', 'conv_pw.'), ('_bn0.', 'bn1.'), ('_depthwise_conv.', 'conv_dw.'),
          ('_bn1.', 'bn2.'), ('_project_conv.', 'conv_pwl.'), ('_bn2.', 'bn3.'))


def _torchvision_key(key: str, blocks: list[str]) -> str | None:
    """torchvision ``mobilenet_v2`` -> timm ``mobilenetv2_100``."""
    last = len(blocks) + 1
    top = (('features.0.0.', 'conv_stem.'), ('features.0.1.', 'bn1.'),
           (f'features.{last}.0.', 'conv_head.'), (f'features.{last}.1.', 'bn2.'),
           ('classifier.1.', 'classifier.'))
    renamed = _rename(key, top)
    if renamed is not None:
        return renamed
    parts = key.split('.')
    if parts[0] != 'features' or not parts[1].isdigit() or not 1 <= int(parts[1]) <= len(blocks):
        return None
    index = int(parts[1])
    rest = _rename('.'.join(parts[2:]), _TV_FIRST if index == 1 else _TV_BLOCK)
    return None if rest is None else f'{blocks[index - 1]}.{rest}'


def _efficientnet_key(key: str, blocks: list[str], expands: set[int]) -> str | None:
    """lukemelas EfficientNet-PyTorch naming -> timm ``tf_efficientnet_liteN``."""
    top = (('_conv_stem.', 'conv_stem.'), ('_bn0.', 'bn1.'), ('_conv_head.', 'conv_head.'),
           ('_bn1.', 'bn2.'), ('_fc.', 'classifier.'))
    renamed = _rename(key, top)
    if renamed is not None:
        return renamed
    parts = key.split('.')
    if parts[0] != '_blocks' or not parts[1].isdigit() or int(parts[1]) >= len(blocks):
        return None
    index = int(parts[1])
    rest = _rename('.'.join(parts[2:]), _EP_IR if index in expands else _EP_DS)
    return None if rest is None else f'{blocks[index]}.{rest}'


def to_timm(state: dict[str, torch.Tensor], backbone: str, layout: str,
            stage_sizes: tuple[int, ...]) -> dict[str, torch.Tensor]:
    """
    Rename a source state dict to the timm layout of ``backbone`` and check it against the timm
    model: every tensor mapped, every timm tensor filled, every shape equal.

    :param layout: the source's key layout, one of ``KNOWN_LAYOUTS``.
    :param stage_sizes: blocks per timm stage (``blocks.S.B``), in source order.
    :returns: the full timm classification state dict (backbone, head conv, classifier).
    """
    import timm

    blocks = _block_names(stage_sizes)
    if layout == 'torchvision_mobilenet_v2':
        def rename(k: str) -> str | None:
            return _torchvision_key(k, blocks)
    elif layout == 'efficientnet_pytorch':
        expands = {int(k.split('.')[1]) for k in state if k.startswith('_blocks.')
                   and k.split('.')[2] == '_expand_conv'}

        def rename(k: str) -> str | None:
            return _efficientnet_key(k, blocks, expands)
    else:
        raise ValueError(f'unknown source layout {layout!r}; known: {KNOWN_LAYOUTS}')
    target = timm.create_model(backbone, pretrained=False).state_dict()
    out: dict[str, torch.Tensor] = {}
    unmapped = []
    for key, value in state.items():
        new = rename(key)
        if new is None or new not in target:
            unmapped.append(key)
            continue
        if tuple(value.shape) != tuple(target[new].shape):
            raise ValueError(f'{backbone}: source {key!r} {tuple(value.shape)} -> {new!r} '
                             f'expects {tuple(target[new].shape)}')
        out[new] = value.detach().to(target[new].dtype).contiguous()
    for key, ref in target.items():  # old files predate BatchNorm's step counter
        if key.endswith('num_batches_tracked') and key not in out:
            out[key] = torch.zeros_like(ref)
    missing = sorted(set(target) - set(out))
    if unmapped or missing:
        raise ValueError(f'{backbone}: the source layout does not match timm: '
                         f'{len(unmapped)} source tensors unmapped (e.g. {unmapped[:3]}), '
                         f'{len(missing)} timm tensors missing (e.g. {missing[:3]})')
    return out
