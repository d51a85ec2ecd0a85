"""CRD's CIFAR model zoo as mmpretrain backbones
(mmkd_ccd/models/backbones/cifar.py) and its checkpoint converter
(tools/convert/cifar_teacher_to_mmpretrain.py): parameter counts, shapes,
key layout, strict lossless conversion and error reporting."""
from __future__ import annotations

import argparse
import re
from functools import lru_cache
from pathlib import Path
from typing import Dict, Tuple

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS

from mmkd_ccd.models.backbones import (CIFAR_ARCHS, VGGCIFAR,
                                       WideResNetCIFAR, cifar_classifier_cfg)
from tests.utils import load_tool

ROOT = Path(__file__).resolve().parents[3]
TOOL = ROOT / 'tools' / 'convert' / 'cifar_teacher_to_mmpretrain.py'


tool = load_tool(str(TOOL))

NUM_CLASSES = 100


@pytest.fixture(autouse=True, scope='module')
def single_thread():
    """These networks are tiny at 32x32: one intra-op thread is fastest, and
    several spin for ages when other jobs share the CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

ARCHS = [name for name in CIFAR_ARCHS if name != 'mobile_half']


def _classifier(arch: str, num_classes: int = NUM_CLASSES) -> nn.Module:
    """The classifier built the way a user's config spells it out."""
    spec = CIFAR_ARCHS[arch]
    model = MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(spec.backbone),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(
                type='LinearClsHead',
                num_classes=num_classes,
                in_channels=spec.in_channels)))
    model.eval()
    return model


@lru_cache(maxsize=None)
def _param_count(arch: str) -> int:
    return sum(p.numel() for p in _classifier(arch).parameters())


# ---------------------------------------------------------------------------
# parameter counts
# ---------------------------------------------------------------------------
# Full 100-class classifiers as published with CRD's code (RepDistiller,
# repeated by mdistiller and HSAKD); each is also reproduced by the closed
# forms below, so these are tested for exact equality.
PUBLISHED_EXACT: Dict[str, int] = {
    'wrn_40_2': 2_255_156,
    'wrn_16_2': 703_284,
    'wrn_40_1': 569_780,
    'resnet56': 861_620,
    'resnet20': 278_324,
    'resnet32x4': 7_433_860,
    'resnet8x4': 1_233_540,
    'vgg13': 9_462_180,
    'vgg8': 3_965_028,
}
# Only quoted rounded to 10k parameters (in millions); tested to 0.5%.
PUBLISHED_ROUNDED: Dict[str, float] = {
    'resnet110': 1.73e6,
    'MobileNetV2': 0.81e6,
    'ShuffleV1': 0.95e6,
    'ShuffleV2': 1.36e6,
}
# Exact totals of CRD's mobilenetv2.py / ShuffleNetv1.py / ShuffleNetv2.py
# counted by hand, layer by layer (100 classes):
# MobileNetV2 (mobile_half): stem 464 + stages 608, 4_296, 11_688, 50_464,
#   80_928, 207_168, 121_760 + conv2 207_360 + fc 128_100 = 812_836
#   (quotes of "812,692" circulate; 144 fewer, matching no layer split of
#   this network).
# ShuffleV1: stem 120 + stages 38_898, 297_300, 516_840 + fc 96_100
#   = 949_258.
# ShuffleV2: stem 120 + stages 30_192, 244_180, 501_352 + conv2 477_184
#   + fc 102_500 = 1_355_528 (quoted "~1.36M").
HAND_COUNTED: Dict[str, int] = {
    'MobileNetV2': 812_836,
    'ShuffleV1': 949_258,
    'ShuffleV2': 1_355_528,
}


def _bn(channels: int) -> int:
    return 2 * channels


def _linear(in_channels: int, out_channels: int = NUM_CLASSES) -> int:
    return in_channels * out_channels + out_channels


def _closed_form_wrn(depth: int, width: int) -> int:
    n = (depth - 4) // 6
    channels = [16, 16 * width, 32 * width, 64 * width]

    def block(cin: int, cout: int) -> int:
        projection = cin * cout if cin != cout else 0
        return _bn(cin) + 9 * cin * cout + _bn(cout) + 9 * cout * cout + (
            projection)

    total = 9 * 3 * 16
    for cin, cout in zip(channels, channels[1:]):
        total += block(cin, cout) + (n - 1) * block(cout, cout)
    return total + _bn(channels[3]) + _linear(channels[3])


def _closed_form_resnet(depth: int, filters: Tuple[int, ...]) -> int:
    n = (depth - 2) // 6

    def block(cin: int, cout: int, stride: int) -> int:
        projection = (cin * cout + _bn(cout)
                      if stride != 1 or cin != cout else 0)
        return 9 * cin * cout + 9 * cout * cout + 2 * _bn(cout) + projection

    total = 9 * 3 * filters[0] + _bn(filters[0])
    for cin, cout, stride in zip(filters, filters[1:], (1, 2, 2)):
        total += block(cin, cout, stride) + (n - 1) * block(cout, cout, 1)
    return total + _linear(filters[3])


def _closed_form_vgg(depth: int) -> int:
    total, cin = 0, 3
    for widths in VGGCIFAR.ARCH_SETTINGS[depth]:
        for cout in widths:
            total += 9 * cin * cout + cout + _bn(cout)  # convs have biases
            cin = cout
    return total + _linear(512)


def _closed_form(arch: str) -> int:
    backbone = CIFAR_ARCHS[arch].backbone
    if backbone['type'] == 'WideResNetCIFAR':
        return _closed_form_wrn(backbone['depth'], backbone['widen_factor'])
    if backbone['type'] == 'ResNetCIFARKD':
        return _closed_form_resnet(
            backbone['depth'], backbone.get('num_filters', (16, 16, 32, 64)))
    return _closed_form_vgg(backbone['depth'])


@pytest.mark.parametrize('arch', sorted(PUBLISHED_EXACT))
def test_param_count_equals_published(arch: str) -> None:
    assert _param_count(arch) == PUBLISHED_EXACT[arch]


@pytest.mark.parametrize('arch', sorted(PUBLISHED_ROUNDED))
def test_param_count_within_half_percent_of_rounded_published(
        arch: str) -> None:
    published = PUBLISHED_ROUNDED[arch]
    assert abs(_param_count(arch) - published) / published < 0.005


@pytest.mark.parametrize('arch', sorted(HAND_COUNTED))
def test_param_count_equals_hand_count(arch: str) -> None:
    assert _param_count(arch) == HAND_COUNTED[arch]


@pytest.mark.parametrize(
    'arch', [a for a in ARCHS if re.match(r'(wrn|resnet|vgg)', a)])
def test_param_count_equals_closed_form(arch: str) -> None:
    assert _param_count(arch) == _closed_form(arch)


# ---------------------------------------------------------------------------
# shapes and registration
# ---------------------------------------------------------------------------
# last feature map (C, H, W) at 32x32 input
FEATURE_SHAPES: Dict[str, Tuple[int, int, int]] = {
    **{f'wrn_{d}_{w}': (64 * w, 8, 8) for d in (16, 40) for w in (1, 2)},
    **{f'resnet{d}': (64, 8, 8) for d in (8, 14, 20, 32, 44, 56, 110)},
    'resnet8x4': (256, 8, 8),
    'resnet32x4': (256, 8, 8),
    **{f'vgg{d}': (512, 4, 4) for d in (8, 11, 13, 16, 19)},
    'MobileNetV2': (1280, 2, 2),
    'ShuffleV1': (960, 4, 4),
    'ShuffleV2': (1024, 4, 4),
}


@pytest.mark.parametrize('arch', ARCHS)
def test_forward_gives_100_logits(arch: str) -> None:
    model = _classifier(arch)
    inputs = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        features = model.backbone(inputs)
        logits = model(inputs, mode='tensor')
    assert isinstance(features, tuple) and len(features) == 1
    assert features[0].shape == (2, *FEATURE_SHAPES[arch])
    assert features[0].shape[1] == CIFAR_ARCHS[arch].in_channels
    assert logits.shape == (2, NUM_CLASSES)


def test_arch_table_covers_the_paper_names() -> None:
    assert {
        'wrn_40_2', 'wrn_16_2', 'wrn_40_1', 'resnet56', 'resnet20',
        'resnet32x4', 'resnet8x4', 'vgg13', 'vgg8', 'MobileNetV2',
        'ShuffleV1', 'ShuffleV2'
    } <= set(CIFAR_ARCHS)
    assert CIFAR_ARCHS['mobile_half'] == CIFAR_ARCHS['MobileNetV2']
    assert set(FEATURE_SHAPES) == set(ARCHS)
    with pytest.raises(KeyError, match='wrn_28_10'):
        cifar_classifier_cfg('wrn_28_10')


def test_vgg_pools_after_block3_only_for_64px_inputs() -> None:
    backbone = MODELS.build(dict(type='VGGCIFAR', depth=8))
    with torch.no_grad():
        assert backbone(torch.randn(1, 3, 64, 64))[0].shape == (1, 512, 4, 4)
        assert backbone(torch.randn(1, 3, 48, 48))[0].shape == (1, 512, 6, 6)


def test_backbones_resolve_from_mmrazor_scope() -> None:
    from mmrazor.registry import MODELS as RAZOR_MODELS
    backbone = RAZOR_MODELS.build(dict(type='ResNetCIFARKD', depth=8))
    assert backbone.out_channels == 64


@pytest.mark.parametrize('bad, name', [
    (dict(type='WideResNetCIFAR', depth=18, widen_factor=2), 'depth'),
    (dict(type='ResNetCIFARKD', depth=18), 'depth'),
    (dict(type='ResNetCIFARKD', depth=8, num_filters=(16, 32, 64)),
     'num_filters'),
    (dict(type='VGGCIFAR', depth=10), 'depth'),
    (dict(type='ShuffleNetV2CIFAR', net_size=3), 'net_size'),
])
def test_bad_arguments_raise_naming_them(bad: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        MODELS.build(bad)


def test_default_init_is_crds() -> None:
    """Kaiming-normal fan_out convs (CRD's N(0, sqrt(2/(k*k*out)))), zero
    conv biases, BN (1, 0): what CRD's students start from."""
    torch.manual_seed(0)
    backbone = MODELS.build(dict(type='VGGCIFAR', depth=8))
    backbone.init_weights()
    conv = backbone.block4[0]
    assert torch.count_nonzero(conv.bias) == 0
    expected_std = (2 / (9 * conv.out_channels))**0.5
    assert conv.weight.std().item() == pytest.approx(expected_std, rel=0.05)
    for module in backbone.modules():
        if isinstance(module, nn.BatchNorm2d):
            assert torch.all(module.weight == 1)
            assert torch.all(module.bias == 0)


def _randomize(module: nn.Module, seed: int) -> None:
    """Random weights and BN statistics (eval mode), so a tensor landing in
    the wrong place changes the output."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if name.endswith('num_batches_tracked'):
                tensor.fill_(seed + 7)
            elif name.endswith('running_var'):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) +
                             0.5)
            else:
                tensor.copy_(
                    torch.randn(tensor.shape, generator=generator) * 0.2)
    module.eval()


def test_wrn_computes_what_mmrazor_wideresnet_computes() -> None:
    """An independent implementation of the same network: MMRazor's
    WideResNet under other key names must give identical features."""
    from mmrazor.models.architectures.backbones.wideresnet import WideResNet
    ours = WideResNetCIFAR(depth=16, widen_factor=2)
    _randomize(ours, seed=1)
    theirs = WideResNet(depth=16, widen_factor=2)
    theirs.load_state_dict({
        re.sub(r'^block(\d)\.layer\.', r'layer\1.', key).replace(
            'convShortcut', 'downsample'): value
        for key, value in ours.state_dict().items()
    }, strict=True)
    theirs.eval()
    inputs = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(ours(inputs)[0], theirs(inputs)[0])


# ---------------------------------------------------------------------------
# converter
# ---------------------------------------------------------------------------
class CRDLayoutModel(nn.Module):
    """A CIFAR model in CRD's key layout: the backbone's modules at the top
    level and the final Linear under CRD's name for it (``fc``,
    ``classifier``, ``classifier.0``, ``linear``); ``forward`` is CRD's
    (features -> global average -> Linear)."""

    def __init__(self, arch: str, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        self.body = MODELS.build(CIFAR_ARCHS[arch].backbone)
        linear = nn.Linear(CIFAR_ARCHS[arch].in_channels, num_classes)
        self.head_name = tool.crd_head_name(arch)
        self.head = (nn.Sequential(linear)
                     if self.head_name.endswith('.0') else linear)

    def crd_state_dict(self) -> Dict[str, torch.Tensor]:
        linear = (self.head[0]
                  if isinstance(self.head, nn.Sequential) else self.head)
        return {
            **self.body.state_dict(),
            **{
                f'{self.head_name}.{name}': value
                for name, value in linear.state_dict().items()
            }
        }

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        features = F.adaptive_avg_pool2d(self.body(inputs)[0], 1).flatten(1)
        return self.head(features)


def _crd_model(arch: str, seed: int = 0,
               num_classes: int = NUM_CLASSES) -> CRDLayoutModel:
    model = CRDLayoutModel(arch, num_classes)
    _randomize(model, seed)
    return model


# A few CRD key names and shapes, written down from CRD's wrn.py/resnet.py
# etc. (not generated from our modules), that the converter must accept.
CRD_KEYS: Dict[str, Dict[str, Tuple[int, ...]]] = {
    'wrn_16_2': {
        'conv1.weight': (16, 3, 3, 3),
        'block1.layer.0.bn1.weight': (16, ),
        'block1.layer.0.conv1.weight': (32, 16, 3, 3),
        'block1.layer.0.convShortcut.weight': (32, 16, 1, 1),
        'block2.layer.1.bn2.running_var': (64, ),
        'block3.layer.1.conv2.weight': (128, 128, 3, 3),
        'bn1.running_mean': (128, ),
        'fc.weight': (100, 128),
        'fc.bias': (100, ),
    },
    'resnet8x4': {
        'conv1.weight': (32, 3, 3, 3),
        'bn1.num_batches_tracked': (),
        'layer1.0.conv1.weight': (64, 32, 3, 3),
        'layer1.0.downsample.0.weight': (64, 32, 1, 1),
        'layer1.0.downsample.1.running_var': (64, ),
        'layer3.0.conv2.weight': (256, 256, 3, 3),
        'fc.weight': (100, 256),
    },
    'vgg13': {
        'block0.0.weight': (64, 3, 3, 3),
        'block0.0.bias': (64, ),
        'block0.1.running_mean': (64, ),
        'block0.3.weight': (64, 64, 3, 3),
        'block4.4.weight': (512, ),
        'classifier.weight': (100, 512),
    },
    'MobileNetV2': {
        'conv1.0.weight': (16, 3, 3, 3),
        'blocks.0.0.conv.0.weight': (16, 16, 1, 1),
        'blocks.1.0.conv.3.weight': (48, 1, 3, 3),
        'blocks.6.0.conv.7.running_var': (160, ),
        'conv2.0.weight': (1280, 160, 1, 1),
        'classifier.0.weight': (100, 1280),
    },
    'ShuffleV1': {
        'conv1.weight': (24, 3, 1, 1),
        'layer1.0.conv1.weight': (54, 24, 1, 1),
        'layer1.0.conv3.weight': (216, 18, 1, 1),
        'layer3.3.bn3.bias': (960, ),
        'linear.weight': (100, 960),
    },
    'ShuffleV2': {
        'conv1.weight': (24, 3, 1, 1),
        'layer1.0.conv5.weight': (58, 58, 1, 1),
        'layer2.7.conv2.weight': (116, 1, 3, 3),
        'conv2.weight': (1024, 464, 1, 1),
        'bn2.running_mean': (1024, ),
        'linear.bias': (100, ),
    },
}


@pytest.mark.parametrize('arch', sorted(CRD_KEYS))
def test_known_crd_keys_are_accepted(arch: str) -> None:
    crd_state = _crd_model(arch).crd_state_dict()
    for key, shape in CRD_KEYS[arch].items():
        assert crd_state[key].shape == shape, key
    converted = tool.convert_cifar_teacher(crd_state, arch)
    for key in CRD_KEYS[arch]:
        assert converted[tool.to_mmpretrain_key(key, arch)] is crd_state[key]


def test_wrn_16_2_crd_layout_has_exactly_crds_keys() -> None:
    """conv1 + 6 blocks x (2 convs + 2 BNs of 5 tensors) + 3 projections +
    final BN + fc weight and bias."""
    crd_state = _crd_model('wrn_16_2').crd_state_dict()
    assert len(crd_state) == 1 + 6 * 12 + 3 + 5 + 2


@pytest.mark.parametrize('arch', [
    'wrn_16_2', 'resnet8x4', 'resnet20', 'vgg8', 'MobileNetV2', 'ShuffleV1',
    'ShuffleV2'
])
def test_round_trip_gives_identical_logits(arch: str) -> None:
    reference = _crd_model(arch, seed=3)
    crd_state = reference.crd_state_dict()
    converted = tool.convert_cifar_teacher(
        {
            'epoch': 240,
            'model': crd_state,
            'best_acc': torch.tensor(76.45),
            'optimizer': {'state': {}, 'param_groups': [{'lr': 0.0}]},
        }, arch)

    classifier = _classifier(arch)
    # mapping both ways: the converter's target keys are exactly the CRD
    # keys renamed, and renaming back gives the CRD keys
    assert list(converted) == list(classifier.state_dict())
    assert {tool.to_crd_key(k, arch) for k in converted} == set(crd_state)
    classifier.load_state_dict(converted, strict=True)

    inputs = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = reference(inputs)
        actual = classifier(inputs, mode='tensor')
    assert torch.equal(actual, expected)


@lru_cache(maxsize=None)
def _wrn_16_2_reference() -> Tuple[Dict[str, torch.Tensor], Dict[
        str, torch.Tensor]]:
    crd_state = _crd_model('wrn_16_2', seed=5).crd_state_dict()
    return crd_state, tool.convert_cifar_teacher(crd_state, 'wrn_16_2')


@pytest.mark.parametrize('wrap', [
    pytest.param(lambda s: s, id='raw'),
    pytest.param(lambda s: {'state_dict': s}, id='state_dict'),
    pytest.param(lambda s: {'net': s, 'acc': 76.45, 'epoch': 239},
                 id='hsakd-net'),
    pytest.param(
        lambda s: {'model': {f'module.{k}': v for k, v in s.items()}},
        id='crd-model-dataparallel'),
    pytest.param(
        lambda s: {'net': {f'module.{k}': v for k, v in s.items()}},
        id='net-dataparallel'),
    pytest.param(
        lambda s: {
            'net': {
                **{f'backbone.{k}': v for k, v in s.items()},
                'auxiliary_classifier.block_extractor1.0.layer.0.bn1.weight':
                torch.ones(32),
                'auxiliary_classifier.fc1.weight': torch.ones(400, 128),
            }
        },
        id='hsakd-aux'),
])
def test_checkpoint_wrappers_are_accepted(wrap) -> None:
    crd_state, expected = _wrn_16_2_reference()
    converted = tool.convert_cifar_teacher(wrap(crd_state), 'wrn_16_2')
    assert list(converted) == list(expected)
    assert all(torch.equal(converted[k], expected[k]) for k in expected)


def test_ignored_entries_are_reported() -> None:
    crd_state, _ = _wrn_16_2_reference()
    _, notes = tool.extract_state_dict({
        'model': crd_state,
        'epoch': 240,
        'accuracy': 76.4,
        'optimizer': {}
    })
    assert notes == [
        "ignored non-model entries ['epoch', 'accuracy', 'optimizer'] next "
        "to 'model'"
    ]


def test_missing_key_is_named() -> None:
    crd_state, _ = _wrn_16_2_reference()
    truncated = dict(crd_state)
    del truncated['block2.layer.1.bn2.running_var']
    with pytest.raises(ValueError,
                       match=r"1 missing keys: \['block2\.layer\.1\.bn2\."
                       r"running_var'\]"):
        tool.convert_cifar_teacher(truncated, 'wrn_16_2')


def test_extra_key_is_named() -> None:
    crd_state, _ = _wrn_16_2_reference()
    extended = {**crd_state, 'fc2.weight': torch.zeros(100, 128)}
    with pytest.raises(ValueError,
                       match=r"1 unexpected keys: \['fc2\.weight'\]"):
        tool.convert_cifar_teacher({'model': extended}, 'wrn_16_2')


def test_wrong_arch_reports_shapes_and_keys() -> None:
    wrn_16_1 = _crd_model('wrn_16_1').crd_state_dict()
    with pytest.raises(ValueError) as error:
        tool.convert_cifar_teacher(wrn_16_1, 'wrn_16_2')
    message = str(error.value)
    assert "'block1.layer.0.convShortcut.weight'" in message  # missing
    assert ('block3.layer.1.conv2.weight: (64, 64, 3, 3) in the checkpoint, '
            '(128, 128, 3, 3) in wrn_16_2') in message

    resnet20 = _crd_model('resnet20').crd_state_dict()
    with pytest.raises(ValueError, match=r"unexpected keys: \['layer1\.1\."):
        tool.convert_cifar_teacher(resnet20, 'resnet8')


def test_missing_bn_counters_are_set_to_zero() -> None:
    """Checkpoints saved before PyTorch 0.4.1 have no num_batches_tracked."""
    crd_state, _ = _wrn_16_2_reference()
    old = {
        k: v
        for k, v in crd_state.items() if not k.endswith('num_batches_tracked')
    }
    converted = tool.convert_cifar_teacher(old, 'wrn_16_2')
    assert converted['backbone.bn1.num_batches_tracked'].item() == 0
    _classifier('wrn_16_2').load_state_dict(converted, strict=True)


def test_num_classes_follow_the_checkpoint() -> None:
    cifar10 = _crd_model('resnet8', num_classes=10).crd_state_dict()
    converted = tool.convert_cifar_teacher(cifar10, 'resnet8')
    assert converted['head.fc.weight'].shape == (10, 64)


@pytest.mark.parametrize('checkpoint, match', [
    ({'model': {}, 'net': {}}, r"holds weights under \['model', 'net'\]"),
    ({'conv1.weight': torch.zeros(1), 'epoch': 3}, r"entries \['epoch'\]"),
    ([torch.zeros(1)], 'expected a dict'),
])
def test_unreadable_checkpoints_are_refused(checkpoint, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        tool.convert_cifar_teacher(checkpoint, 'wrn_16_2')


def test_unknown_arch_is_named() -> None:
    with pytest.raises(ValueError, match=r"unknown --arch 'wrn_28_10'"):
        tool.convert_cifar_teacher({}, 'wrn_28_10')


# ---------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------
class Unpicklable:
    """Stands for any object weights-only loading refuses."""


def test_cli_writes_a_checkpoint_mmpretrain_loads(tmp_path: Path,
                                                  capsys) -> None:
    crd_state, expected = _wrn_16_2_reference()
    src, dst = tmp_path / 'wrn_16_2_best.pth', tmp_path / 'out' / 'wrn.pth'
    # CRD's *_last.pth layout, options included
    torch.save(
        {
            'opt': argparse.Namespace(model='wrn_16_2', learning_rate=0.05),
            'model': crd_state,
            'optimizer': {'state': {}, 'param_groups': []},
        }, src)
    assert tool.main([str(src), str(dst), '--arch', 'wrn_16_2']) == 0
    assert "ignored non-model entries ['opt', 'optimizer']" in (
        capsys.readouterr().out)

    saved = torch.load(dst, map_location='cpu', weights_only=True)
    assert saved['meta']['arch'] == 'wrn_16_2'
    classifier = MODELS.build(saved['meta']['model'])
    classifier.load_state_dict(saved['state_dict'], strict=True)
    assert all(
        torch.equal(saved['state_dict'][k], expected[k]) for k in expected)


def test_cli_names_a_missing_source(tmp_path: Path, capsys) -> None:
    src = tmp_path / 'nowhere' / 'teacher.pth'
    assert tool.main([str(src), str(tmp_path / 'x.pth'), '--arch',
                      'wrn_40_2']) == 1
    assert f'source checkpoint not found: {src}' in capsys.readouterr().err


def test_cli_loads_weights_only_unless_told(tmp_path: Path, capsys) -> None:
    crd_state, _ = _wrn_16_2_reference()
    src = tmp_path / 'teacher.pth'
    torch.save({'model': crd_state, 'extra': Unpicklable()}, src)
    assert tool.main([str(src), str(tmp_path / 'a.pth'), '--arch',
                      'wrn_16_2']) == 1
    err = capsys.readouterr().err
    assert 'Unpicklable' in err and '--no-weights-only' in err
    assert tool.main([
        str(src), str(tmp_path / 'b.pth'), '--arch', 'wrn_16_2',
        '--no-weights-only'
    ]) == 0
