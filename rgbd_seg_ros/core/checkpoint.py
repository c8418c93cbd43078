# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Self-describing checkpoints: one ``NAME.safetensors`` file per model, never a pickle.

The safetensors header's ``__metadata__`` holds one key, ``rgbd_seg_ros``, whose value is a JSON
object (``CheckpointMeta.to_dict`` plus an integrity record)::

    {"format_version": 1,
     "model": {...ModelConfig...}, "modalities": ["rgb", "hha"],
     "labels": {"name": ..., "names": [...], "colors": [[r, g, b], ...], "ignore_index": 255},
     "normalization": {"mean": [...], "std": [...], "depth_max_m": 10.0, ...},
     "hha": {...}, "input_size": [480, 640],
     "provenance": {"method": ..., "dataset": ..., "metrics": {...}, "code_version": ...,
                    "git_commit": ..., "created": ...},
     "extra_tensors": ["extra/optimizer/...", ...],
     "integrity": {"algorithm": "sha256", "digest": "..."}}

The digest covers the metadata (without the integrity record) and every tensor's name, dtype,
shape and bytes, so an edited header or a flipped bit is found at load time. Tensors named
``extra/...`` (optimizer state for resuming, say) travel in the same file; ``load_checkpoint``
ignores them and ``read_extra_tensors`` returns them.

Command line: ``python -m tools.inspect_checkpoint inspect FILE`` prints the metadata;
``... verify FILE`` loads and validates everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
import datetime
import hashlib
import json
import logging
import os
from pathlib import Path
import struct
import subprocess
import tempfile
from typing import Any

import torch
from torch import nn

from rgbd_seg_ros.core.checkpoint_meta import FORMAT_VERSION, CheckpointMeta, as_meta
from rgbd_seg_ros.core.preprocess import hha_settings

logger = logging.getLogger(__name__)

METADATA_KEY = 'rgbd_seg_ros'
EXTRA_PREFIX = 'extra/'
STORAGE_DTYPES = (torch.float16, torch.bfloat16)  # smaller storage of float32 weights
_PICKLE_MAGIC = (b'PK\x03\x04', b'\x80')
_MAX_HEADER_BYTES = 100 * 1024 * 1024


def git_commit() -> str:
    """HEAD of the checkout this package runs from, or '' (not a checkout, no git)."""
    try:
        out = subprocess.run(
            ['git', 'rev-parse', 'HEAD'], cwd=Path(__file__).resolve().parent,
            capture_output=True, text=True, timeout=5, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ''
    return out.stdout.strip() if out.returncode == 0 else ''


def _default_provenance() -> dict[str, Any]:
    from rgbd_seg_ros import __version__

    return {
        'code_version': __version__,
        'git_commit': git_commit(),
        'created': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
    }


def _canonical_json(d: Any) -> bytes:
    return json.dumps(d, sort_keys=True, separators=(',', ':')).encode('utf-8')


def _digest(meta_dict: dict[str, Any], tensors: Mapping[str, torch.Tensor]) -> str:
    """sha256 over the metadata (sans integrity) and each tensor's name, dtype, shape, bytes."""
    h = hashlib.sha256()
    body = {k: v for k, v in meta_dict.items() if k != 'integrity'}
    h.update(_canonical_json(body))
    for name in sorted(tensors):
        t = tensors[name]
        h.update(_canonical_json([name, str(t.dtype), list(t.shape)]))
        data = t.detach().to('cpu').contiguous().reshape(-1)
        if data.numel():
            h.update(data.view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    meta: CheckpointMeta | Mapping[str, Any],
    extra_tensors: Mapping[str, torch.Tensor] | None = None,
    dtype: torch.dtype | None = None,
) -> Path:
    """
    Write ``model``'s weights and ``meta`` to ``path`` atomically (temp file + ``os.replace``).

    :param path: target ``.safetensors`` file; its folder must exist.
    :param model: a ``SegmentationNet`` (its ``cfg`` must equal ``meta.model``); DDP and
        ``torch.compile`` wrappers are unwrapped.
    :param meta: ``CheckpointMeta``, or a dict with ``labels`` and optionally ``input_size``,
        ``normalization``, ``hha``, ``provenance`` (``model`` defaults to ``model.cfg``).
        Missing provenance fields ``code_version``, ``git_commit``, ``created`` are filled in.
    :param extra_tensors: more tensors to store, saved as ``extra/<name>``.
    :param dtype: ``torch.float16`` stores the model's float32 tensors at half size (shipped
        bundles); ``load_checkpoint`` casts them back. ``None`` keeps every dtype.
    :returns: the written path.
    """
    from safetensors.torch import save_file

    if dtype not in (None, *STORAGE_DTYPES):
        raise ValueError(f'checkpoint storage dtype must be one of {STORAGE_DTYPES}, got {dtype}')
    path = Path(path)
    if path.suffix != '.safetensors':
        raise ValueError(f'checkpoint path must end in .safetensors, got {path}')
    # Unwrap DistributedDataParallel (.module) and torch.compile (._orig_mod).
    for attr in ('module', '_orig_mod'):
        inner = getattr(model, attr, None)
        if isinstance(inner, nn.Module) and hasattr(inner, 'cfg'):
            model = inner
    meta = as_meta(meta, model)
    provenance = {**_default_provenance(), **meta.provenance}
    meta = replace(meta, provenance=provenance)
    tensors: dict[str, torch.Tensor] = {}
    for name, t in model.state_dict().items():
        if name.startswith(EXTRA_PREFIX):
            raise ValueError(f'model tensor {name!r} uses the reserved prefix {EXTRA_PREFIX!r}')
        t = t.detach().to('cpu')
        if dtype is not None and t.dtype == torch.float32:
            t = t.to(dtype)
        tensors[name] = t.contiguous().clone()
    extra_names = []
    for name, t in (extra_tensors or {}).items():
        if not isinstance(t, torch.Tensor):
            raise ValueError(f'extra tensor {name!r} is a {type(t).__name__}, not a tensor')
        key = name if name.startswith(EXTRA_PREFIX) else EXTRA_PREFIX + name
        if key in tensors:
            raise ValueError(f'extra tensor {key!r} given twice')
        tensors[key] = t.detach().to('cpu').contiguous().clone()
        extra_names.append(key)
    meta_dict = json.loads(json.dumps(meta.to_dict()))
    meta_dict['extra_tensors'] = sorted(extra_names)
    meta_dict['integrity'] = {'algorithm': 'sha256', 'digest': _digest(meta_dict, tensors)}
    header = {METADATA_KEY: json.dumps(meta_dict), 'format': 'pt'}
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.tmp', dir=path.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=header)
        os.chmod(tmp, 0o644)  # save_file/mkstemp leave 0600: the node's user could not read it
        with open(tmp, 'rb') as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    logger.info('saved checkpoint %s (%d tensors, %d extra)', path, len(tensors),
                len(extra_names))
    return path


def _read_header(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """
    Parse and check a checkpoint's safetensors header without reading tensor data.

    :returns: (tensor entries name -> {dtype, shape, data_offsets}, our metadata dict).
    """
    if not path.is_file():
        raise ValueError(f'checkpoint {path} does not exist')
    size = path.stat().st_size
    with path.open('rb') as f:
        head = f.read(9)
        # A safetensors file is an 8-byte little-endian header length followed by '{'. Only a
        # file that is not shaped like that is reported as a pickle: the first length byte of
        # a real header can be 0x80 too.
        looks_safetensors = len(head) == 9 and head[8:9] == b'{'
        if not looks_safetensors and any(head.startswith(m) for m in _PICKLE_MAGIC):
            raise ValueError(
                f'{path} is a pickle-based PyTorch file, not a safetensors checkpoint; refusing '
                'to unpickle it'
            )
        if len(head) < 8:
            raise ValueError(f'{path} is truncated or empty ({size} bytes): no safetensors header')
        (n,) = struct.unpack('<Q', head[:8])
        f.seek(8)
        if n > min(size - 8, _MAX_HEADER_BYTES):
            raise ValueError(
                f'{path} is truncated or not a safetensors file: the header claims {n} bytes, '
                f'the file has {size - 8} after the length field'
            )
        raw = f.read(n)
    try:
        header = json.loads(raw.decode('utf-8'))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f'{path}: the safetensors header is not valid JSON (edited or '
                         f'corrupt): {exc}') from exc
    if not isinstance(header, dict):
        raise ValueError(f'{path}: the safetensors header is not a JSON object')
    metadata = header.pop('__metadata__', None) or {}
    if METADATA_KEY not in metadata:
        raise ValueError(
            f'{path} is a safetensors file without {METADATA_KEY!r} metadata: not a checkpoint '
            'written by rgbd_seg_ros.core.checkpoint.save_checkpoint'
        )
    try:
        meta_dict = json.loads(metadata[METADATA_KEY])
    except json.JSONDecodeError as exc:
        raise ValueError(
            f'{path}: the {METADATA_KEY!r} metadata is not valid JSON: {exc}'
        ) from exc
    if not isinstance(meta_dict, dict):
        raise ValueError(f'{path}: the {METADATA_KEY!r} metadata is not a JSON object')
    end = 0
    for name, entry in header.items():
        try:
            end = max(end, int(entry['data_offsets'][1]))
        except (TypeError, KeyError, IndexError, ValueError) as exc:
            raise ValueError(f'{path}: header entry for tensor {name!r} is malformed') from exc
    data_bytes = size - 8 - n
    if end > data_bytes:
        raise ValueError(
            f'{path} is truncated: tensor data should be {end} bytes, the file holds {data_bytes}'
        )
    if end < data_bytes:
        raise ValueError(f'{path} has {data_bytes - end} unexpected trailing bytes')
    version = meta_dict.get('format_version')
    if not isinstance(version, int):
        raise ValueError(f'{path}: metadata has no integer "format_version"')
    if version > FORMAT_VERSION:
        raise ValueError(
            f'{path} has checkpoint format version {version}, newer than this rgbd_seg_ros '
            f'supports ({FORMAT_VERSION}); update rgbd_seg_ros'
        )
    if version < 1:
        raise ValueError(f'{path}: unsupported checkpoint format version {version}')
    return header, meta_dict


def _parse_meta(path: Path, meta_dict: dict[str, Any]) -> CheckpointMeta:
    body = {k: v for k, v in meta_dict.items() if k not in ('integrity', 'extra_tensors')}
    try:
        return CheckpointMeta.from_dict(body)
    except (TypeError, ValueError) as exc:
        raise ValueError(f'{path}: invalid metadata: {exc}') from exc


def _load_tensors(path: Path, meta_dict: dict[str, Any]) -> dict[str, torch.Tensor]:
    """All tensors of a checked header, verified against the integrity digest."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ValueError(f'{path}: cannot read tensors: {exc}') from exc
    integrity = meta_dict.get('integrity')
    if not isinstance(integrity, dict) or integrity.get('algorithm') != 'sha256':
        raise ValueError(f'{path}: metadata has no sha256 integrity record')
    if _digest(meta_dict, tensors) != integrity.get('digest'):
        raise ValueError(
            f'{path}: content hash mismatch: tensor data or metadata changed after the file '
            'was written (corrupt or tampered checkpoint)'
        )
    return tensors


def load_meta(path: str | os.PathLike) -> CheckpointMeta:
    """Validated metadata of a checkpoint, without reading the tensors (fast start-up checks)."""
    path = Path(path)
    _, meta_dict = _read_header(path)
    return _parse_meta(path, meta_dict)


def load_checkpoint(
    path: str | os.PathLike, device: str | torch.device = 'cpu'
) -> tuple[nn.Module, CheckpointMeta]:
    """
    Rebuild the model of a checkpoint and load its weights; validates everything.

    :param path: a file written by ``save_checkpoint``.
    :param device: where the model goes.
    :returns: (model in eval mode, metadata). ``extra/`` tensors are ignored.
    :raises ValueError: missing, truncated, tampered or incompatible file, with the reason.
    """
    from rgbd_seg_ros.core.models import create_model

    path = Path(path)
    header, meta_dict = _read_header(path)
    meta = _parse_meta(path, meta_dict)
    try:
        model = create_model(replace(meta.model, pretrained='', pretrained_depth=''))
    except ValueError as exc:
        raise ValueError(f'{path}: cannot build the model: {exc}') from exc
    expected = model.state_dict()
    stored = {k: v for k, v in header.items() if not k.startswith(EXTRA_PREFIX)}
    missing = sorted(set(expected) - set(stored))
    unexpected = sorted(set(stored) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f'{path}: tensors do not match the model {meta.model.backbone}/{meta.model.arch}: '
            f'{len(missing)} missing (e.g. {missing[:3]}), {len(unexpected)} unexpected '
            f'(e.g. {unexpected[:3]})'
        )
    for name, ref in expected.items():
        shape = tuple(stored[name].get('shape', ()))
        if shape != tuple(ref.shape):
            raise ValueError(
                f'{path}: tensor {name!r} has shape {shape}, the model expects {tuple(ref.shape)}'
            )
    tensors = _load_tensors(path, meta_dict)
    state = {k: v for k, v in tensors.items() if not k.startswith(EXTRA_PREFIX)}
    for name, ref in expected.items():
        stored_dtype = state[name].dtype
        if ref.dtype == torch.float32 and stored_dtype in STORAGE_DTYPES:
            state[name] = state[name].to(torch.float32)  # a half-size bundle
        elif stored_dtype != ref.dtype:
            raise ValueError(
                f'{path}: tensor {name!r} has dtype {stored_dtype}, expected {ref.dtype}'
            )
    model.load_state_dict(state, strict=True)
    model.normalization = meta.normalization
    if any(m == 'hha' for m in meta.modalities) and meta.hha != hha_settings():
        logger.warning('%s was written with HHA settings %s; this code computes %s', path,
                       meta.hha, hha_settings())
    return model.to(device).eval(), meta


def read_extra_tensors(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """
    The ``extra/`` tensors of a checkpoint (integrity-checked), names without the prefix.

    :returns: e.g. ``{'optimizer/state/0/exp_avg': tensor, ...}`` on the CPU.
    """
    path = Path(path)
    _, meta_dict = _read_header(path)
    tensors = _load_tensors(path, meta_dict)
    return {k[len(EXTRA_PREFIX):]: v for k, v in tensors.items() if k.startswith(EXTRA_PREFIX)}


def inspect_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """
    Metadata and a summary of a checkpoint, reading only its header.

    :returns: ``{'path', 'file_bytes', 'num_tensors', 'num_parameters', 'extra_tensors',
        'metadata'}``.
    """
    path = Path(path)
    header, meta_dict = _read_header(path)
    _parse_meta(path, meta_dict)
    numel = 0
    extra = []
    for name, entry in header.items():
        if name.startswith(EXTRA_PREFIX):
            extra.append(name)
            continue
        n = 1
        for d in entry.get('shape', []):
            n *= int(d)
        numel += n
    return {
        'path': str(path),
        'file_bytes': path.stat().st_size,
        'num_tensors': len(header) - len(extra),
        'num_parameters': numel,
        'extra_tensors': sorted(extra),
        'metadata': meta_dict,
    }
