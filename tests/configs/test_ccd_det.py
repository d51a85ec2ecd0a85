"""configs/ccd_det: a CCD student's backbone, exported by
tools/export_student.py, trains mmdet's RetinaNet and Faster R-CNN on a
generated COCO-format folder; box-aware JDA trains RetinaNet."""
import math
import os.path as osp
from typing import Dict, List

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmkd_ccd.datasets import toy_detection
from tests.utils import read_scalars, repo_path, run_tool

CONFIG_DIR = repo_path('configs', 'ccd_det')
BACKBONE = osp.join('checkpoints', 'ccd_resnet18_backbone.pth')
CCD_BACKBONE_TINY = [
    'retinanet_r18_fpn_ccd-backbone_1xb2_tiny-coco.py',
    'faster-rcnn_r18_fpn_ccd-backbone_1xb2_tiny-coco.py',
]
JDA_TINY = 'retinanet_r18_fpn_jda_1xb2_tiny-coco.py'
# what mmengine logs when a Pretrained init leaves weights at random
MISMATCH = 'missing keys in source state_dict'


def _random_student_checkpoint(path: str) -> None:
    """An MMRazor-style distillation checkpoint whose student is mmpretrain's
    ResNet-18 classifier with every float tensor random, BN statistics
    included, so that no init could produce the same values."""
    from mmengine.hub import get_config
    from mmpretrain.registry import MODELS

    with DefaultScope.overwrite_default_scope('mmpretrain'):
        classifier = MODELS.build(
            get_config('mmpretrain::resnet/resnet18_8xb32_in1k.py').model)
    generator = torch.Generator().manual_seed(0)
    state_dict = {}
    for key, value in classifier.state_dict().items():
        if value.is_floating_point():
            value = torch.randn(value.shape, generator=generator) * 0.05
            if key.endswith('running_var'):
                value = value.abs() + 0.5
        state_dict[f'architecture.{key}'] = value
    state_dict['teacher.fc.weight'] = torch.zeros(2, 2)
    torch.save({'state_dict': state_dict, 'meta': {}}, path)


@pytest.fixture(scope='module')
def det_workspace(tmp_path_factory) -> str:
    """A folder holding ``data/tiny_coco`` (6 train and 4 val 64x64 images)
    and ``checkpoints/ccd_resnet18_backbone.pth`` exported by the CLI from a
    random student: what the tiny configs read, relative to it."""
    root = tmp_path_factory.mktemp('det_workspace')
    toy_detection.write_coco_dataset(str(root / 'data' / 'tiny_coco'))
    distill_checkpoint = str(root / 'ccd_distill.pth')
    _random_student_checkpoint(distill_checkpoint)
    output = run_tool([
        repo_path('tools', 'export_student.py'), distill_checkpoint,
        'checkpoints', '--name', 'ccd_resnet18'
    ], str(root))
    assert f'saved 120 tensors to {BACKBONE}' in output
    return str(root)


def _exported_backbone(workspace: str) -> Dict[str, torch.Tensor]:
    state_dict = torch.load(
        osp.join(workspace, BACKBONE), weights_only=True)['state_dict']
    return {k[len('backbone.'):]: v for k, v in state_dict.items()}


def _train(workspace: str, config: str, work_dir: str) -> str:
    return run_tool([
        repo_path('tools', 'train.py'),
        osp.join(CONFIG_DIR, config), '--work-dir', work_dir,
        '--cfg-options', 'randomness.seed=0'
    ], workspace)


def _losses(records: List[dict]) -> List[float]:
    return [r['loss'] for r in records if 'loss' in r]


def test_toy_dataset_is_coco_and_deterministic(tmp_path) -> None:
    import json

    from pycocotools.coco import COCO

    first = toy_detection.write_coco_dataset(str(tmp_path / 'a'), seed=3)
    second = toy_detection.write_coco_dataset(str(tmp_path / 'b'), seed=3)
    for split, count in (('train', 6), ('val', 4)):
        ann_file = osp.join('annotations', f'instances_{split}.json')
        with open(osp.join(first, ann_file)) as f:
            ann = json.load(f)
        with open(osp.join(second, ann_file)) as f:
            assert json.load(f) == ann
        coco = COCO(osp.join(first, ann_file))
        assert len(coco.getImgIds()) == count
        assert [c['name'] for c in ann['categories']] == list(
            toy_detection.CATEGORIES)
        for image in ann['images']:
            objects = coco.getAnnIds(imgIds=image['id'])
            assert 1 <= len(objects) <= 3
            assert osp.isfile(osp.join(first, split, image['file_name']))
        for obj in ann['annotations']:
            x, y, w, h = obj['bbox']
            assert 0 <= x and x + w <= 64 and 0 <= y and y + h <= 64
            assert 0 < obj['area'] <= w * h and obj['iscrowd'] == 0


def test_toy_dataset_bad_arguments(tmp_path) -> None:
    with pytest.raises(ValueError, match='num_categories.*4'):
        toy_detection.write_coco_dataset(str(tmp_path), num_categories=4)
    with pytest.raises(ValueError, match='size.*16'):
        toy_detection.write_coco_dataset(str(tmp_path), size=16)


@pytest.mark.parametrize('config,head_key', [
    ('retinanet_r18_fpn_ccd-backbone_1x_coco.py', 'bbox_head'),
    ('faster-rcnn_r18_fpn_ccd-backbone_1x_coco.py', 'roi_head'),
])
def test_full_configs_take_the_exported_backbone(config, head_key) -> None:
    cfg = Config.fromfile(osp.join(CONFIG_DIR, config))
    assert cfg.custom_imports == dict(
        imports=['mmkd_ccd'], allow_failed_imports=False)
    assert cfg.model.backbone.depth == 18
    assert cfg.model.neck.in_channels == [64, 128, 256, 512]
    assert cfg.model.backbone.init_cfg == dict(
        type='Pretrained', checkpoint=BACKBONE, prefix='backbone.')
    assert head_key in cfg.model
    # the COCO setting is mmdet's own
    assert cfg.train_dataloader.dataset.data_root == 'data/coco/'
    assert cfg.train_cfg.max_epochs == 12


def test_jda_config_puts_detjda_between_annotations_and_resize() -> None:
    cfg = Config.fromfile(osp.join(CONFIG_DIR,
                                   'retinanet_r18_fpn_jda_1x_coco.py'))
    types = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert types.index('LoadAnnotations') < types.index('DetJDA') < (
        types.index('Resize'))
    assert 'jda_ops' in cfg.train_dataloader.dataset.pipeline[-1].meta_keys
    # the test pipeline is mmdet's, without JDA
    assert 'DetJDA' not in str(cfg.test_dataloader.dataset.pipeline)


@pytest.mark.parametrize('config', CCD_BACKBONE_TINY)
def test_init_weights_loads_every_backbone_tensor(config, det_workspace,
                                                  monkeypatch) -> None:
    from mmdet.registry import MODELS

    monkeypatch.chdir(det_workspace)
    cfg = Config.fromfile(osp.join(CONFIG_DIR, config))
    with DefaultScope.overwrite_default_scope('mmdet'):
        detector = MODELS.build(cfg.model)
    detector.init_weights()
    loaded = detector.backbone.state_dict()
    expected = _exported_backbone(det_workspace)
    assert set(loaded) == set(expected)
    assert all(torch.equal(loaded[k], expected[k]) for k in expected)


@pytest.fixture(scope='module')
def trained(det_workspace, tmp_path_factory) -> Dict[str, dict]:
    """Each tiny config trained through tools/train.py (9 iterations, then
    one COCO evaluation), by config name."""
    runs = {}
    for config in CCD_BACKBONE_TINY + [JDA_TINY]:
        work_dir = str(tmp_path_factory.mktemp('work'))
        output = _train(det_workspace, config, work_dir)
        runs[config] = dict(
            output=output, work_dir=work_dir,
            records=read_scalars(work_dir))
    return runs


@pytest.mark.parametrize('config', CCD_BACKBONE_TINY)
def test_detector_trains_from_the_exported_backbone(config, trained,
                                                    det_workspace) -> None:
    run = trained[config]
    assert f'load backbone. in model from: {BACKBONE}' in run['output']
    assert MISMATCH not in run['output']

    losses = _losses(run['records'])
    assert len(losses) == 9 and all(math.isfinite(x) for x in losses)
    # the same 6 images three times: the loss falls
    assert sum(losses[-3:]) < sum(losses[:3]), losses

    metrics = run['records'][-1]
    assert 'coco/bbox_mAP' in metrics and 'coco/bbox_mAP_50' in metrics

    # What training cannot have changed still holds the exported values:
    # the frozen stem and layer1 (frozen_stages=1) and every BN statistic
    # (norm_eval=True).
    checkpoint = torch.load(
        osp.join(run['work_dir'], 'epoch_3.pth'), map_location='cpu',
        weights_only=False)  # our own training output: trusted
    trained_backbone = {
        k[len('backbone.'):]: v
        for k, v in checkpoint['state_dict'].items()
        if k.startswith('backbone.')
    }
    expected = _exported_backbone(det_workspace)
    assert set(trained_backbone) == set(expected)
    unchanged = [
        k for k in expected
        if k.startswith(('conv1.', 'bn1.', 'layer1.')) or 'running_' in k
    ]
    assert len(unchanged) > 40
    for key in unchanged:
        assert torch.equal(trained_backbone[key], expected[key]), key
    assert not torch.equal(trained_backbone['layer4.1.conv2.weight'],
                           expected['layer4.1.conv2.weight'])


def test_jda_detector_trains(trained) -> None:
    run = trained[JDA_TINY]
    losses = _losses(run['records'])
    assert len(losses) == 9 and all(math.isfinite(x) for x in losses)
    assert 'coco/bbox_mAP' in run['records'][-1]
    # the random backbone of the tiny config: nothing to load
    assert 'load backbone.' not in run['output']
