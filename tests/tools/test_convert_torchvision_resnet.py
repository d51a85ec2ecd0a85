"""tools/convert/torchvision_resnet_to_mmpretrain.py: key mapping, strict load
into mmpretrain, identical logits, error reporting and the CLI."""
import argparse
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest
import torch
import torchvision
from tests.utils import load_tool

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / 'tools' / 'convert' / 'torchvision_resnet_to_mmpretrain.py'


tool = load_tool(TOOL)


def _torchvision_resnet(name: str, seed: int = 0) -> torch.nn.Module:
    """Randomly initialised torchvision model in eval mode whose BN running
    stats are random too, so a BN tensor landing in the wrong place shows."""
    torch.manual_seed(seed)
    model = getattr(torchvision.models, name)(weights=None)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.5, 0.5)
            module.num_batches_tracked.fill_(seed + 7)
    return model.eval()


def _mmpretrain_classifier(depth: int) -> torch.nn.Module:
    from mmpretrain.registry import MODELS
    return MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(
                type='ResNet',
                depth=depth,
                num_stages=4,
                out_indices=(3, ),
                style='pytorch'),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(
                type='LinearClsHead',
                num_classes=1000,
                in_channels=512 if depth < 50 else 2048))).eval()


@pytest.mark.parametrize('depth', [18, 34, 50])
def test_converted_resnet_gives_identical_logits(depth: int) -> None:
    reference = _torchvision_resnet(f'resnet{depth}')
    source = reference.state_dict()
    converted = tool.convert_torchvision_resnet(source)

    classifier = _mmpretrain_classifier(depth)
    assert list(converted) == list(classifier.state_dict())
    classifier.load_state_dict(converted, strict=True)
    assert torch.equal(classifier.state_dict()['backbone.bn1.running_var'],
                       source['bn1.running_var'])

    inputs = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = reference(inputs)
        actual = classifier(inputs, mode='tensor')
    assert actual.shape == (2, 1000)
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize('name', ['wide_resnet50_2', 'resnext50_32x4d'])
def test_wide_and_resnext_verify(name: str) -> None:
    source = _torchvision_resnet(name).state_dict()
    converted = tool.convert_torchvision_resnet(source)
    assert tool.verify_conversion(
        source, converted, depth=50, input_shape=(1, 3, 32, 32)) <= 1e-5


def test_legacy_checkpoint_without_num_batches_tracked() -> None:
    source = {
        k: v
        for k, v in _torchvision_resnet('resnet18').state_dict().items()
        if not k.endswith('num_batches_tracked')
    }
    converted = tool.convert_torchvision_resnet(source)
    assert converted['backbone.layer1.0.bn1.num_batches_tracked'] == 0
    _mmpretrain_classifier(18).load_state_dict(converted, strict=True)


def test_unknown_key_is_named() -> None:
    source = _torchvision_resnet('resnet18').state_dict()
    source['layer1.0.se.fc.weight'] = torch.zeros(1)
    with pytest.raises(ValueError, match=r'layer1\.0\.se\.fc\.weight'):
        tool.convert_torchvision_resnet(source)


def test_missing_key_is_named() -> None:
    source = _torchvision_resnet('resnet18').state_dict()
    del source['layer2.1.bn2.running_var']
    with pytest.raises(ValueError, match=r'layer2\.1\.bn2\.running_var'):
        tool.convert_torchvision_resnet(source)


@pytest.mark.parametrize('wrapper', [None, 'state_dict', 'model'])
def test_load_source_unwraps(tmp_path: Path, wrapper: str) -> None:
    source: Dict[str, torch.Tensor] = _torchvision_resnet(
        'resnet18').state_dict()
    path = tmp_path / 'resnet18.pth'
    # the 'model' case mimics torchvision's reference train.py checkpoints
    torch.save(
        source if wrapper is None else {
            wrapper: source,
            'epoch': 3,
            'args': argparse.Namespace(lr=0.1)
        }, path)
    loaded = tool.load_source_state_dict(path)
    assert list(loaded) == list(source)
    assert len(tool.convert_torchvision_resnet(loaded)) == len(source)


def test_missing_source_names_path(tmp_path: Path) -> None:
    path = tmp_path / 'nope.pth'
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        tool.load_source_state_dict(path)


def test_cli_end_to_end(tmp_path: Path) -> None:
    src = tmp_path / 'resnet18.pth'
    dst = tmp_path / 'out' / 'resnet18_mmpretrain.pth'
    torch.save(_torchvision_resnet('resnet18').state_dict(), src)

    result = subprocess.run(
        [sys.executable,
         str(TOOL),
         str(src),
         str(dst), '--verify-depth', '18'],
        capture_output=True,
        text=True,
        cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert 'OK' in result.stdout

    checkpoint = torch.load(dst, map_location='cpu', weights_only=True)
    assert checkpoint['meta']['converted_from'] == 'torchvision'
    assert checkpoint['meta']['source'] == str(src)
    _mmpretrain_classifier(18).load_state_dict(
        checkpoint['state_dict'], strict=True)


def test_cli_wrong_depth_and_missing_source_fail(tmp_path: Path) -> None:
    src = tmp_path / 'resnet18.pth'
    torch.save(_torchvision_resnet('resnet18').state_dict(), src)
    assert tool.main([str(src), str(tmp_path / 'a.pth'),
                      '--verify-depth', '34']) == 1
    assert not (tmp_path / 'a.pth').exists()
    assert tool.main([str(tmp_path / 'nope.pth'),
                      str(tmp_path / 'b.pth')]) == 1
