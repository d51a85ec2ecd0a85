"""The CIFAR model zoo of CRD / mdistiller / HSAKD / CCD as mmpretrain
backbones (mmkd_ccd/models/backbones/cifar.py): parameter counts, the shape
of every stage's output and the total stride, registration, arguments and
initialisation. The checkpoint converter is tested in
tests/tools/test_convert_cifar_teacher.py."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Dict, Tuple

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmpretrain.registry import MODELS

from mmkd_ccd.models.backbones import (CIFAR_ARCHS, VGGCIFAR,
                                       WideResNetCIFAR, arch_named,
                                       cifar_classifier_cfg)
from tests.utils import repo_path

NUM_CLASSES = 100


@pytest.fixture(autouse=True, scope='module')
def single_thread():
    """These networks are tiny at 32x32: one intra-op thread is fastest, and
    several spin for ages when other jobs share the CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


ARCHS = list(CIFAR_ARCHS)


def classifier(arch: str, num_classes: int = NUM_CLASSES) -> nn.Module:
    """The classifier built the way a user's config spells it out, in eval
    mode."""
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


def randomize(module: nn.Module, seed: int) -> None:
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


@lru_cache(maxsize=None)
def _param_count(arch: str) -> int:
    return sum(p.numel() for p in classifier(arch).parameters())


# ---------------------------------------------------------------------------
# parameter counts
# ---------------------------------------------------------------------------
# Full 100-class classifiers as published with CRD's code (RepDistiller,
# repeated by mdistiller and HSAKD); each is also reproduced by the closed
# forms below, so these are tested for exact equality.
PUBLISHED_EXACT: Dict[str, int] = {
    'wrn-40-2': 2_255_156,
    'wrn-16-2': 703_284,
    'wrn-40-1': 569_780,
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
    'mobilenet-v2-crd': 0.81e6,
    'shufflenet-v1': 0.95e6,
    'shufflenet-v2': 1.36e6,
}
# Exact totals of CRD's mobilenetv2.py / ShuffleNetv1.py / ShuffleNetv2.py
# counted by hand, layer by layer (100 classes):
# MobileNetV2 (mobile_half): stem 464 + stages 608, 4_296, 11_688, 50_464,
#   80_928, 207_168, 121_760 + conv2 207_360 + fc 128_100 = 812_836
#   (quotes of "812,692" circulate; 144 fewer, matching no layer split of
#   this network). HSAKD's / CCD's mobilenetV2 has the same layers (only
#   its stem stride differs, and its Linear is not wrapped in a
#   Sequential), so the same total: a count cannot tell the two apart.
# ShuffleV1: stem 120 + stages 38_898, 297_300, 516_840 + fc 96_100
#   = 949_258.
# ShuffleV2: stem 120 + stages 30_192, 244_180, 501_352 + conv2 477_184
#   + fc 102_500 = 1_355_528 (quoted "~1.36M").
HAND_COUNTED: Dict[str, int] = {
    'mobilenet-v2-crd': 812_836,
    'mobilenet-v2': 812_836,
    'shufflenet-v1': 949_258,
    'shufflenet-v2': 1_355_528,
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
# architecture: every stage's output and the total stride
# ---------------------------------------------------------------------------
# (C, H, W) after each stage for a 32x32 input, in forward order, under the
# module names the official code (and so its checkpoints) gives the stages;
# the last entry is the backbone's output. Read off the official
# definitions: RepDistiller's models/wrn.py, resnet.py, vgg.py,
# mobilenetv2.py, ShuffleNetv1.py, ShuffleNetv2.py (mdistiller's copies are
# identical), and HSAKD's / CCD's models/mobilenetv2.py for 'mobilenetV2'.
# They depend on the width, never on the depth.


def _wrn_stages(w: int) -> Dict[str, Tuple[int, int, int]]:
    # nChannels = [16, 16w, 32w, 64w]; stem stride 1, blocks 1, 2, 2; bn1 is
    # the final BN-ReLU before avg_pool2d(8)
    return {'conv1': (16, 32, 32), 'block1': (16 * w, 32, 32),
            'block2': (32 * w, 16, 16), 'block3': (64 * w, 8, 8),
            'bn1': (64 * w, 8, 8)}


def _resnet_stages(filters: Tuple[int, int, int, int]
                   ) -> Dict[str, Tuple[int, int, int]]:
    # "32x32", "32x32", "16x16", "8x8" in resnet.py's forward comments
    return {'conv1': (filters[0], 32, 32), 'layer1': (filters[1], 32, 32),
            'layer2': (filters[2], 16, 16), 'layer3': (filters[3], 8, 8)}


# vgg.py: pool0-2 after blocks 0-2, pool3 only for 64-pixel inputs, so
# blocks 3 and 4 both run at 4x4; widths 64, 128, 256, 512, 512
VGG_STAGES = {'block0': (64, 32, 32), 'pool0': (64, 16, 16),
              'block1': (128, 16, 16), 'pool1': (128, 8, 8),
              'block2': (256, 8, 8), 'pool2': (256, 4, 4),
              'block3': (512, 4, 4), 'block4': (512, 4, 4)}
STAGE_SHAPES: Dict[str, Dict[str, Tuple[int, int, int]]] = {
    **{f'wrn-{d}-{w}': _wrn_stages(w) for d in (16, 40) for w in (1, 2)},
    **{f'resnet{d}': _resnet_stages((16, 16, 32, 64))
       for d in (8, 14, 20, 32, 44, 56, 110)},
    'resnet8x4': _resnet_stages((32, 64, 128, 256)),
    'resnet32x4': _resnet_stages((32, 64, 128, 256)),
    **{f'vgg{d}': VGG_STAGES for d in (8, 11, 13, 16, 19)},
    # CRD: conv_bn(3, 16, 2); (t, c, n, s) stages with c halved: 8, 12, 16,
    # 32, 48, 80, 160 channels, strides 1, 1, 2, 2, 1, 2, 1; conv_1x1_bn to
    # 1280; AvgPool2d(2, ceil_mode=True) then reads a 2x2 map
    'mobilenet-v2-crd': {
        'conv1': (16, 16, 16), 'blocks.0': (8, 16, 16),
        'blocks.1': (12, 16, 16), 'blocks.2': (16, 8, 8),
        'blocks.3': (32, 4, 4), 'blocks.4': (48, 4, 4),
        'blocks.5': (80, 2, 2), 'blocks.6': (160, 2, 2),
        'conv2': (1280, 2, 2)},
    # HSAKD / CCD: conv_bn(3, 16, 1), the same stages, AdaptiveAvgPool2d
    # over a 4x4 map
    'mobilenet-v2': {
        'conv1': (16, 32, 32), 'blocks.0': (8, 32, 32),
        'blocks.1': (12, 32, 32), 'blocks.2': (16, 16, 16),
        'blocks.3': (32, 8, 8), 'blocks.4': (48, 8, 8),
        'blocks.5': (80, 4, 4), 'blocks.6': (160, 4, 4),
        'conv2': (1280, 4, 4)},
    # 1x1 stem (24 ch, stride 1); each stage's first block has stride 2;
    # avg_pool2d(4) reads the 4x4 map
    'shufflenet-v1': {'conv1': (24, 32, 32), 'layer1': (240, 16, 16),
                  'layer2': (480, 8, 8), 'layer3': (960, 4, 4)},
    'shufflenet-v2': {'conv1': (24, 32, 32), 'layer1': (116, 16, 16),
                  'layer2': (232, 8, 8), 'layer3': (464, 4, 4),
                  'conv2': (1024, 4, 4)},
}
# input size / output size of the backbone
TOTAL_STRIDE: Dict[str, int] = {
    **{arch: 4 for arch in STAGE_SHAPES if arch.startswith(('wrn', 'resnet'))},
    **{arch: 8 for arch in STAGE_SHAPES if arch.startswith('vgg')},
    'mobilenet-v2-crd': 16,
    'mobilenet-v2': 8,
    'shufflenet-v1': 8,
    'shufflenet-v2': 8,
}


def _stage_outputs(backbone: nn.Module, inputs: torch.Tensor,
                   names) -> Dict[str, Tuple[int, ...]]:
    """Shape (without the batch) of what each named module outputs, in
    call order."""
    shapes: Dict[str, Tuple[int, ...]] = {}

    def record(name: str):
        def hook(_module, _inputs, output) -> None:
            shapes.setdefault(name, tuple(output.shape[1:]))
        return hook

    modules = dict(backbone.named_modules())
    handles = [
        modules[name].register_forward_hook(record(name)) for name in names
    ]
    with torch.no_grad():
        outputs = backbone(inputs)
    for handle in handles:
        handle.remove()
    shapes['output'] = tuple(outputs[-1].shape[1:])
    return shapes


@pytest.mark.parametrize('arch', ARCHS)
def test_every_stage_has_the_official_output_shape(arch: str) -> None:
    backbone = classifier(arch).backbone
    expected = STAGE_SHAPES[arch]
    shapes = _stage_outputs(backbone, torch.randn(1, 3, 32, 32), expected)
    assert list(shapes) == [*expected, 'output']
    assert {k: v for k, v in shapes.items() if k != 'output'} == expected
    assert shapes['output'] == list(expected.values())[-1]
    assert shapes['output'][0] == CIFAR_ARCHS[arch].in_channels


@pytest.mark.parametrize('arch', ARCHS)
def test_total_stride(arch: str) -> None:
    """At 32x32 and at 96x96 (not 64, where VGG adds a pool): the backbone
    divides the resolution by its stride."""
    backbone = classifier(arch).backbone
    for size in (32, 96):
        with torch.no_grad():
            out = backbone(torch.randn(1, 3, size, size))[-1]
        assert out.shape[2:] == (size // TOTAL_STRIDE[arch], ) * 2, size


@pytest.mark.parametrize('arch', ARCHS)
def test_forward_gives_100_logits(arch: str) -> None:
    model = classifier(arch)
    inputs = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        features = model.backbone(inputs)
        logits = model(inputs, mode='tensor')
    assert isinstance(features, tuple) and len(features) == 1
    assert logits.shape == (2, NUM_CLASSES)


def test_the_two_mobilenetv2s_share_weights_not_function() -> None:
    """The same tensors fit both; only the stem stride, and with it every
    feature map, differs."""
    crd, hsakd = classifier('mobilenet-v2-crd'), classifier('mobilenet-v2')
    randomize(crd, seed=2)
    hsakd.load_state_dict(crd.state_dict(), strict=True)
    assert crd.backbone.conv1[0].stride == (2, 2)
    assert hsakd.backbone.conv1[0].stride == (1, 1)
    inputs = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert not torch.allclose(crd(inputs, mode='tensor'),
                                  hsakd(inputs, mode='tensor'))


@pytest.mark.parametrize('config', [
    'ccd_logits_vgg13_mobilenet-v2_1xb128_cifar100.py',
    'kd-jda_logits_vgg13_mobilenet-v2_1xb128_cifar100.py',
])
def test_paper_vgg13_mobilenetv2_configs_train_the_papers_student(
        config: str) -> None:
    """The CCD paper's code distils into its own (HSAKD's) MobileNetV2."""
    cfg = Config.fromfile(repo_path('configs', 'ccd', config))
    assert cfg.model.architecture.backbone == dict(
        CIFAR_ARCHS['mobilenet-v2'].backbone)
    assert cfg.model.teacher.backbone == dict(CIFAR_ARCHS['vgg13'].backbone)


def test_arch_table_covers_the_paper_names() -> None:
    assert {
        'wrn-40-2', 'wrn-16-2', 'wrn-40-1', 'resnet56', 'resnet20',
        'resnet32x4', 'resnet8x4', 'vgg13', 'vgg8', 'mobilenet-v2-crd',
        'mobilenet-v2', 'shufflenet-v1', 'shufflenet-v2'
    } <= set(CIFAR_ARCHS)
    assert arch_named('mobile_half') == arch_named('MobileNetV2') == (
        'mobilenet-v2-crd')
    assert arch_named('mobilenetV2') == 'mobilenet-v2'
    assert arch_named('wrn_40_2') == 'wrn-40-2'
    assert arch_named('resnet') is None
    assert CIFAR_ARCHS['mobilenet-v2'] != CIFAR_ARCHS['mobilenet-v2-crd']
    assert set(STAGE_SHAPES) == set(TOTAL_STRIDE) == set(ARCHS)
    with pytest.raises(KeyError, match='wrn-28-10'):
        cifar_classifier_cfg('wrn-28-10')


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
    (dict(type='MobileNetV2CIFAR', stem_stride=4), 'stem_stride'),
    (dict(type='MobileNetV2CIFAR', width_mult=0), 'width_mult'),
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


def test_wrn_computes_what_mmrazor_wideresnet_computes() -> None:
    """An independent implementation of the same network: MMRazor's
    WideResNet under other key names must give identical features."""
    from mmrazor.models.architectures.backbones.wideresnet import WideResNet
    ours = WideResNetCIFAR(depth=16, widen_factor=2)
    randomize(ours, seed=1)
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


