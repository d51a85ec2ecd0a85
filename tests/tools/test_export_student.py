"""tools/export_student.py: a tiny KD run's student exported, then loaded by
mmpretrain (identical logits, tools/test.py) and by an mmdet backbone."""
import json
import os.path as osp
from typing import Dict

import numpy as np
import pytest
import torch
from torch import nn

from tests.utils import load_tool, read_scalars, repo_path, run_tool

TOOL = repo_path('tools', 'export_student.py')
CONFIG = repo_path('configs', 'kd', 'kd_logits_resnet34_resnet18_1xb8_tiny.py')
STUDENT_CONFIG = 'mmpretrain::resnet/resnet18_8xb32_in1k.py'


tool = load_tool(TOOL)


@pytest.fixture(scope='module')
def exported(tiny_workspace, tmp_path_factory) -> Dict[str, str]:
    """One epoch of the tiny KD config, exported with the CLI."""
    root = tmp_path_factory.mktemp('export_student')
    work_dir = str(root / 'work')
    run_tool([repo_path('tools', 'train.py'), CONFIG, '--work-dir', work_dir,
              '--cfg-options', 'train_cfg.max_epochs=1', 'randomness.seed=0'],
             tiny_workspace)
    checkpoint = osp.join(work_dir, 'epoch_1.pth')
    out_dir = str(root / 'export')
    output = run_tool([TOOL, checkpoint, out_dir, '--name', 'kd_r18'],
                      tiny_workspace)
    return dict(
        work_dir=work_dir,
        checkpoint=checkpoint,
        output=output,
        classifier=osp.join(out_dir, 'kd_r18_classifier.pth'),
        backbone=osp.join(out_dir, 'kd_r18_backbone.pth'))


def _distill_state_dict(path: str) -> Dict[str, torch.Tensor]:
    # our own training output: trusted
    return torch.load(path, map_location='cpu',
                      weights_only=False)['state_dict']


def _student_classifier(checkpoint: str = None) -> nn.Module:
    from mmengine.hub import get_config
    from mmpretrain.apis import init_model
    return init_model(get_config(STUDENT_CONFIG), checkpoint, device='cpu')


def test_cli_reports_what_it_wrote(exported) -> None:
    # ResNet-18: 120 backbone tensors (BN counters included) + head.fc's 2
    assert f'saved 122 tensors to {exported["classifier"]}' in (
        exported['output'])
    assert f'saved 120 tensors to {exported["backbone"]}' in (
        exported['output'])
    assert "left out (under ['teacher'])" in exported['output']


def test_exports_are_plain_data(exported) -> None:
    classifier = torch.load(exported['classifier'], weights_only=True)
    backbone = torch.load(exported['backbone'], weights_only=True)
    assert {k.split('.')[0] for k in classifier['state_dict']} == {
        'backbone', 'head'}
    assert list(backbone['state_dict']) == [
        k for k in classifier['state_dict'] if k.startswith('backbone.')]
    meta = classifier['meta']
    assert meta['dataset_meta']['classes'] == tuple(
        f'class_{i}' for i in range(4))
    assert 'cfg' not in meta and 'SingleTeacherDistill' in meta['distill_cfg']
    assert meta['student_key'] == 'architecture'
    assert meta['exported_from'] == osp.abspath(exported['checkpoint'])


def test_classifier_gives_the_students_logits(exported) -> None:
    from mmengine.config import Config
    from mmrazor.registry import MODELS

    distill_cfg = Config.fromfile(CONFIG)
    algorithm = MODELS.build(distill_cfg.model)
    algorithm.load_state_dict(
        _distill_state_dict(exported['checkpoint']), strict=True)
    algorithm.eval()

    classifier = _student_classifier()
    exported_sd = torch.load(exported['classifier'],
                             weights_only=True)['state_dict']
    classifier.load_state_dict(exported_sd, strict=True)
    classifier.eval()
    # init_model's own (non-strict) loading agrees, and takes the classes
    loaded = _student_classifier(exported['classifier'])
    assert loaded._dataset_meta['classes'][0] == 'class_0'

    inputs = torch.randn(
        2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = algorithm.architecture(inputs, mode='tensor')
        actual = classifier(inputs, mode='tensor')
        via_init_model = loaded(inputs, mode='tensor')
    assert actual.shape == (2, 1000)
    assert torch.equal(actual, expected)
    assert torch.equal(via_init_model, expected)


def test_tools_test_evaluates_the_classifier(exported, tiny_workspace,
                                             tmp_path) -> None:
    # the student's own config, on the tiny data
    tiny_data = repo_path('configs', '_base_', 'datasets', 'tiny_custom.py')
    config = tmp_path / 'resnet18_tiny.py'
    config.write_text(f'_base_ = [{STUDENT_CONFIG!r}, {tiny_data!r}]\n'
                      'test_dataloader = _base_.tiny_val_dataloader\n'
                      'test_evaluator = _base_.tiny_evaluator\n')
    out_file = str(tmp_path / 'metrics.json')
    run_tool([repo_path('tools', 'test.py'), str(config),
              exported['classifier'], '--work-dir', str(tmp_path / 'test'),
              '--out', out_file], tiny_workspace)
    with open(out_file) as f:
        top1 = json.load(f)['accuracy/top1']
    # the same images and normalisation as the distillation run's validation
    val = [r for r in read_scalars(exported['work_dir'])
           if 'accuracy/top1' in r]
    assert top1 == val[-1]['accuracy/top1']


def test_backbone_loads_into_mmdet_resnet(exported) -> None:
    from mmdet.registry import MODELS

    # the backbone of mmdet's retinanet_r18_fpn_1x_coco.py
    backbone = MODELS.build(
        dict(
            type='ResNet',
            depth=18,
            num_stages=4,
            out_indices=(0, 1, 2, 3),
            frozen_stages=1,
            norm_cfg=dict(type='BN', requires_grad=True),
            norm_eval=True,
            style='pytorch',
            init_cfg=dict(
                type='Pretrained',
                checkpoint=exported['backbone'],
                prefix='backbone.')))
    backbone.init_weights()

    student = tool.extract_student(
        _distill_state_dict(exported['checkpoint']))
    expected = {
        k[len('backbone.'):]: v
        for k, v in student.items() if k.startswith('backbone.')
    }
    loaded = backbone.state_dict()
    # same keys: the non-strict Pretrained init left nothing at random
    assert set(loaded) == set(expected)
    for key in ('conv1.weight', 'bn1.running_var', 'layer4.1.conv2.weight',
                'layer2.0.downsample.0.weight'):
        assert torch.equal(loaded[key], expected[key]), key
    assert all(torch.equal(loaded[k], expected[k]) for k in expected)


def _toy_distill_model() -> nn.Module:
    return nn.ModuleDict(
        dict(
            architecture=nn.ModuleDict(
                dict(backbone=nn.BatchNorm2d(2), head=nn.Linear(2, 3))),
            teacher=nn.Linear(2, 3),
            distiller=nn.ModuleDict(dict(proj=nn.Linear(2, 2)))))


def test_extract_student_loads_strictly_with_module_versions() -> None:
    model = _toy_distill_model()
    student = tool.extract_student(model.state_dict())
    assert list(student) == list(model['architecture'].state_dict())
    # BatchNorm's version 2 travels with its weights
    assert student._metadata['backbone'] == {'version': 2}
    fresh = _toy_distill_model()['architecture']
    fresh.load_state_dict(student, strict=True)

    backbone = tool.backbone_only(student)
    assert list(backbone) == [k for k in student if k.startswith('backbone.')]
    assert set(backbone._metadata) == {'', 'backbone'}


def test_no_student_keys_names_the_prefixes_found(tmp_path, capsys) -> None:
    model = _toy_distill_model()
    teacher_only = {
        k: v
        for k, v in model.state_dict().items()
        if not k.startswith('architecture.')
    }
    with pytest.raises(KeyError, match=r"\['distiller', 'teacher'\]"):
        tool.extract_student(teacher_only)

    path = tmp_path / 'teacher_only.pth'
    torch.save({'state_dict': teacher_only, 'meta': {}}, path)
    assert tool.main([str(path), str(tmp_path / 'out')]) == 1
    error = capsys.readouterr().err
    assert 'no architecture.* keys' in error
    assert "['distiller', 'teacher']" in error
    assert not (tmp_path / 'out').exists()


def test_student_without_backbone(tmp_path) -> None:
    with pytest.raises(KeyError, match=r"no backbone\.\* keys.*\['head'\]"):
        tool.backbone_only({'head.fc.weight': torch.zeros(1)})
    path = tmp_path / 'no_backbone.pth'
    torch.save({'state_dict': {'architecture.head.fc.weight': torch.zeros(1)}},
               path)
    assert tool.main([str(path), str(tmp_path / 'out')]) == 1


def test_missing_checkpoint_is_named(tmp_path, capsys) -> None:
    missing = tmp_path / 'nowhere' / 'epoch_3.pth'
    assert tool.main([str(missing), str(tmp_path / 'out')]) == 1
    assert str(missing) in capsys.readouterr().err


def test_plain_meta_leaves_out_numpy_values() -> None:
    kept, dropped = tool.plain_meta(
        dict(epoch=3, dataset_meta=dict(classes=('a', 'b')),
             hist=np.zeros(2), seed=np.int64(0)))
    assert kept == dict(epoch=3, dataset_meta=dict(classes=('a', 'b')))
    assert dropped == ['hist', 'seed']
