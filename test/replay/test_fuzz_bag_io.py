# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Fuzzing the bag reader: small mcap and sqlite3 recordings, truncated, bit-flipped and with
bytes appended, read the way replay reads them (open, topic table, records, raw records, then
every message through the Image/CameraInfo conversions). Each case ends in messages, a counted
skip, a ``BagError`` naming the bag, or a conversion's ``ValueError``; never another exception
or a hang.
"""

from __future__ import annotations

from pathlib import Path
import shutil
import tempfile

from fuzz_support import Property, outcome, time_bound
from hypothesis import given
from hypothesis import strategies as st
import numpy as np

from rgbd_seg_ros.core.camera import CameraIntrinsics
from rgbd_seg_ros.replay.bag_io import BagError, BagSource, BagTopics
from rgbd_seg_ros.replay.bag_writer import RgbdBagWriter
from rgbd_seg_ros.ros import conversions as conv

TOPICS = BagTopics().as_dict()
K = CameraIntrinsics(60.0, 61.0, 15.5, 11.5, 32, 24)
T0 = 1_700_000_000_000_000_000
_READERS = {'rgb': conv.image_to_rgb, 'depth': conv.image_to_depth_m,
            'ground_truth': conv.image_to_labels, 'camera_info': conv.camera_info_to_intrinsics}


class _Bags:
    """One pristine 3-frame bag per storage (written once per process)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix='fuzz_bags_'))
        self.files: dict[str, tuple[Path, bytes]] = {}
        rng = np.random.default_rng(3)
        for storage in ('mcap', 'sqlite3'):
            with RgbdBagWriter(self.root / storage, storage=storage) as writer:
                for i in range(3):
                    writer.write_frame(T0 + i * 33_000_000,
                                       rng.integers(0, 256, (24, 32, 3), dtype=np.uint8),
                                       rng.integers(0, 5000, (24, 32), dtype=np.uint16), K,
                                       rng.integers(0, 14, (24, 32), dtype=np.uint8))
            (storage_file,) = [p for p in (self.root / storage).iterdir()
                               if p.suffix in ('.mcap', '.db3')]
            self.files[storage] = storage_file, storage_file.read_bytes()
        self.case = self.root / 'case'


_BAGS: _Bags | None = None


def bags() -> _Bags:
    global _BAGS
    if _BAGS is None:
        _BAGS = _Bags()
    return _BAGS


@st.composite
def damaged_bags(draw: st.DrawFn) -> tuple[str, list[tuple[int, int]], int | None, bytes, bool]:
    """(storage, bit flips, truncated length or None, appended bytes, keep metadata.yaml)."""
    storage = draw(st.sampled_from(['mcap', 'sqlite3']))
    size = len(bags().files[storage][1])
    offsets = st.one_of(st.integers(0, 64), st.integers(0, size - 1),
                        st.integers(max(0, size - 256), size - 1))
    flips = draw(st.lists(st.tuples(offsets, st.integers(0, 7)), max_size=6))
    cut = draw(st.one_of(st.none(), st.none(), st.integers(0, size - 1)))
    tail = draw(st.one_of(st.just(b''), st.just(b''), st.binary(max_size=64)))
    return storage, flips, cut, tail, draw(st.booleans())


def _read_everything(path: Path) -> dict[str, int]:
    counts = {'records': 0, 'converted': 0, 'refused': 0, 'raw': 0}
    with BagSource(path) as bag:
        bag.topics()
        found = bag.check_topics(TOPICS, required=())
        for rec in bag.records(found):
            counts['records'] += 1
            name, _ = outcome(lambda r=rec: _READERS[r.role](r.msg))
            counts['converted' if name == 'ok' else 'refused'] += 1
        for _ in bag.raw_records(found):
            counts['raw'] += 1
        counts['skipped'] = sum(bag.skipped.values())
    return counts


def check_bag(case: tuple[str, list[tuple[int, int]], int | None, bytes, bool]) -> str:
    """Damage one storage file, read it like replay does; BagError or data, nothing else."""
    storage, flips, cut, tail, keep_metadata = case
    ref = bags()
    source, pristine = ref.files[storage]
    shutil.rmtree(ref.case, ignore_errors=True)
    shutil.copytree(source.parent, ref.case)
    data = bytearray(pristine)
    for offset, bit in flips:
        data[offset] ^= 1 << bit
    data = (data if cut is None else data[:cut]) + tail
    (ref.case / source.name).write_bytes(bytes(data))
    if not keep_metadata:
        (ref.case / 'metadata.yaml').unlink()
    with time_bound(20.0):
        name, value = outcome(lambda: _read_everything(ref.case), (BagError,))
    if name != 'ok':
        assert str(ref.case) in str(value), f'error does not name the bag: {value}'
        assert bytes(data) != pristine or not keep_metadata, f'pristine bag refused: {value}'
        return name
    if bytes(data) == pristine:
        assert value == {'records': 12, 'converted': 12, 'refused': 0, 'raw': 12,
                         'skipped': 0}, value
    if value['refused'] or value['skipped']:
        return 'ok, undecodable messages skipped or refused'
    return 'ok'


PROPERTIES = (Property('bag_reader', damaged_bags(), check_bag),)


@given(damaged_bags())
def test_fuzz_bag_reader(case):
    check_bag(case)
