# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
r"""
Convert the official NYU Depth v2 labeled file into the folder that ``data.kind: nyu`` reads.

    python -m training.prepare_nyu --mat nyu_depth_v2_labeled.mat --out data/nyu \
        [--splits FILE] [--hha] [--overwrite]

Reads ``nyu_depth_v2_labeled.mat`` (MATLAB v7.3 = HDF5) with h5py and writes the layout of
``training/data/nyu.py``: RGB PNG, filled and raw depth as uint16 millimetres, 40-class labels
(0 = unlabeled), per-image intrinsics, ``train.txt`` / ``test.txt`` and, with ``--hha``, the
lossless HHA cache of the filled depth. The file's ``names`` must equal the shipped 894 -> 40
mapping (``training/data/nyu_meta/``), else nothing is written. Frames are named by their
1-based number in the file (``0001`` ...); ``--splits`` takes a JSON
``{"train": [...], "test": [...]}`` of such numbers (default: the official 795 / 654 split,
which needs all 1449 frames).

An existing ``--out`` is refused unless it is empty, an earlier (possibly interrupted)
conversion of the same file, or ``--overwrite`` is given. Outputs that are up to date (same
source file, same converter version, file present) are skipped, so a second run resumes or only
adds ``--hha``. Exit status 0 done, 2 bad input (the message names the file and what is wrong).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
import json
import logging
import os
from pathlib import Path
import sys
from typing import Any

import numpy as np
from tqdm import tqdm

from rgbd_seg_ros.core.labels import NYU40
from training.data import nyu
from training.data.cmx import NYU_INTRINSICS
from training.data.files import write_depth_mm, write_hha, write_intrinsics, write_label, write_rgb

logger = logging.getLogger(__name__)

# datasets of the labeled file and their shape in h5py (MATLAB's column-major, transposed)
_DATASETS = {
    'images': '(N, 3, 640, 480) uint8',
    'depths': '(N, 640, 480) float32 metres',
    'rawDepths': '(N, 640, 480) float32 metres',
    'labels': '(N, 640, 480) uint16',
    'names': '(894,) object references to char arrays',
}
_OFFICIAL_NOTE = ('the official nyu_depth_v2_labeled.mat is a 2.8 GB MATLAB v7.3 (HDF5) file; '
                  'download it again if it is shorter')


@dataclass(frozen=True)
class ConvertResult:
    """What ``convert`` did."""

    out: Path  # the dataset folder
    num_frames: int  # frames in the source file
    written: int  # frames converted by this run
    skipped: int  # frames already up to date
    hha_written: int  # HHA images computed by this run
    splits: dict[str, int]  # split name -> number of frames


class LabeledFile:
    """
    The official labeled file, opened read-only and checked against its documented layout.

    Use as a context manager. ``frame(i)`` returns one frame in image orientation.
    """

    def __init__(self, path: str | Path) -> None:
        import h5py

        self.path = Path(path)
        if not self.path.is_file():
            raise ValueError(f'missing file: {self.path}')
        try:
            # a generous chunk cache: frames are read one by one from chunked datasets
            self._file = h5py.File(self.path, 'r', rdcc_nbytes=256 * 1024 ** 2)
        except OSError as exc:
            raise ValueError(
                f'{self.path}: not a readable HDF5 file ({exc}); {_OFFICIAL_NOTE}, and files '
                'saved before MATLAB v7.3 are not HDF5') from exc
        try:
            self._check_layout(h5py)
        except BaseException:
            self._file.close()
            raise

    def _check_layout(self, h5py: Any) -> None:
        f = self._file
        missing = [k for k in _DATASETS if not isinstance(f.get(k), h5py.Dataset)]
        if missing:
            want = '; '.join(f'{k} {_DATASETS[k]}' for k in missing)
            raise ValueError(f'{self.path}: not the NYU Depth v2 labeled file: missing '
                             f'dataset(s) {want} (found: {sorted(f.keys())[:12]})')
        images = f['images']
        if images.ndim != 4 or images.shape[1] != 3 or images.dtype != np.uint8:
            raise ValueError(f'{self.path}: images is {images.shape} {images.dtype}, expected '
                             f'{_DATASETS["images"]}')
        n, _, width, height = images.shape
        if (height, width) != nyu.FRAME_SIZE:
            raise ValueError(f'{self.path}: frames are {width}x{height}, the NYU Depth v2 '
                             f'labeled file has {nyu.FRAME_SIZE[1]}x{nyu.FRAME_SIZE[0]}')
        for key, kind in (('depths', 'f'), ('rawDepths', 'f'), ('labels', 'u')):
            ds = f[key]
            if ds.shape != (n, width, height) or ds.dtype.kind != kind:
                raise ValueError(f'{self.path}: {key} is {ds.shape} {ds.dtype}, expected '
                                 f'{_DATASETS[key].replace("N", str(n))}')
        if f['names'].dtype != h5py.ref_dtype:
            raise ValueError(f'{self.path}: names is {f["names"].dtype}, expected '
                             f'{_DATASETS["names"]}')
        self.num_frames = int(n)

    def __enter__(self) -> LabeledFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HDF5 file."""
        self._file.close()

    def names(self) -> list[str]:
        """The ``names`` cell array (MATLAB char arrays of uint16 codes) as strings."""
        f = self._file
        out = []
        for i, ref in enumerate(f['names'][()].ravel()):
            try:
                codes = np.asarray(f[ref][()]).ravel()
            except (OSError, KeyError, ValueError) as exc:
                raise ValueError(f'{self.path}: cannot read names[{i + 1}] ({exc}); '
                                 f'{_OFFICIAL_NOTE}') from exc
            out.append(''.join(chr(int(c)) for c in codes if int(c) != 0))
        return out

    def frame(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """
        Frame ``index`` (0-based) as (rgb uint8 ``[480, 640, 3]``, filled depth_m float32
        ``[480, 640]``, raw depth_m float32 ``[480, 640]``, labels uint16 ``[480, 640]``).
        """
        arrays = []
        for key in ('images', 'depths', 'rawDepths', 'labels'):
            try:
                a = self._file[key][index]
            except (OSError, KeyError, ValueError) as exc:
                raise ValueError(f'{self.path}: cannot read {key} of frame {index + 1} '
                                 f'({exc}); {_OFFICIAL_NOTE}') from exc
            arrays.append(np.ascontiguousarray(a.transpose(2, 1, 0) if a.ndim == 3 else a.T))
        rgb, depth, raw, labels = arrays
        return rgb, depth, raw, labels


def check_names(names: Sequence[str], path: Path) -> None:
    """Refuse a file whose ``names`` differ from the shipped mapping (first difference named)."""
    shipped, _ = nyu.class_mapping()
    if len(names) != len(shipped):
        raise ValueError(f'{path}: names has {len(names)} entries, the shipped 894 -> 40 mapping '
                         f'{len(shipped)}; not the NYU Depth v2 labeled file')
    for i, (a, b) in enumerate(zip(names, shipped)):
        if a != b:
            raise ValueError(
                f'{path}: names[{i + 1}] is {a!r} but the shipped 894 -> 40 mapping has {b!r} '
                'there (1-based); the label ids of this file would map to the wrong classes')


def load_splits(path: str | Path | None, num_frames: int) -> dict[str, list[int]]:
    """
    Split name -> 1-based frame numbers, from ``path`` (JSON) or the official split.

    Keys ``train`` and ``test`` are required, ``val`` is optional; numbers must lie in
    1..``num_frames`` and no frame may be in two splits.
    """
    if path is None:
        if num_frames != nyu.NUM_FRAMES:
            raise ValueError(f'the file has {num_frames} frames but the official split numbers '
                             f'{nyu.NUM_FRAMES}; pass --splits FILE with a split of this file '
                             '(JSON {"train": [...], "test": [...]}, 1-based frame numbers)')
        doc: Any = nyu.official_splits()
        where = 'the official split'
    else:
        where = str(path)
        try:
            doc = json.loads(Path(path).read_text(encoding='utf-8'))
        except FileNotFoundError as exc:
            raise ValueError(f'missing file: {path}') from exc
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f'{path}: not readable JSON: {exc}') from exc
    if not isinstance(doc, dict) or not {'train', 'test'} <= set(doc):
        raise ValueError(f'{where}: expected a JSON object with "train" and "test" lists')
    unknown = set(doc) - {'train', 'val', 'test'}
    if unknown:
        raise ValueError(f'{where}: unknown keys {sorted(unknown)} (train, val, test)')
    seen: dict[int, str] = {}
    for key, values in doc.items():
        if (not isinstance(values, list) or not values
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in values)):
            raise ValueError(f'{where}: "{key}" must be a non-empty list of frame numbers')
        for v in values:
            if not 1 <= v <= num_frames:
                raise ValueError(f'{where}: "{key}" lists frame {v}, outside 1..{num_frames} '
                                 '(frames are numbered from 1 in file order)')
            if v in seen:
                raise ValueError(f'{where}: frame {v} is listed in "{seen[v]}" and in "{key}"'
                                 if seen[v] != key else f'{where}: "{key}" lists frame {v} twice')
            seen[v] = key
    return {k: list(doc[k]) for k in ('train', 'val', 'test') if k in doc}


def frame_name(number: int, num_frames: int) -> str:
    """File name stem of 1-based frame ``number``: zero padded to at least 4 digits."""
    return f'{number:0{max(4, len(str(num_frames)))}d}'


def _source_identity(path: Path) -> dict[str, Any]:
    st = path.stat()
    return {'file': path.name, 'size': st.st_size, 'mtime_ns': st.st_mtime_ns}


def _prior_manifest(out: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads((out / nyu.MANIFEST).read_text(encoding='utf-8'))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _atomic(path: Path, write: Callable[..., None], *args: Any) -> None:
    """``write(tmp, *args)`` to a file beside ``path``, then rename: no half-written files."""
    tmp = path.with_name(f'.{path.stem}.part{path.suffix}')
    write(tmp, *args)
    os.replace(tmp, path)


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding='utf-8')


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    _atomic(path, _write_text, json.dumps(doc, indent=1) + '\n')


def _frame_paths(out: Path, name: str) -> dict[str, Path]:
    return {'rgb': out / 'RGB' / f'{name}.png', 'filled': out / 'Depth' / f'{name}.png',
            'raw': out / 'DepthRaw' / f'{name}.png', 'label': out / 'Label' / f'{name}.png',
            'intrinsics': out / 'intrinsics' / f'{name}.txt'}


def convert(mat: str | Path, out: str | Path, splits: str | Path | None = None,
            hha: bool = False, overwrite: bool = False, progress: bool = True) -> ConvertResult:
    """
    Convert ``mat`` into ``out`` (see the module docstring); returns what was done.

    Every check of the input (layout, ``names``, splits) and of ``out`` happens before the first
    file is written. Raises ``ValueError`` naming the file and the problem.
    """
    mat, out = Path(mat), Path(out)
    _, lut = nyu.class_mapping()
    if tuple(nyu.classes40()) != NYU40.names:  # the shipped table and core/labels.py agree
        raise ValueError('nyu_meta/classes40.txt differs from core/labels.py NYU40')
    with LabeledFile(mat) as src:
        check_names(src.names(), mat)
        n = src.num_frames
        split_frames = load_splits(splits, n)
        source = _source_identity(mat)
        if out.exists() and not out.is_dir():
            raise ValueError(f'--out {out} exists and is not a folder')
        prior = _prior_manifest(out)
        same = (prior is not None and prior.get('format') == nyu.FORMAT
                and prior.get('version') == nyu.FORMAT_VERSION and prior.get('source') == source)
        if out.is_dir() and any(out.iterdir()) and not same and not overwrite:
            what = ('holds a conversion of another file, or of this one before it changed '
                    f'(recorded {prior.get("source")}, now {source})'
                    if prior is not None and prior.get('format') == nyu.FORMAT
                    else f'is not a conversion of {mat.name}')
            raise ValueError(f'--out {out} is not empty and {what}; pass --overwrite to write '
                             'into it (outputs are rewritten, other files are left), or choose '
                             'an empty folder')
        for sub in ('RGB', 'Depth', 'DepthRaw', 'Label', 'intrinsics'):
            (out / sub).mkdir(parents=True, exist_ok=True)
        manifest: dict[str, Any] = {
            'format': nyu.FORMAT, 'version': nyu.FORMAT_VERSION, 'complete': False,
            'source': source, 'num_frames': n, 'frame_names': 'NNNN = 1-based frame number',
            'depth_scale_m': nyu.DEPTH_SCALE_M,
            'depth': {'filled': 'Depth (depths, in-painted)',
                      'raw': 'DepthRaw (rawDepths, 0 = missing)'},
            'labels': 'Label: 0 = unlabeled, 1..40 = classes (Gupta et al. 2013 mapping)',
            'classes': list(NYU40.names),
            'splits': {k: len(v) for k, v in split_frames.items()},
            'split_source': 'official (Silberman et al. 2012)' if splits is None else str(splits),
            'hha': prior.get('hha') if same else None,
            'hha_depth': 'filled',
        }
        _write_json(out / nyu.MANIFEST, manifest)
        names = [frame_name(i + 1, n) for i in range(n)]
        written, fresh = 0, set()
        bar = tqdm(names, desc=f'converting {mat.name}', unit='frame', disable=not progress)
        for i, name in enumerate(bar):
            paths = _frame_paths(out, name)
            if same and all(p.is_file() for p in paths.values()):
                continue
            rgb, filled, raw, labels = src.frame(i)
            top = int(labels.max(initial=0))
            if top >= len(lut):
                raise ValueError(f'{mat}: frame {i + 1} has label {top}, above the '
                                 f'{len(lut) - 1} names of the file')
            _atomic(paths['rgb'], write_rgb, rgb)
            _atomic(paths['filled'], write_depth_mm, filled)
            _atomic(paths['raw'], write_depth_mm, raw)
            _atomic(paths['label'], write_label, lut[labels])
            _atomic(paths['intrinsics'], write_intrinsics, NYU_INTRINSICS)
            written += 1
            fresh.add(name)
    for key in ('train', 'val', 'test'):
        path = out / f'{key}.txt'
        if key in split_frames:
            _atomic(path, _write_text, ''.join(f'{frame_name(v, n)}\n' for v in split_frames[key]))
        elif path.is_file():  # a split of an earlier run that this one does not have
            path.unlink()
    manifest['complete'] = True
    if manifest['hha'] and fresh:
        manifest['hha'] = None  # frames changed since that cache was made
    _write_json(out / nyu.MANIFEST, manifest)
    hha_written = 0
    if hha:
        hha_written = _write_hha(out, names, fresh, same, progress)
        manifest['hha'] = 'HHA'
        _write_json(out / nyu.MANIFEST, manifest)
    elif (out / 'HHA').is_dir() and not manifest['hha']:
        logger.warning('%s: HHA/ is not up to date with this conversion; rerun with --hha or '
                       'delete it', out)
    logger.info('%s: %d frames written, %d up to date, %d HHA images', out, written,
                n - written, hha_written)
    return ConvertResult(out, n, written, n - written, hha_written,
                         {k: len(v) for k, v in split_frames.items()})


def _write_hha(out: Path, names: list[str], fresh: set[str], same: bool, progress: bool) -> int:
    """HHA/NAME.png of the filled depth for every frame not up to date; returns the count."""
    from training.data.hha_cache import hha_of

    (out / 'HHA').mkdir(exist_ok=True)
    reader = nyu.NYUReader(out, 'train', val_holdout=0.0)  # load() reads any frame by name
    written = 0
    for name in tqdm(names, desc='HHA', unit='frame', disable=not progress):
        path = out / 'HHA' / f'{name}.png'
        if same and name not in fresh and path.is_file():
            continue
        _atomic(path, write_hha, hha_of(reader.load(name)))
        written += 1
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog='python -m training.prepare_nyu',
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('--mat', required=True, help='nyu_depth_v2_labeled.mat (2.8 GB)')
    parser.add_argument('--out', required=True, help='dataset folder to write (data.root)')
    parser.add_argument('--splits', metavar='FILE',
                        help='JSON {"train": [...], "test": [...]} of 1-based frame numbers '
                             '(default: the official 795 / 654 split)')
    parser.add_argument('--hha', action='store_true',
                        help='also write the lossless HHA cache of the filled depth (HHA/)')
    parser.add_argument('--overwrite', action='store_true',
                        help='write into a non-empty folder that is not a conversion of --mat')
    parser.add_argument('--quiet', action='store_true', help='no progress bar')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    try:
        result = convert(args.mat, args.out, args.splits, args.hha, args.overwrite,
                         progress=not args.quiet)
    except ValueError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    splits = ', '.join(f'{k} {v}' for k, v in result.splits.items())
    print(f'{result.out}: {result.num_frames} frames ({result.written} written, '
          f'{result.skipped} up to date), splits {splits}, {result.hha_written} HHA images')
    return 0


if __name__ == '__main__':
    sys.exit(main())
