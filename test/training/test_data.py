# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""Dataset files: make_synthetic, the folder / NYU / SUN readers, validation, torch wrapper."""

from pathlib import Path
import shutil

import cv2
import numpy as np
import pytest
import torch

from rgbd_seg_ros.core.labels import NYU40
from rgbd_seg_ros.sim import SYNTHETIC_LABELS, sample_frame
from tools.make_synthetic import main as make_synthetic_main
from tools.make_synthetic import make_synthetic
from training.data import DataConfig, create_dataset, create_eval_dataset
from training.data.cmx import NYU_INTRINSICS, nyu_reader
from training.data.folder import FolderReader, read_classes_yaml
from training.data.hha_cache import build_hha_cache, hha_of
from training.data.splits import read_split_file, split_names

SIZE = (48, 64)


@pytest.fixture(scope='module')
def synthetic_folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp('syn') / 'ds'
    make_synthetic(out, 10, SIZE, seed=3, splits=(0.6, 0.2, 0.2))
    return out


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / 'copy'
    shutil.copytree(src, dst)
    return dst


# -- make_synthetic and the generic folder format ---------------------------------------------

def test_make_synthetic_writes_the_folder_format(synthetic_folder):
    root = synthetic_folder
    names = [f'{i:06d}' for i in range(10)]
    assert read_split_file(root / 'train.txt') == names[:6]
    assert read_split_file(root / 'val.txt') == names[6:8]
    assert read_split_file(root / 'test.txt') == names[8:]
    labels = read_classes_yaml(root / 'classes.yaml')
    assert labels.names == SYNTHETIC_LABELS.names and labels.colors == SYNTHETIC_LABELS.colors
    # the files are the frame of the default world (nyu_like, with its own sensor), in the
    # documented encodings
    f = sample_frame(3, 4, SIZE[1], SIZE[0], world='nyu_like')
    rgb = cv2.imread(str(root / 'rgb' / '000004.png'), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(rgb[..., ::-1], f.rgb)
    depth = cv2.imread(str(root / 'depth' / '000004.png'), cv2.IMREAD_UNCHANGED)
    assert depth.dtype == np.uint16
    np.testing.assert_array_equal(depth, np.rint(f.depth_m * 1000).astype(np.uint16))
    lab = cv2.imread(str(root / 'labels' / '000004.png'), cv2.IMREAD_UNCHANGED)
    assert lab.dtype == np.uint8
    np.testing.assert_array_equal(lab, f.label)
    np.testing.assert_allclose(np.loadtxt(root / 'intrinsics' / '000004.txt'), f.intrinsics.K,
                               rtol=1e-8)


def test_make_synthetic_renders_nyu_like_by_default_and_honours_world(tmp_path):
    def rgb(root):
        return cv2.imread(str(root / 'rgb' / '000000.png'), cv2.IMREAD_UNCHANGED)[..., ::-1]

    make_synthetic_main(['--out', str(tmp_path / 'default'), '--num', '1', '--size', '24x32'])
    make_synthetic_main(['--out', str(tmp_path / 'df'), '--num', '1', '--size', '24x32',
                         '--world', 'depth_favoured'])
    for name, world in (('default', 'nyu_like'), ('df', 'depth_favoured')):
        f = sample_frame(0, 0, 32, 24, world=world)
        np.testing.assert_array_equal(rgb(tmp_path / name), f.rgb)
        depth = cv2.imread(str(tmp_path / name / 'depth' / '000000.png'), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(depth, np.rint(f.depth_m * 1000).astype(np.uint16))
    with pytest.raises(SystemExit):
        make_synthetic_main(['--out', str(tmp_path / 'x'), '--num', '1', '--world', 'mars'])


def test_make_synthetic_refuses_a_non_empty_folder(synthetic_folder, tmp_path):
    root = _copy(synthetic_folder, tmp_path)
    with pytest.raises(ValueError, match='not empty'):
        make_synthetic(root, 2, SIZE)
    with pytest.raises(SystemExit):
        make_synthetic_main(['--out', str(root), '--num', '2', '--size', '48x64'])
    make_synthetic_main(['--out', str(root), '--num', '2', '--size', '48x64', '--overwrite'])
    assert sorted(p.name for p in (root / 'rgb').iterdir()) == ['000000.png', '000001.png']


def test_folder_reader_sample_dict(synthetic_folder):
    reader = FolderReader(synthetic_folder, 'val')
    assert len(reader) == 2 and reader.labels.num_classes == 14
    s = reader[0]
    assert s['name'] == '000006'
    assert s['rgb'].shape == (48, 64, 3) and s['rgb'].dtype == np.uint8
    assert s['depth_m'].dtype == np.float32 and s['valid'].dtype == bool
    f = sample_frame(3, 6, SIZE[1], SIZE[0])
    np.testing.assert_allclose(s['depth_m'], f.depth_m, atol=5e-4)
    np.testing.assert_array_equal(s['valid'], f.valid)
    np.testing.assert_array_equal(s['label'], f.label)
    assert s['intrinsics'] == f.intrinsics or np.allclose(s['intrinsics'].K, f.intrinsics.K)
    reader.validate()


# -- broken datasets are refused, naming the file ---------------------------------------------

def _break_missing(root):
    (root / 'depth' / '000001.png').unlink()
    return 'depth/000001.png'


def _break_unreadable(root):
    (root / 'labels' / '000002.png').write_bytes(b'not a png')
    return 'labels/000002.png'


def _break_size(root):
    img = cv2.imread(str(root / 'rgb' / '000003.png'))
    cv2.imwrite(str(root / 'rgb' / '000003.png'), img[:40])
    return 'rgb/000003.png'


def _break_label_range(root):
    lab = cv2.imread(str(root / 'labels' / '000000.png'), cv2.IMREAD_UNCHANGED)
    lab[0, 0] = 77
    cv2.imwrite(str(root / 'labels' / '000000.png'), lab)
    return 'labels/000000.png'


def _break_empty_split(root):
    (root / 'train.txt').write_text('\n')
    return 'train.txt'


def _break_intrinsics(root):
    (root / 'intrinsics' / '000005.txt').write_text('1 2 3\n')
    return 'intrinsics/000005.txt'


@pytest.mark.parametrize('breaker', [_break_missing, _break_unreadable, _break_size,
                                     _break_label_range, _break_empty_split, _break_intrinsics])
def test_broken_folder_is_refused_before_training(synthetic_folder, tmp_path, breaker):
    root = _copy(synthetic_folder, tmp_path)
    culprit = breaker(root)
    with pytest.raises(ValueError, match=culprit.replace('.', r'\.')):
        create_dataset(DataConfig(kind='folder', root=str(root)), 'train')


def test_bad_classes_yaml_is_refused(synthetic_folder, tmp_path):
    root = _copy(synthetic_folder, tmp_path)
    (root / 'classes.yaml').write_text('classes:\n  - {id: 1, name: a, color: [1, 2, 3]}\n')
    with pytest.raises(ValueError, match='classes.yaml'):
        FolderReader(root, 'train')


# -- NYU Depth v2 / SUN RGB-D in the CMX layout -----------------------------------------------

def _nyu_layout(root: Path, n: int = 6, size=(48, 64), k: int = 40) -> dict[str, np.ndarray]:
    """A tiny NYU-like dataset: JPEG RGB, 16-bit mm depth, labels 0..k (0 = unlabeled)."""
    rng = np.random.default_rng(0)
    raw_labels = {}
    for sub in ('RGB', 'Depth', 'Label'):
        (root / sub).mkdir(parents=True)
    names = [f'{i:04d}' for i in range(1, n + 1)]
    for name in names:
        rgb = rng.integers(0, 256, size + (3,), dtype=np.uint8)
        cv2.imwrite(str(root / 'RGB' / f'{name}.jpg'), rgb)
        depth = rng.integers(500, 5000, size).astype(np.uint16)
        depth[:, :3] = 0  # invalid border
        cv2.imwrite(str(root / 'Depth' / f'{name}.png'), depth)
        lab = rng.integers(0, k + 1, size).astype(np.uint8)
        lab[0, :4] = (0, 1, k, 12)
        cv2.imwrite(str(root / 'Label' / f'{name}.png'), lab)
        raw_labels[name] = lab
    (root / 'train.txt').write_text(''.join(f'RGB/{n}.jpg Label/{n}.png\n' for n in names[:4]))
    (root / 'test.txt').write_text(''.join(f'{n}\n' for n in names[4:]))
    return raw_labels


def test_nyu_reader_maps_labels_and_uses_the_nyu_calibration(tmp_path):
    raw = _nyu_layout(tmp_path / 'nyu', size=(480 // 10, 640 // 10))
    reader = nyu_reader(tmp_path / 'nyu', 'test')
    assert reader.names == ['0005', '0006'] and reader.labels == NYU40
    s = reader[0]
    lab = s['label']
    assert tuple(lab[0, :4]) == (255, 0, 39, 11)  # 0 -> ignore, k -> k - 1
    expected = raw['0005'].astype(int)
    np.testing.assert_array_equal(lab.astype(int) + 1, np.where(expected == 0, 256, expected))
    depth = cv2.imread(str(tmp_path / 'nyu' / 'Depth' / '0005.png'), cv2.IMREAD_UNCHANGED)
    np.testing.assert_allclose(s['depth_m'], depth * 0.001, rtol=1e-6)
    assert not s['valid'][:, :3].any() and s['valid'][:, 3:].all()
    # NYU toolbox K is 1-based (MATLAB): 0-based cx, cy are 1 less, then scaled to 64x48
    assert NYU_INTRINSICS.cx == pytest.approx(325.58244941119034 - 1)
    assert NYU_INTRINSICS.cy == pytest.approx(253.73616633400465 - 1)
    k = s['intrinsics']
    assert k.fx == pytest.approx(518.85790117450188 / 10)
    assert k.cx == pytest.approx((324.58244941119034 + 0.5) / 10 - 0.5)
    assert s['rgb'].shape == (48, 64, 3)


def test_nyu_validation_holdout_and_split_files(tmp_path):
    _nyu_layout(tmp_path / 'nyu')
    train = split_names(tmp_path / 'nyu', 'train', val_holdout=0.25)
    val = split_names(tmp_path / 'nyu', 'val', val_holdout=0.25)
    assert len(val) == 1 and len(train) == 3 and not set(train) & set(val)
    assert sorted(train + val) == ['0001', '0002', '0003', '0004']
    with pytest.raises(ValueError, match='val.txt'):
        split_names(tmp_path / 'nyu', 'val', val_holdout=0.0)


def test_nyu_labels_out_of_range_and_missing_folder(tmp_path):
    _nyu_layout(tmp_path / 'nyu')
    lab = cv2.imread(str(tmp_path / 'nyu' / 'Label' / '0002.png'), cv2.IMREAD_UNCHANGED)
    lab[5, 5] = 41
    cv2.imwrite(str(tmp_path / 'nyu' / 'Label' / '0002.png'), lab)
    cfg = DataConfig(kind='nyu', root=str(tmp_path / 'nyu'), crop_size=(32, 32), val_holdout=0)
    with pytest.raises(ValueError, match=r'Label/0002\.png'):
        create_dataset(cfg, 'train')
    shutil.rmtree(tmp_path / 'nyu' / 'Depth')
    with pytest.raises(ValueError, match='Depth'):
        create_dataset(cfg, 'test')


def test_eight_bit_depth_needs_an_explicit_scale(tmp_path):
    _nyu_layout(tmp_path / 'nyu', n=2)
    cv2.imwrite(str(tmp_path / 'nyu' / 'Depth' / '0001.png'), np.full((48, 64), 100, np.uint8))
    with pytest.raises(ValueError, match=r'0001\.png.*depth_scale'):
        nyu_reader(tmp_path / 'nyu', 'train', val_holdout=0).validate()
    reader = nyu_reader(tmp_path / 'nyu', 'train', depth_scale=0.04, val_holdout=0)
    assert reader[0]['depth_m'][0, 0] == pytest.approx(4.0)


def test_sunrgbd_reader(tmp_path):
    _nyu_layout(tmp_path / 'sun', k=37)
    ds = create_dataset(DataConfig(kind='sunrgbd', root=str(tmp_path / 'sun'),
                                   val_holdout=0.0), 'test')
    assert ds.labels.num_classes == 37 and ds.name == 'sunrgbd'
    lab = ds[0]['label']
    assert lab[lab != 255].max() == 36


# -- the torch wrapper --------------------------------------------------------------------------

def test_torch_samples_follow_the_contract(synthetic_folder):
    cfg = DataConfig(kind='folder', root=str(synthetic_folder), crop_size=(32, 40))
    ds = create_dataset(cfg, 'train')
    assert len(ds) == 6 and ds.labels.num_classes == 14
    s = ds[0]
    assert s['rgb'].dtype == torch.uint8 and s['rgb'].shape == (3, 32, 40)
    assert s['depth_m'].dtype == torch.float32 and s['depth_m'].shape == (1, 32, 40)
    assert s['valid'].dtype == torch.bool and s['valid'].shape == (1, 32, 40)
    assert s['label'].dtype == torch.int64 and s['label'].shape == (32, 40)
    assert s['K'].dtype == torch.float32 and s['K'].shape == (3, 3)
    assert 'depth_label' not in s
    val = create_dataset(cfg, 'val')[0]  # not augmented: the file itself
    f = sample_frame(3, 6, SIZE[1], SIZE[0])
    np.testing.assert_array_equal(val['label'].numpy(), f.label)
    np.testing.assert_allclose(val['K'].numpy(), f.intrinsics.K, rtol=1e-6)
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=3)))
    assert batch['rgb'].shape == (3, 3, 32, 40) and len(batch['name']) == 3


def test_decoupled_dataset_has_per_modality_labels(synthetic_folder):
    cfg = DataConfig(kind='folder', root=str(synthetic_folder), crop_size=(32, 40),
                     decoupled=True, decoupled_geometry='independent')
    s = create_dataset(cfg, 'train')[1]
    assert s['depth_label'].shape == (32, 40) and s['depth_K'].shape == (3, 3)
    v = create_dataset(cfg, 'val')[0]
    assert torch.equal(v['depth_label'], v['label']) and torch.equal(v['depth_K'], v['K'])


def test_synthetic_stream_and_fixed_validation_set():
    cfg = DataConfig(size=(32, 40), crop_size=(24, 32), synthetic_val_length=3)
    train = create_dataset(cfg, 'train')
    with pytest.raises(TypeError):
        len(train)
    assert train[12345]['rgb'].shape == (3, 24, 32)
    val = create_dataset(cfg, 'val')
    assert len(val) == 3
    a, b = val[1], create_dataset(cfg, 'val')[1]
    assert torch.equal(a['rgb'], b['rgb']) and torch.equal(a['depth_m'], b['depth_m'])
    test = create_dataset(cfg, 'test')[1]
    assert not torch.equal(a['depth_m'], test['depth_m'])  # disjoint splits


def test_augmentation_is_reproducible_for_a_torch_seed(synthetic_folder):
    cfg = DataConfig(kind='folder', root=str(synthetic_folder), crop_size=(32, 40))
    torch.manual_seed(11)
    a = create_dataset(cfg, 'train')[2]
    torch.manual_seed(11)
    b = create_dataset(cfg, 'train')[2]
    torch.manual_seed(12)
    c = create_dataset(cfg, 'train')[2]
    assert torch.equal(a['rgb'], b['rgb']) and torch.equal(a['K'], b['K'])
    assert not (torch.equal(a['rgb'], c['rgb']) and torch.equal(a['K'], c['K']))


def test_hha_cache_roundtrip_and_conflicts(synthetic_folder, tmp_path):
    cache = tmp_path / 'hha'
    reader = FolderReader(synthetic_folder, 'val')
    assert build_hha_cache([reader], cache) == 2
    cfg = DataConfig(kind='folder', root=str(synthetic_folder), hha_cache=str(cache),
                     depth_noise_p=0.0, depth_holes_p=0.0)
    s = create_dataset(cfg, 'val')[0]
    np.testing.assert_array_equal(s['hha'].permute(1, 2, 0).numpy(), hha_of(reader[0]))
    with pytest.raises(ValueError, match=r'hha/000000\.png'):  # train files are not cached
        create_dataset(cfg, 'train')
    with pytest.raises(ValueError, match='hha_cache'):
        DataConfig(kind='folder', root='x', hha_cache=str(cache), depth_noise_p=0.5)
    cv2.imwrite(str(cache / 'bad.jpg'), np.zeros((4, 4, 3), np.uint8))
    from training.data.files import read_hha
    with pytest.raises(ValueError, match='JPEG'):
        read_hha(cache / 'bad.jpg')


def test_create_eval_dataset(synthetic_folder, tmp_path):
    ds = create_eval_dataset('synthetic', 'test', (32, 40), labels=SYNTHETIC_LABELS,
                             synthetic_length=2)
    assert len(ds) == 2 and ds[0]['rgb'].shape == (3, 32, 40)
    assert ds.reader.world == 'nyu_like'  # the default world
    ds = create_eval_dataset('synthetic', 'test', (32, 40), synthetic_length=1,
                             world='depth_favoured')
    assert ds.reader.world == 'depth_favoured'
    ds = create_eval_dataset(str(synthetic_folder), 'test', (32, 40), labels=SYNTHETIC_LABELS)
    assert len(ds) == 2
    with pytest.raises(ValueError, match='differ'):
        create_eval_dataset(str(synthetic_folder), 'test', (32, 40), labels=NYU40)
    _nyu_layout(tmp_path / 'nyu')
    ds = create_eval_dataset(str(tmp_path / 'nyu'), 'test', (48, 64), labels=NYU40)
    assert ds.name == 'nyu' and len(ds) == 2
    # the CMX layout's reader is chosen by the model's label-set name, not its class count
    from rgbd_seg_ros.core.labels import LabelSet

    forty_other = LabelSet('other40', tuple(f'c{i}' for i in range(40)), NYU40.colors)
    with pytest.raises(ValueError, match='nyu40'):
        create_eval_dataset(str(tmp_path / 'nyu'), 'test', (48, 64), labels=forty_other)


def test_every_data_kind_has_a_reader():
    from training.data.config import KNOWN_KINDS
    from training.data.dataset import _READERS

    assert tuple(_READERS) == KNOWN_KINDS


@pytest.mark.parametrize('bad', [dict(kind='nyu'), dict(kind='imagenet'), dict(flip_p=1.5),
                                 dict(crop_size=(0, 10)), dict(decoupled_geometry='mixed'),
                                 dict(scales=()), dict(eval_size=(10,))])
def test_data_config_rejects_bad_values(bad):
    with pytest.raises(ValueError, match='data.'):
        DataConfig(**bad)
