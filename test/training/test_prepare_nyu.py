# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
``training.prepare_nyu`` on a small file in the official HDF5 layout, checked bit for bit, and
the converted folder through the user's commands (``training.train``, ``training.evaluate``).

The fixture follows the documented layout of ``nyu_depth_v2_labeled.mat`` (MATLAB v7.3):
512-byte MATLAB user block, transposed column-major shapes ``images (N, 3, 640, 480)`` uint8,
``depths`` / ``rawDepths (N, 640, 480)`` float32 metres, ``labels (N, 640, 480)`` uint16 and
``names`` as a ``(1, 894)`` cell of object references to uint16 char arrays.
"""

import csv
import json
import os
from pathlib import Path
import shutil

import cv2
import h5py
import numpy as np
import pytest
from tiny_models import save_tiny_checkpoint

from rgbd_seg_ros.core.labels import NYU40
from rgbd_seg_ros.sim import SYNTHETIC_LABELS
from training import evaluate, prepare_nyu, train

REPO = Path(__file__).resolve().parents[2]
META = REPO / 'training' / 'data' / 'nyu_meta'
H, W = 480, 640
N = 5
SPLIT = {'train': [1, 3, 4, 5], 'test': [2]}

# Tiny model and training settings laid over the unchanged NYU configs.
TINY = [
    'model.backbone=test_convnext', 'model.decoder=light', 'model.embed_dim=16',
    'model.ffm_head_dim=8', "model.pretrained=''", 'model.decoder_dropout=0.0',
    'data.crop_size=(64, 80)', 'data.scales=(0.125, 0.25)', 'train.batch_size=2',
    'train.num_workers=0', 'train.val_batch_size=1', 'train.log_every=1', 'train.amp=off',
    'train.device=cpu', 'train.sync_bn=False', 'train.eval_every=0', 'train.checkpoint_every=0',
    'optim.warmup_iters=1', 'train.max_iters=2',
]


def _names894() -> list[str]:
    with open(META / 'class_mapping_894_to_40.tsv', newline='') as f:
        return [row['nyu_name'] for row in csv.DictReader(f, delimiter='\t')]


def _mapping() -> np.ndarray:
    lut = np.zeros(895, np.uint8)
    with open(META / 'class_mapping_894_to_40.tsv', newline='') as f:
        for row in csv.DictReader(f, delimiter='\t'):
            lut[int(row['nyu_label'])] = int(row['class40'])
    return lut


def _frames(n: int = N, seed: int = 0) -> dict[str, np.ndarray]:
    """Known content in image orientation: rgb [n, H, W, 3], depths in mm, labels 0..894."""
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (n, H, W, 3), dtype=np.uint8)
    filled_mm = rng.integers(500, 9000, (n, H, W)).astype(np.uint16)
    raw_mm = filled_mm.copy()
    raw_mm[rng.random((n, H, W)) < 0.2] = 0  # missing sensor depth
    labels = rng.integers(0, 895, (n, H, W)).astype(np.uint16)
    labels[:, :20, :] = 0  # unlabeled border
    return {'rgb': rgb, 'filled_mm': filled_mm, 'raw_mm': raw_mm, 'labels': labels}


def write_labeled_mat(path: Path, frames: dict[str, np.ndarray], names: list[str] | None = None,
                      skip: tuple[str, ...] = ()) -> Path:
    """A MATLAB v7.3 file in the layout of nyu_depth_v2_labeled.mat holding ``frames``."""
    names = _names894() if names is None else names
    with h5py.File(path, 'w', userblock_size=512) as f:
        data = {
            'images': frames['rgb'].transpose(0, 3, 2, 1),  # MATLAB [H, W, 3, N] seen by h5py
            'depths': (frames['filled_mm'] / 1000.0).astype(np.float32).transpose(0, 2, 1),
            'rawDepths': (frames['raw_mm'] / 1000.0).astype(np.float32).transpose(0, 2, 1),
            'labels': frames['labels'].transpose(0, 2, 1),
        }
        for key, value in data.items():
            if key not in skip:
                f.create_dataset(key, data=np.ascontiguousarray(value), chunks=True)
        if 'names' not in skip:
            refs = f.create_group('#refs#')
            handles = []
            for i, name in enumerate(names):
                ds = refs.create_dataset(f'n{i}', data=np.array([[ord(c)] for c in name],
                                                                np.uint16))
                ds.attrs['MATLAB_class'] = np.bytes_('char')
                handles.append(ds.ref)
            cell = f.create_dataset('names', (1, len(names)), dtype=h5py.ref_dtype)
            cell[0, :] = handles
            cell.attrs['MATLAB_class'] = np.bytes_('cell')
    with open(path, 'r+b') as f:
        f.write(b'MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: test HDF5 schema 1.00 .')
    return path


@pytest.fixture(scope='module')
def nyu_mat(tmp_path_factory) -> tuple[Path, dict[str, np.ndarray], Path]:
    """(the .mat, its frames, a splits JSON) shared by the tests of this module."""
    tmp = tmp_path_factory.mktemp('nyu_mat')
    frames = _frames()
    mat = write_labeled_mat(tmp / 'nyu_depth_v2_labeled.mat', frames)
    splits = tmp / 'splits.json'
    splits.write_text(json.dumps(SPLIT))
    return mat, frames, splits


@pytest.fixture(scope='module')
def converted(nyu_mat, tmp_path_factory) -> Path:
    """The converted folder (with HHA), made once through the command line."""
    mat, _, splits = nyu_mat
    out = tmp_path_factory.mktemp('converted') / 'nyu'
    assert prepare_nyu.main(['--mat', str(mat), '--out', str(out), '--splits', str(splits),
                             '--hha', '--quiet']) == 0
    return out


def _png(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert img is not None, path
    return img


# -- the shipped tables -------------------------------------------------------------------------

def test_shipped_tables_match_the_facts():
    names = _names894()
    assert len(names) == 894 and len(set(names)) == 894
    lut = _mapping()
    # a few rows by hand (class_mapping_894_to_40.tsv): book -> otherprop, cabinet, ceiling
    assert (lut[0], lut[1], lut[3], lut[4], lut[7]) == (0, 40, 3, 22, 12)
    assert lut[1:].min() == 1 and lut[1:].max() == 40
    assert tuple((META / 'classes40.txt').read_text().split('\n')[:40]) == NYU40.names
    split = json.loads((META / 'splits.json').read_text())
    assert len(split['train']) == 795 and len(split['test']) == 654
    assert sorted(split['train'] + split['test']) == list(range(1, 1450))
    official = prepare_nyu.load_splits(None, 1449)  # the default of --splits
    assert official == {'train': split['train'], 'test': split['test']}
    shared = REPO.parent / 'shared' / 'nyu'
    if shared.is_dir():  # the copy in the package equals the team's fact sheet
        for name in ('class_mapping_894_to_40.tsv', 'classes40.txt', 'splits.json'):
            assert (META / name).read_bytes() == (shared / name).read_bytes(), name


# -- the converter, bit for bit -----------------------------------------------------------------

def test_converter_output_bit_for_bit(nyu_mat, converted):
    _, frames, _ = nyu_mat
    lut = _mapping()
    for i in range(N):
        name = f'{i + 1:04d}'
        rgb = _png(converted / 'RGB' / f'{name}.png')
        assert rgb.dtype == np.uint8 and rgb.shape == (H, W, 3)
        np.testing.assert_array_equal(rgb[..., ::-1], frames['rgb'][i])  # PNG is BGR
        filled = _png(converted / 'Depth' / f'{name}.png')
        raw = _png(converted / 'DepthRaw' / f'{name}.png')
        assert filled.dtype == np.uint16 and raw.dtype == np.uint16
        np.testing.assert_array_equal(filled, frames['filled_mm'][i])
        np.testing.assert_array_equal(raw, frames['raw_mm'][i])
        label = _png(converted / 'Label' / f'{name}.png')
        assert label.dtype == np.uint8
        np.testing.assert_array_equal(label, lut[frames['labels'][i]])
        k = np.loadtxt(converted / 'intrinsics' / f'{name}.txt')
        # NYU toolbox (1-based) fx, fy, cx, cy -> 0-based cx - 1, cy - 1
        np.testing.assert_allclose(k, [[518.8579, 0, 324.5824], [0, 519.4696, 252.7362],
                                       [0, 0, 1]], atol=1e-4)
    assert (converted / 'train.txt').read_text().split() == ['0001', '0003', '0004', '0005']
    assert (converted / 'test.txt').read_text().split() == ['0002']
    manifest = json.loads((converted / 'nyu_manifest.json').read_text())
    assert manifest['complete'] and manifest['num_frames'] == N and manifest['hha'] == 'HHA'
    assert manifest['splits'] == {'train': 4, 'test': 1}


def test_split_files_are_checked_before_anything_is_written(tmp_path):
    frames = {k: v[:2] for k, v in _frames(2).items()}
    mat = write_labeled_mat(tmp_path / 'two.mat', frames)
    out, split = tmp_path / 'out', tmp_path / 's.json'
    for doc, message in (({'train': [1], 'test': [1]}, 'frame 1 is listed in "train" and in '
                                                       '"test"'),
                         ({'train': [1], 'test': []}, '"test" must be a non-empty list'),
                         ({'train': [1, 1], 'test': [2]}, '"train" lists frame 1 twice'),
                         ({'train': [1], 'test': [3]}, r'frame 3, outside 1\.\.2'),
                         ({'train': [1], 'test': [2], 'extra': [2]}, 'unknown keys'),
                         ({'train': [1]}, '"train" and "test"')):
        split.write_text(json.dumps(doc))
        with pytest.raises(ValueError, match=message):
            prepare_nyu.convert(mat, out, split, progress=False)
        assert not out.exists()


def test_orientation_of_a_single_marked_pixel(tmp_path):
    # one marked pixel at row 7, column 600, set by hand in MATLAB's transposed h5py layout
    frames = {'rgb': np.zeros((2, H, W, 3), np.uint8),
              'filled_mm': np.full((2, H, W), 1000, np.uint16),
              'raw_mm': np.zeros((2, H, W), np.uint16), 'labels': np.zeros((2, H, W), np.uint16)}
    mat = write_labeled_mat(tmp_path / 'two.mat', frames)
    with h5py.File(mat, 'r+') as f:
        f['images'][0, :, 600, 7] = (10, 20, 30)
        f['depths'][0, 600, 7] = np.float32(2.3456)  # rounds to 2346 mm
        f['rawDepths'][0, 600, 7] = np.float32(0.0004)  # below 0.5 mm: 0 = missing
        f['labels'][0, 600, 7] = 4  # ceiling -> 22
    (tmp_path / 's.json').write_text('{"train": [1], "test": [2]}')
    out = tmp_path / 'out'
    prepare_nyu.convert(mat, out, tmp_path / 's.json', progress=False)
    rgb = _png(out / 'RGB' / '0001.png')[..., ::-1]
    assert tuple(rgb[7, 600]) == (10, 20, 30) and int(rgb.sum()) == 60
    depth = _png(out / 'Depth' / '0001.png')
    assert depth[7, 600] == 2346 and (depth == 1000).sum() == H * W - 1
    assert _png(out / 'DepthRaw' / '0001.png').max() == 0
    label = _png(out / 'Label' / '0001.png')
    assert label[7, 600] == 22 and int(label.sum()) == 22


def test_hha_cache_equals_hha_of_the_converted_depth(converted):
    from training.data.hha_cache import hha_of
    from training.data.nyu import NYUReader

    reader = NYUReader(converted, 'test')
    sample = reader[0]
    cached = _png(converted / 'HHA' / '0002.png')[..., ::-1]  # PNG planes are B, G, R
    np.testing.assert_array_equal(cached, hha_of(sample))
    assert cached.std() > 0


def test_reader_maps_labels_and_chooses_the_depth(nyu_mat, converted):
    from training.data import DataConfig, create_dataset

    _, frames, _ = nyu_mat
    lut = _mapping()
    expected = lut[frames['labels'][1]].astype(np.int64)
    expected = np.where(expected == 0, 255, expected - 1)  # 0 unlabeled -> ignore, k -> k - 1
    for depth, key in (('filled', 'filled_mm'), ('raw', 'raw_mm')):
        cfg = DataConfig(kind='nyu', root=str(converted), nyu_depth=depth)
        s = create_dataset(cfg, 'test')[0]
        assert s['name'] == '0002'
        np.testing.assert_array_equal(s['label'].numpy(), expected)
        mm = frames[key][1]
        np.testing.assert_allclose(s['depth_m'][0].numpy(), mm * 0.001, rtol=1e-6)
        np.testing.assert_array_equal(s['valid'][0].numpy(), mm > 0)
        assert s['K'][0, 0] == pytest.approx(518.8579, abs=1e-3)
    # the NYU configs' hold-out: val is one of the four train frames, train the other three
    cfg = DataConfig(kind='nyu', root=str(converted), augment=False)
    train_names = create_dataset(cfg, 'train').reader.names
    val_names = create_dataset(cfg, 'val').reader.names
    assert sorted(train_names + val_names) == ['0001', '0003', '0004', '0005']
    assert len(val_names) == 1
    with pytest.raises(ValueError, match='nyu_depth'):
        DataConfig(kind='folder', root='x', nyu_depth='raw')
    with pytest.raises(ValueError, match='hha_cache.*filled'):
        create_dataset(DataConfig(kind='nyu', root=str(converted), nyu_depth='raw',
                                  hha_cache=str(converted / 'HHA'), depth_noise_p=0.0,
                                  depth_holes_p=0.0), 'test')
    with pytest.raises(ValueError, match='depth_scale=0.04.*0.001'):
        create_dataset(DataConfig(kind='nyu', root=str(converted), depth_scale=0.04), 'test')


def test_rerun_skips_up_to_date_outputs_and_refuses_foreign_folders(nyu_mat, tmp_path, capsys):
    mat, frames, splits = nyu_mat
    out = tmp_path / 'nyu'
    first = prepare_nyu.convert(mat, out, splits, progress=False)
    assert (first.written, first.skipped, first.hha_written) == (N, 0, 0)
    stamp = (out / 'RGB' / '0003.png').stat().st_mtime_ns
    (out / 'Label' / '0004.png').unlink()
    again = prepare_nyu.convert(mat, out, splits, hha=True, progress=False)  # resume, add HHA
    assert (again.written, again.skipped, again.hha_written) == (1, N - 1, N)
    assert (out / 'RGB' / '0003.png').stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(_png(out / 'Label' / '0004.png'),
                                  _mapping()[frames['labels'][3]])
    assert prepare_nyu.convert(mat, out, splits, hha=True, progress=False).hha_written == 0
    # an interrupted run leaves an incomplete manifest: readers refuse, a rerun completes it
    manifest = json.loads((out / 'nyu_manifest.json').read_text())
    (out / 'nyu_manifest.json').write_text(json.dumps({**manifest, 'complete': False}))
    from training.data.nyu import NYUReader
    with pytest.raises(ValueError, match='did not finish'):
        NYUReader(out, 'train')
    assert prepare_nyu.convert(mat, out, splits, hha=True, progress=False).written == 0
    assert NYUReader(out, 'test').names == ['0002']
    # a folder with other content is refused without --overwrite, and left as it was
    foreign = tmp_path / 'foreign'
    foreign.mkdir()
    (foreign / 'keep.txt').write_text('mine')
    rc = prepare_nyu.main(['--mat', str(mat), '--out', str(foreign), '--splits', str(splits),
                           '--quiet'])
    assert rc == 2 and sorted(p.name for p in foreign.iterdir()) == ['keep.txt']
    assert prepare_nyu.main(['--mat', str(mat), '--out', str(foreign), '--splits', str(splits),
                             '--quiet', '--overwrite']) == 0
    assert (foreign / 'keep.txt').read_text() == 'mine' and (foreign / 'RGB' / '0005.png').exists()
    # another source file (same name, other content) is not "up to date": refused, then rewritten
    other = tmp_path / 'other' / 'nyu_depth_v2_labeled.mat'
    other.parent.mkdir()
    write_labeled_mat(other, _frames(seed=1))
    assert prepare_nyu.main(['--mat', str(other), '--out', str(out), '--splits', str(splits),
                             '--quiet']) == 2
    assert 'holds a conversion of another file' in capsys.readouterr().err
    redo = prepare_nyu.convert(other, out, splits, overwrite=True, progress=False)
    assert redo.written == N
    np.testing.assert_array_equal(_png(out / 'Depth' / '0001.png'),
                                  _frames(seed=1)['filled_mm'][0])
    assert json.loads((out / 'nyu_manifest.json').read_text())['hha'] is None  # stale cache


def test_bad_files_get_clear_errors_and_nothing_is_written(nyu_mat, tmp_path, capsys):
    mat, frames, splits = nyu_mat
    out = tmp_path / 'out'

    def fails(path, *extra):
        rc = prepare_nyu.main(['--mat', str(path), '--out', str(out), '--quiet', *extra])
        assert rc == 2 and not out.exists()
        return capsys.readouterr().err

    assert 'missing file' in fails(tmp_path / 'nope.mat', '--splits', str(splits))
    err = fails(mat)  # 5 frames with the default (official) split
    assert '1449' in err and '--splits' in err
    names = _names894()
    names[7] = 'dish washer'
    renamed = write_labeled_mat(tmp_path / 'renamed.mat', frames, names=names)
    err = fails(renamed, '--splits', str(splits))
    assert "names[8] is 'dish washer'" in err and "'dishwasher'" in err
    short = write_labeled_mat(tmp_path / 'short.mat', frames, names=names[:10])
    assert 'names has 10 entries' in fails(short, '--splits', str(splits))
    foreign = write_labeled_mat(tmp_path / 'foreign.mat', frames, skip=('rawDepths', 'labels'))
    err = fails(foreign, '--splits', str(splits))
    assert 'missing dataset(s) rawDepths' in err and 'labels (N, 640, 480) uint16' in err
    data = mat.read_bytes()
    truncated = tmp_path / 'truncated.mat'
    truncated.write_bytes(data[:len(data) // 2])
    err = fails(truncated, '--splits', str(splits))
    assert str(truncated) in err and 'truncated' in err and '2.8 GB' in err
    v5 = tmp_path / 'v5.mat'
    v5.write_bytes(b'MATLAB 5.0 MAT-file' + bytes(200))
    assert 'not a readable HDF5 file' in fails(v5, '--splits', str(splits))
    bad = tmp_path / 'bad.json'
    bad.write_text('{"train": [0], "test": [2]}')
    assert 'frame 0, outside 1..5' in fails(mat, '--splits', str(bad))
    assert 'missing file' in fails(mat, '--splits', str(tmp_path / 'none.json'))


def test_a_frame_that_cannot_be_read_is_named(nyu_mat, tmp_path):
    mat, frames, splits = nyu_mat
    broken = write_labeled_mat(tmp_path / 'labels.mat', frames)
    with h5py.File(broken, 'r+') as f:
        f['labels'][3, 0, 0] = 900  # beyond the 894 names
    with pytest.raises(ValueError, match='frame 4 has label 900'):
        prepare_nyu.convert(broken, tmp_path / 'out', splits, progress=False)
    assert not json.loads((tmp_path / 'out' / 'nyu_manifest.json').read_text())['complete']


# -- the dataset path, end to end, through the user's commands ----------------------------------

def _argv(config: str, data: Path, out: Path, *extra: str) -> list[str]:
    argv = ['--config', str(REPO / 'training' / 'configs' / config), '--out', str(out),
            '--set', f'data.root={data}']
    for item in TINY + list(extra):
        argv += ['--set', item]
    return argv


def test_train_two_steps_and_evaluate_the_converted_folder(nyu_mat, converted, tmp_path,
                                                          capsys):
    _, frames, _ = nyu_mat
    run = tmp_path / 'run'
    assert train.main(_argv('nyu_rgbd.yaml', converted, run)) == 0
    ckpt = run / 'model.safetensors'
    assert ckpt.is_file()
    lines = (run / 'metrics.csv').read_text().splitlines()
    assert any(line.startswith('2,train,') for line in lines)
    report = tmp_path / 'eval.json'
    rc = evaluate.main(['--checkpoint', str(ckpt), '--data', str(converted), '--split', 'test',
                        '--device', 'cpu', '--num-workers', '0', '--quiet', '--json',
                        str(report)])
    assert rc == 0, capsys.readouterr().err
    scores = json.loads(report.read_text())
    assert scores['num_images'] == 1 and scores['modalities'] == ['rgb', 'hha']
    assert list(scores['per_class_iou']) == list(NYU40.names)
    # every labelled pixel of frame 2 at full resolution, and nothing else, was scored
    assert scores['num_pixels'] == int((frames['labels'][1] > 0).sum())
    assert scores['depth_missing']['num_pixels'] == scores['num_pixels']
    cm = np.asarray(scores['confusion'])
    expected_rows = np.bincount(_mapping()[frames['labels'][1]].ravel(), minlength=41)[1:]
    np.testing.assert_array_equal(cm.sum(axis=1), expected_rows)


# -- bad input on this path ---------------------------------------------------------------------

def _checkpoint(path: Path, labels) -> Path:
    return save_tiny_checkpoint(path, labels=labels, backbone='test_convnext', embed_dim=16,
                                arch='single', provenance={})


@pytest.fixture
def broken_copy(converted, tmp_path) -> Path:
    """A copy of the converted folder without label files (reading any split would fail)."""
    copy = tmp_path / 'nyu'
    shutil.copytree(converted, copy)
    for path in (copy / 'Label').iterdir():
        path.unlink()
    return copy


def test_class_mismatch_is_refused_before_any_work(broken_copy, tmp_path, capsys):
    ckpt = _checkpoint(tmp_path / 'synthetic.safetensors', SYNTHETIC_LABELS)
    rc = evaluate.main(['--checkpoint', str(ckpt), '--data', str(broken_copy), '--device',
                        'cpu', '--quiet'])
    err = capsys.readouterr().err
    assert rc == 2 and '14 classes (synthetic14' in err and 'has 40 (nyu40' in err
    assert 'missing file' not in err  # refused before a file was read
    rc = train.main(_argv('nyu_rgb.yaml', broken_copy, tmp_path / 'run',
                          'model.num_classes=14'))
    err = capsys.readouterr().err
    assert rc == 2 and 'model.num_classes is 14 but the data has 40' in err
    assert 'missing file' not in err
    # a CMX-layout folder holds 40 or 37 classes: a 14-class model is refused as well
    cmx = tmp_path / 'cmx'
    for sub in ('RGB', 'Depth', 'Label'):
        (cmx / sub).mkdir(parents=True)
    (cmx / 'test.txt').write_text('0001\n')
    rc = evaluate.main(['--checkpoint', str(ckpt), '--data', str(cmx), '--device', 'cpu'])
    err = capsys.readouterr().err
    assert rc == 2 and 'has 14 classes' in err and '40 classes' in err and '37' in err


def test_missing_files_are_named(converted, broken_copy, tmp_path, capsys):
    ckpt = _checkpoint(tmp_path / 'nyu.safetensors', NYU40)
    rc = evaluate.main(['--checkpoint', str(ckpt), '--data', str(broken_copy), '--device',
                        'cpu', '--quiet'])
    assert rc == 2 and f'missing file: {broken_copy}/Label/0002.png' in capsys.readouterr().err
    rc = train.main(_argv('nyu_rgb.yaml', broken_copy, tmp_path / 'run'))
    err = capsys.readouterr().err
    assert rc == 2 and 'missing file' in err and f'{broken_copy}/Label/' in err
    for name in ('0001', '0003', '0004', '0005'):
        shutil.copy(converted / 'Label' / f'{name}.png', broken_copy / 'Label')
    os.remove(broken_copy / 'intrinsics' / '0004.txt')
    rc = train.main(_argv('nyu_rgb.yaml', broken_copy, tmp_path / 'run'))
    err = capsys.readouterr().err
    assert rc == 2 and f'missing file: {broken_copy}/intrinsics/0004.txt' in err
    (broken_copy / 'nyu_manifest.json').unlink()
    (broken_copy / 'Depth').rename(broken_copy / 'depth_moved')
    rc = train.main(_argv('nyu_rgb.yaml', broken_copy, tmp_path / 'run2'))
    assert rc == 2 and 'missing folder Depth/' in capsys.readouterr().err


def test_eight_bit_depth_is_refused_unless_its_scale_is_given(converted, tmp_path, capsys):
    ckpt = _checkpoint(tmp_path / 'nyu.safetensors', NYU40)
    cmx = tmp_path / 'cmx'  # a CMX-layout copy whose depth is an 8-bit normalised image
    for sub in ('RGB', 'Label', 'intrinsics'):
        shutil.copytree(converted / sub, cmx / sub)
    (cmx / 'Depth').mkdir()
    for name in ('0001', '0002', '0003', '0004', '0005'):
        mm = _png(converted / 'Depth' / f'{name}.png')
        cv2.imwrite(str(cmx / 'Depth' / f'{name}.png'), (mm // 40).astype(np.uint8))
    for split in ('train', 'test'):
        shutil.copy(converted / f'{split}.txt', cmx / f'{split}.txt')
    argv = ['--checkpoint', str(ckpt), '--data', str(cmx), '--device', 'cpu', '--quiet',
            '--num-workers', '0']
    assert evaluate.main(argv) == 2
    err = capsys.readouterr().err
    assert 'Depth/0002.png' in err and '8-bit depth' in err and '--depth-scale' in err
    assert evaluate.main(argv + ['--depth-scale', '0.04']) == 0
    assert train.main(_argv('nyu_rgb.yaml', cmx, tmp_path / 'run')) == 2
    assert 'data.depth_scale' in capsys.readouterr().err
    assert train.main(_argv('nyu_rgb.yaml', cmx, tmp_path / 'run', 'data.depth_scale=0.04',
                            'train.max_iters=1')) == 0
