"""tools/convert/cifar_teacher_to_mmpretrain.py: the zoo's key layout,
lossless conversion from every repository's checkpoint format (CRD /
mdistiller, mdistiller's distiller training checkpoints, HSAKD / CCD,
``state_dict``), choosing a distiller's sub-network, error reporting and the
command line."""
from __future__ import annotations

import argparse
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS

from mmkd_ccd.models.backbones import CIFAR_ARCHS
from tests.models.backbones.test_cifar import (  # noqa: F401 (fixture)
    ARCHS, NUM_CLASSES, classifier, randomize, single_thread)
from tests.utils import load_tool, repo_path

tool = load_tool(
    repo_path('tools', 'convert', 'cifar_teacher_to_mmpretrain.py'))

INPUTS = torch.randn(2, 3, 32, 32,
                     generator=torch.Generator().manual_seed(0))


class SourceLayoutModel(nn.Module):
    """A zoo model in its repository's key layout: the backbone's modules
    at the top level and the final Linear under the repository's name for
    it (``fc``, ``classifier``, ``classifier.0``, ``linear``); ``forward``
    is the repository's (features -> global average -> Linear). Random
    weights and BN statistics from ``seed``."""

    def __init__(self, arch: str, seed: int = 0,
                 num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        self.body = MODELS.build(CIFAR_ARCHS[arch].backbone)
        linear = nn.Linear(CIFAR_ARCHS[arch].in_channels, num_classes)
        self.head_name = tool.crd_head_name(arch)
        self.head = (nn.Sequential(linear)
                     if self.head_name.endswith('.0') else linear)
        randomize(self, seed)

    def source_state_dict(self) -> Dict[str, torch.Tensor]:
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


@lru_cache(maxsize=None)
def _source(arch: str, seed: int = 0) -> SourceLayoutModel:
    return SourceLayoutModel(arch, seed)


def _logits(model: nn.Module) -> torch.Tensor:
    with torch.no_grad():
        if isinstance(model, SourceLayoutModel):
            return model(INPUTS)
        return model(INPUTS, mode='tensor')


# ---------------------------------------------------------------------------
# key layout
# ---------------------------------------------------------------------------
# Key names and shapes written down from the official model code (CRD's
# wrn.py, resnet.py, vgg.py, mobilenetv2.py, ShuffleNetv*.py; HSAKD's / CCD's
# mobilenetv2.py for 'mobilenetV2'), not generated from our modules.
SOURCE_KEYS: Dict[str, Dict[str, Tuple[int, ...]]] = {
    'wrn-16-2': {
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
    'mobilenet-v2-crd': {
        'conv1.0.weight': (16, 3, 3, 3),
        'blocks.0.0.conv.0.weight': (16, 16, 1, 1),
        'blocks.1.0.conv.3.weight': (48, 1, 3, 3),
        'blocks.6.0.conv.7.running_var': (160, ),
        'conv2.0.weight': (1280, 160, 1, 1),
        'classifier.0.weight': (100, 1280),
    },
    # the same tensors as CRD's, but the Linear is not in a Sequential
    'mobilenet-v2': {
        'conv1.1.running_mean': (16, ),
        'blocks.3.2.conv.4.weight': (192, ),
        'classifier.weight': (100, 1280),
        'classifier.bias': (100, ),
    },
    'shufflenet-v1': {
        'conv1.weight': (24, 3, 1, 1),
        'layer1.0.conv1.weight': (54, 24, 1, 1),
        'layer1.0.conv3.weight': (216, 18, 1, 1),
        'layer3.3.bn3.bias': (960, ),
        'linear.weight': (100, 960),
    },
    'shufflenet-v2': {
        'conv1.weight': (24, 3, 1, 1),
        'layer1.0.conv5.weight': (58, 58, 1, 1),
        'layer2.7.conv2.weight': (116, 1, 3, 3),
        'conv2.weight': (1024, 464, 1, 1),
        'bn2.running_mean': (1024, ),
        'linear.bias': (100, ),
    },
}


@pytest.mark.parametrize('arch', sorted(SOURCE_KEYS))
def test_known_source_keys_are_accepted(arch: str) -> None:
    state = _source(arch).source_state_dict()
    for key, shape in SOURCE_KEYS[arch].items():
        assert state[key].shape == shape, key
    converted = tool.convert_cifar_teacher(state, arch)
    for key in SOURCE_KEYS[arch]:
        assert converted[tool.to_mmpretrain_key(key, arch)] is state[key]


def test_wrn_16_2_source_layout_has_exactly_crds_keys() -> None:
    """conv1 + 6 blocks x (2 convs + 2 BNs of 5 tensors) + 3 projections +
    final BN + fc weight and bias."""
    assert len(_source('wrn-16-2').source_state_dict()) == 1 + 6 * 12 + 3 + (
        5 + 2)


def test_head_names() -> None:
    assert set(tool.ARCH_HEADS) <= set(CIFAR_ARCHS)
    assert tool.crd_head_name('mobilenet-v2-crd') == 'classifier.0'
    assert tool.crd_head_name('mobilenet-v2') == 'classifier'
    assert tool.crd_head_name('wrn-40-2') == 'fc'
    assert tool.crd_head_name('shufflenet-v2') == 'linear'


# ---------------------------------------------------------------------------
# lossless conversion
# ---------------------------------------------------------------------------
OPTIMIZER = {
    'state': {0: {'momentum_buffer': torch.zeros(3)}},
    'param_groups': [{'lr': 0.0, 'momentum': 0.9, 'params': [0]}],
}


def _own_format(arch: str, state: Dict[str, torch.Tensor]) -> dict:
    """How the repository that defines ``arch`` saves it: HSAKD / CCD
    (``mobilenetV2``) and CRD (all others)."""
    if arch == 'mobilenet-v2':
        return {'net': state, 'acc': 75.2, 'epoch': 239,
                'optimizer': OPTIMIZER}
    return {'epoch': 240, 'model': state, 'best_acc': torch.tensor(76.45),
            'optimizer': OPTIMIZER}


@pytest.mark.parametrize('arch', ARCHS)
def test_every_arch_converts_to_identical_logits(arch: str) -> None:
    reference = SourceLayoutModel(arch, seed=3)
    state = reference.source_state_dict()
    converted = tool.convert_cifar_teacher(_own_format(arch, state), arch)

    model = classifier(arch)
    # mapping both ways: the converter's target keys are exactly the
    # source keys renamed, and renaming back gives the source keys
    assert list(converted) == list(model.state_dict())
    assert {tool.to_crd_key(k, arch) for k in converted} == set(state)
    model.load_state_dict(converted, strict=True)
    assert torch.equal(_logits(model), _logits(reference))


def _convert_file(tmp_path: Path, checkpoint: Any, arch: str,
                  *options: str) -> Tuple[int, Optional[nn.Module]]:
    """Save ``checkpoint`` as a repository would, run the command line on
    it, and build the classifier the written checkpoint describes."""
    src, dst = tmp_path / 'source.pth', tmp_path / 'converted.pth'
    torch.save(checkpoint, src)
    code = tool.main([str(src), str(dst), '--arch', arch, *options])
    if code != 0:
        return code, None
    saved = torch.load(dst, map_location='cpu', weights_only=True)
    assert saved['meta']['arch'] == arch
    model = MODELS.build(saved['meta']['model'])
    model.load_state_dict(saved['state_dict'], strict=True)
    return code, model.eval()


def _aux(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """HSAKD's ``*_aux`` layout: the classifier under ``backbone.`` next to
    the self-supervised heads (a few of MobileNetv2_Auxiliary's keys)."""
    return {
        **{f'backbone.{k}': v for k, v in state.items()},
        'auxiliary_classifier.block_extractor1.0.0.conv.0.weight':
        torch.ones(72, 12, 1, 1),
        'auxiliary_classifier.conv2_1.0.weight': torch.ones(1280, 160, 1, 1),
        'auxiliary_classifier.fc1.weight': torch.ones(400, 1280),
    }


# Each repository's checkpoint formats, as its training scripts save them.
FORMATS: Dict[str, Callable[[Dict[str, torch.Tensor]], dict]] = {
    # RepDistiller train_teacher.py: ckpt_epoch_N.pth, *_best.pth,
    # *_last.pth (mdistiller's downloadable teachers are the first kind)
    'crd-epoch': lambda s: {'epoch': 240, 'model': s, 'accuracy': 76.45,
                            'optimizer': OPTIMIZER},
    'crd-best': lambda s: {'epoch': 240, 'model': s,
                           'best_acc': torch.tensor(76.45),
                           'optimizer': OPTIMIZER},
    'crd-last': lambda s: {'opt': argparse.Namespace(model='x',
                                                     learning_rate=0.05),
                           'model': s, 'optimizer': OPTIMIZER},
    # mdistiller: student_best / student_latest / student_N
    'mdistiller-student': lambda s: {'model': s},
    # HSAKD / CCD: <arch>.pth.tar and <arch>_best.pth.tar, plain and _aux
    'hsakd-net': lambda s: {'net': s, 'acc': 75.2, 'epoch': 239,
                            'optimizer': OPTIMIZER},
    'hsakd-net-aux': lambda s: {'net': _aux(s), 'acc': 75.2, 'epoch': 239,
                                'optimizer': OPTIMIZER},
    # the CCD code's teachers are loaded from checkpoint['state_dict']
    'state-dict': lambda s: {'state_dict': s},
    'raw': lambda s: s,
    'dataparallel': lambda s: {'net': {f'module.{k}': v
                                       for k, v in s.items()}},
}


@pytest.mark.parametrize('arch', ['mobilenet-v2', 'mobilenet-v2-crd', 'wrn-16-2'])
@pytest.mark.parametrize('layout', sorted(FORMATS))
def test_round_trip_through_each_repository_format(tmp_path: Path,
                                                   layout: str,
                                                   arch: str) -> None:
    """The paper's MobileNetV2 and WRN-16-2 students and CRD's MobileNetV2,
    from a file in each format to a classifier with the same logits (every
    arch is converted in its own format above; the VGG-13 teacher comes
    with the distiller checkpoints below)."""
    reference = _source(arch, seed=4)
    code, model = _convert_file(tmp_path,
                                FORMATS[layout](reference.source_state_dict()),
                                arch)
    assert code == 0
    assert torch.equal(_logits(model), _logits(reference))


# ---------------------------------------------------------------------------
# mdistiller's distiller training checkpoints
# ---------------------------------------------------------------------------
def _distiller_checkpoint(student: SourceLayoutModel,
                          teacher: Optional[SourceLayoutModel] = None,
                          extra: Optional[Dict[str, torch.Tensor]] = None
                          ) -> dict:
    """mdistiller's ``best`` / ``latest`` / ``epoch_N``: the whole
    distiller, saved through ``nn.DataParallel``."""
    distiller = {
        f'student.{k}': v
        for k, v in student.source_state_dict().items()
    }
    if teacher is not None:
        distiller.update({
            f'teacher.{k}': v
            for k, v in teacher.source_state_dict().items()
        })
    distiller.update(extra or {})
    return {
        'epoch': 240,
        'model': {f'module.{k}': v for k, v in distiller.items()},
        'optimizer': OPTIMIZER,
        'best_acc': torch.tensor(74.92),
    }


# FitNet's regressor, one of the methods' own modules
FITNET_EXTRA = {
    'conv_reg.conv.weight': torch.ones(1280, 160, 1, 1),
    'conv_reg.bn.running_mean': torch.zeros(1280),
}


@lru_cache(maxsize=None)
def _vgg13_mobilenetv2_distiller() -> dict:
    """mdistiller's VGG-13 -> MobileNetV2 (CRD's) FitNet run."""
    return _distiller_checkpoint(
        _source('mobilenet-v2-crd', seed=11), _source('vgg13', seed=12),
        FITNET_EXTRA)


@pytest.mark.parametrize('arch, role, seed', [('mobilenet-v2-crd', 'student', 11),
                                              ('vgg13', 'teacher', 12)])
def test_distiller_checkpoint_gives_the_sub_network_that_fits(
        tmp_path: Path, capsys, arch: str, role: str, seed: int) -> None:
    code, model = _convert_file(tmp_path, _vgg13_mobilenetv2_distiller(),
                                arch)
    assert code == 0
    assert torch.equal(_logits(model), _logits(_source(arch, seed)))
    out = capsys.readouterr().out
    assert f'took the {role}.* sub-network' in out
    other = 'teacher' if role == 'student' else 'student'
    assert f"under ['conv_reg', '{other}']" in out


def test_vanilla_distiller_checkpoint_gives_its_student() -> None:
    """mdistiller's baseline training wraps the student alone."""
    student = _source('resnet8', seed=13)
    converted = tool.convert_cifar_teacher(_distiller_checkpoint(student),
                                           'resnet8')
    expected = tool.convert_cifar_teacher(student.source_state_dict(),
                                          'resnet8')
    assert list(converted) == list(expected)
    assert all(torch.equal(converted[k], expected[k]) for k in expected)


def test_two_fitting_sub_networks_are_refused_until_one_is_chosen(
        tmp_path: Path, capsys) -> None:
    teacher = _source('resnet8', seed=14)
    checkpoint = _distiller_checkpoint(_source('resnet8', seed=15), teacher)
    code, _ = _convert_file(tmp_path, checkpoint, 'resnet8')
    assert code == 1
    err = capsys.readouterr().err
    assert ("sub-networks ['student', 'teacher'] all fit --arch resnet8; "
            'choose one with --prefix (e.g. --prefix student)') in err

    code, model = _convert_file(tmp_path, checkpoint, 'resnet8', '--prefix',
                                'teacher')
    assert code == 0
    assert torch.equal(_logits(model), _logits(teacher))


def test_no_fitting_sub_network_is_refused_naming_what_each_fits() -> None:
    with pytest.raises(ValueError) as error:
        tool.convert_cifar_teacher(_vgg13_mobilenetv2_distiller(), 'wrn-16-2')
    assert str(error.value) == (
        "none of the checkpoint's sub-networks ['student', 'teacher'] fits "
        '--arch wrn-16-2 (student.* fits --arch mobilenet-v2-crd; '
        'teacher.* fits --arch vgg13); pass the right --arch, or choose one '
        'with --prefix (e.g. --prefix student) to see what differs')


def test_chosen_sub_network_that_does_not_fit_is_reported() -> None:
    with pytest.raises(ValueError) as error:
        tool.convert_cifar_teacher(_vgg13_mobilenetv2_distiller(),
                                   'mobilenet-v2-crd', prefix='teacher')
    message = str(error.value)
    assert message.startswith(
        'checkpoint does not fit --arch mobilenet-v2-crd')
    assert message.endswith('the checkpoint fits --arch vgg13')


def test_prefix_without_tensors_is_named() -> None:
    state = _source('wrn-16-2').source_state_dict()
    with pytest.raises(ValueError) as error:
        tool.convert_cifar_teacher({'model': state}, 'wrn-16-2',
                                   prefix='student')
    assert str(error.value) == (
        "no tensors under --prefix 'student'; the checkpoint's top-level "
        "names are ['block1', 'block2', 'block3', 'bn1', 'conv1', 'fc']")


# ---------------------------------------------------------------------------
# refusals
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('source, wrong, right', [
    ('mobilenet-v2-crd', 'mobilenet-v2', 'mobilenet-v2-crd'),
    ('mobilenet-v2', 'mobilenet-v2-crd', 'mobilenet-v2'),
])
def test_the_other_mobilenetv2_is_refused_naming_the_right_one(
        source: str, wrong: str, right: str) -> None:
    """Their weights have the same shapes, so renaming the classifier by
    hand would load -- into the wrong network."""
    state = _source(source).source_state_dict()
    with pytest.raises(ValueError) as error:
        tool.convert_cifar_teacher({'model': state}, wrong)
    message = str(error.value)
    wrong_head, right_head = (tool.crd_head_name(wrong),
                              tool.crd_head_name(source))
    assert (f"2 missing keys: ['{wrong_head}.weight', '{wrong_head}.bias']; "
            f"2 unexpected keys: ['{right_head}.weight', "
            f"'{right_head}.bias']") in message
    assert message.endswith(f'the checkpoint fits --arch {right}')


@lru_cache(maxsize=None)
def _wrn_16_2_reference() -> Tuple[Dict[str, torch.Tensor], Dict[
        str, torch.Tensor]]:
    state = _source('wrn-16-2', seed=5).source_state_dict()
    return state, tool.convert_cifar_teacher(state, 'wrn-16-2')


def test_ignored_entries_are_reported() -> None:
    state, _ = _wrn_16_2_reference()
    _, notes = tool.extract_state_dict({
        'model': state,
        'epoch': 240,
        'accuracy': 76.4,
        'optimizer': {}
    })
    assert notes == [
        "ignored non-model entries ['epoch', 'accuracy', 'optimizer'] next "
        "to 'model'"
    ]


def test_missing_key_is_named() -> None:
    state, _ = _wrn_16_2_reference()
    truncated = dict(state)
    del truncated['block2.layer.1.bn2.running_var']
    with pytest.raises(ValueError,
                       match=r"1 missing keys: \['block2\.layer\.1\.bn2\."
                       r"running_var'\]; the checkpoint fits no known arch"):
        tool.convert_cifar_teacher(truncated, 'wrn-16-2')


def test_extra_key_is_named() -> None:
    state, _ = _wrn_16_2_reference()
    extended = {**state, 'fc2.weight': torch.zeros(100, 128)}
    with pytest.raises(ValueError,
                       match=r"1 unexpected keys: \['fc2\.weight'\]"):
        tool.convert_cifar_teacher({'model': extended}, 'wrn-16-2')


def test_wrong_arch_reports_shapes_keys_and_the_arch_that_fits() -> None:
    wrn_16_1 = _source('wrn-16-1').source_state_dict()
    with pytest.raises(ValueError) as error:
        tool.convert_cifar_teacher(wrn_16_1, 'wrn-16-2')
    message = str(error.value)
    assert "'block1.layer.0.convShortcut.weight'" in message  # missing
    assert ('block3.layer.1.conv2.weight: (64, 64, 3, 3) in the checkpoint, '
            '(128, 128, 3, 3) in wrn-16-2') in message
    assert message.endswith('the checkpoint fits --arch wrn-16-1')

    resnet20 = _source('resnet20').source_state_dict()
    with pytest.raises(ValueError, match=r"unexpected keys: \['layer1\.1\."):
        tool.convert_cifar_teacher(resnet20, 'resnet8')


def test_missing_bn_counters_are_set_to_zero() -> None:
    """Checkpoints saved before PyTorch 0.4.1 have no num_batches_tracked."""
    state, _ = _wrn_16_2_reference()
    old = {k: v for k, v in state.items()
           if not k.endswith('num_batches_tracked')}
    converted = tool.convert_cifar_teacher(old, 'wrn-16-2')
    assert converted['backbone.bn1.num_batches_tracked'].item() == 0
    assert converted['backbone.bn1.num_batches_tracked'].device.type == 'cpu'
    classifier('wrn-16-2').load_state_dict(converted, strict=True)


def test_num_classes_follow_the_checkpoint() -> None:
    cifar10 = SourceLayoutModel('resnet8', num_classes=10).source_state_dict()
    converted = tool.convert_cifar_teacher(cifar10, 'resnet8')
    assert converted['head.fc.weight'].shape == (10, 64)


@pytest.mark.parametrize('checkpoint, match', [
    ({'model': {}, 'net': {}}, r"holds weights under \['model', 'net'\]"),
    ({'conv1.weight': torch.zeros(1), 'epoch': 3}, r"entries \['epoch'\]"),
    ([torch.zeros(1)], 'expected a dict'),
])
def test_unreadable_checkpoints_are_refused(checkpoint, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        tool.convert_cifar_teacher(checkpoint, 'wrn-16-2')


def test_unknown_arch_is_named() -> None:
    with pytest.raises(ValueError, match=r"unknown CIFAR arch 'wrn-28-10'"):
        tool.convert_cifar_teacher({}, 'wrn-28-10')


@pytest.mark.parametrize('source_name, name', [
    ('wrn_40_2', 'wrn-40-2'), ('ShuffleV1', 'shufflenet-v1'),
    ('mobile_half', 'mobilenet-v2-crd'), ('MobileNetV2', 'mobilenet-v2-crd'),
    ('mobilenetV2', 'mobilenet-v2'), ('vgg13_bn', 'vgg13'),
])
def test_a_repositorys_name_is_refused_with_this_projects(
        source_name: str, name: str, tmp_path) -> None:
    with pytest.raises(ValueError, match=f"use '{name}'"):
        tool.crd_head_name(source_name)
    code = tool.main([str(tmp_path / 'missing.pth'), str(tmp_path / 'b.pth'),
                      '--arch', source_name])
    assert code == 2


# ---------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------
class Unpicklable:
    """Stands for any object weights-only loading refuses."""


def test_cli_reports_what_it_ignored(tmp_path: Path, capsys) -> None:
    state, expected = _wrn_16_2_reference()
    code, model = _convert_file(tmp_path, FORMATS['crd-last'](state),
                                'wrn-16-2')
    assert code == 0
    assert "ignored non-model entries ['opt', 'optimizer']" in (
        capsys.readouterr().out)
    assert all(
        torch.equal(model.state_dict()[k], expected[k]) for k in expected)


def test_cli_names_a_missing_source(tmp_path: Path, capsys) -> None:
    src = tmp_path / 'nowhere' / 'teacher.pth'
    assert tool.main([str(src), str(tmp_path / 'x.pth'), '--arch',
                      'wrn-40-2']) == 1
    assert f'source checkpoint not found: {src}' in capsys.readouterr().err


def test_cli_loads_weights_only_unless_told(tmp_path: Path, capsys) -> None:
    state, _ = _wrn_16_2_reference()
    src = tmp_path / 'teacher.pth'
    torch.save({'model': state, 'extra': Unpicklable()}, src)
    assert tool.main([str(src), str(tmp_path / 'a.pth'), '--arch',
                      'wrn-16-2']) == 1
    err = capsys.readouterr().err
    assert 'Unpicklable' in err and '--no-weights-only' in err
    assert tool.main([
        str(src), str(tmp_path / 'b.pth'), '--arch', 'wrn-16-2',
        '--no-weights-only'
    ]) == 0


def test_cli_options_are_listed(capsys) -> None:
    with pytest.raises(SystemExit):
        tool.parse_args(['--help'])
    out = capsys.readouterr().out
    assert '--prefix SUBNETWORK' in out and 'mobilenet-v2' in out
