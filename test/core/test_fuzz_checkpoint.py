# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Fuzzing the checkpoint loader: a small real checkpoint with random bit flips (often in the
8-byte length field and the JSON header, where a flip changes meaning rather than data),
truncations and appended bytes. Every reader (``load_meta``, ``inspect_checkpoint``,
``load_checkpoint``, ``read_extra_tensors``) either succeeds or raises a ``ValueError`` that names
the file; never another exception or a hang. What ``load_checkpoint``/``read_extra_tensors`` give
back is exactly what was saved; the header-only readers may return a changed metadata, which the
integrity digest then refuses.
"""

from __future__ import annotations

from pathlib import Path
import struct
import tempfile

from fuzz_support import Property, outcome, time_bound
from hypothesis import given
from hypothesis import strategies as st
import torch

from rgbd_seg_ros.core.checkpoint import (
    inspect_checkpoint,
    load_checkpoint,
    load_meta,
    read_extra_tensors,
    save_checkpoint,
)
from rgbd_seg_ros.core.labels import LabelSet
from rgbd_seg_ros.core.models import ModelConfig, create_model

LABELS = LabelSet(name='toy', names=('floor', 'wall', 'chair'),
                  colors=((10, 20, 30), (40, 50, 60), (70, 80, 90)))
# timm's registered test network: a ~340 kB file, so each case costs milliseconds.
CFG = ModelConfig(backbone='test_efficientnet', modality='rgb', num_classes=3, embed_dim=8)


class _Original:
    """The pristine checkpoint's bytes and what loading it gives (built once per process)."""

    def __init__(self) -> None:
        torch.manual_seed(0)
        self.folder = Path(tempfile.mkdtemp(prefix='fuzz_ckpt_'))
        path = self.folder / 'original.safetensors'
        save_checkpoint(path, create_model(CFG), {'labels': LABELS, 'input_size': (32, 48)},
                        extra_tensors={'optimizer/step': torch.tensor(3)})
        self.data = path.read_bytes()
        (self.header_len,) = struct.unpack('<Q', self.data[:8])
        model, self.meta = load_checkpoint(path)
        self.state = {k: v.clone() for k, v in model.state_dict().items()}
        self.extra = read_extra_tensors(path)
        self.target = self.folder / 'case.safetensors'


_ORIGINAL: _Original | None = None


def original() -> _Original:
    global _ORIGINAL
    if _ORIGINAL is None:
        _ORIGINAL = _Original()
    return _ORIGINAL


@st.composite
def corruptions(draw: st.DrawFn) -> tuple[list[tuple[int, int]], int | None, bytes]:
    """(bit flips as (byte offset, bit), truncated length or None, appended bytes)."""
    ref = original()
    header_end = 8 + ref.header_len
    offsets = st.one_of(st.integers(0, 7), st.integers(8, header_end - 1),
                        st.integers(0, len(ref.data) - 1))
    flips = draw(st.lists(st.tuples(offsets, st.integers(0, 7)), max_size=4))
    cut = draw(st.one_of(st.none(), st.integers(0, len(ref.data) - 1),
                         st.integers(0, header_end + 16)))
    tail = draw(st.one_of(st.just(b''), st.binary(max_size=16)))
    return flips, cut, tail


def check_checkpoint(case: tuple[list[tuple[int, int]], int | None, bytes]) -> str:
    """Each reader: the saved content exactly, or a ValueError naming the file."""
    ref = original()
    flips, cut, tail = case
    data = bytearray(ref.data)
    for offset, bit in flips:
        data[offset] ^= 1 << bit
    data = (data if cut is None else data[:cut]) + tail
    ref.target.write_bytes(bytes(data))
    unchanged = bytes(data) == ref.data
    results = {}
    with time_bound(20.0):
        for reader in (load_meta, inspect_checkpoint, load_checkpoint, read_extra_tensors):
            name, value = outcome(lambda r=reader: r(ref.target))
            results[reader.__name__] = name, value
            if name != 'ok':
                assert str(ref.target) in str(value), f'error does not name the file: {value}'
                assert not unchanged, f'{reader.__name__} refused the pristine file: {value}'
    loaded, model_meta = results['load_checkpoint']
    if loaded == 'ok':  # everything it gives back is what was saved
        model, meta = model_meta
        assert meta == ref.meta
        state = model.state_dict()
        assert state.keys() == ref.state.keys()
        for key, tensor in ref.state.items():
            assert torch.equal(state[key], tensor), f'tensor {key} changed undetected'
    name, meta = results['load_meta']
    if name == 'ok' and meta != ref.meta:
        # The header-only readers (start-up checks) cannot see a flipped bit in the metadata;
        # the digest over metadata and tensors must, before any weights are used.
        assert loaded != 'ok' and results['read_extra_tensors'][0] != 'ok'
    name, extra = results['read_extra_tensors']
    if name == 'ok':
        assert extra.keys() == ref.extra.keys()
        assert all(torch.equal(extra[k], ref.extra[k]) for k in extra)
    return 'ok' if loaded == 'ok' else f'load_checkpoint {loaded}'


PROPERTIES = (Property('checkpoint_loader', corruptions(), check_checkpoint),)


@given(corruptions())
def test_fuzz_checkpoint_loader(case):
    check_checkpoint(case)
