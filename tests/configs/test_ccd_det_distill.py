"""configs/ccd_det distillation: dense CCD on RetinaNet's class scores and
MMRazor's CWD on FPN features, both with JDA paired views of aligned
detection images."""
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope

from mmkd_ccd.datasets import toy_detection
from mmkd_ccd.structures import ViewPairing
from tests.utils import read_scalars, repo_path, run_tool

CONFIG_DIR = repo_path('configs', 'ccd_det')
DENSE_CCD = 'ccd_cls-scores_retina_r50_retina_r18_1x_coco.py'
DENSE_CCD_TINY = 'ccd_cls-scores_retina_r50_retina_r18_1xb2_tiny-coco.py'
JDA_CWD = 'cwd-jda_fpn_retina_r101_retina_r50_1x_coco.py'
JDA_CWD_TINY = 'cwd-jda_fpn_retina_r50_retina_r18_1xb2_tiny-coco.py'


def _pipeline_types(cfg: Config) -> list:
    return [t['type'] for t in cfg.train_dataloader.dataset.pipeline]


@pytest.mark.parametrize('config', [DENSE_CCD, JDA_CWD])
def test_full_configs_pair_aligned_views(config) -> None:
    cfg = Config.fromfile(osp.join(CONFIG_DIR, config))
    assert cfg.custom_imports.imports == ['mmkd_ccd']
    types = _pipeline_types(cfg)
    # geometric transforms before the views split, so both share them
    assert types.index('RandomFlip') < types.index('PairedViews')
    assert types[-1] == 'PackPairedDetInputs'
    views = cfg.train_dataloader.dataset.pipeline[types.index('PairedViews')]
    assert views.view_pipeline == []
    assert views.augment == [
        dict(type='DetJDA', policy='imagenet', photometric_only=True)
    ]
    assert cfg.model.data_preprocessor.type == 'PairedDetDataPreprocessor'
    assert cfg.model.distiller.type == 'PairedDistiller'
    assert 'PairedViews' not in str(cfg.val_dataloader.dataset.pipeline)


def test_dense_ccd_config_distills_retinanet_class_scores() -> None:
    cfg = Config.fromfile(osp.join(CONFIG_DIR, DENSE_CCD))
    assert cfg.model.type == 'SingleTeacherDistill'
    assert cfg.model.teacher.backbone.depth == 50
    assert cfg.model.architecture.backbone.depth == 18
    assert cfg.model.architecture.neck.in_channels == [64, 128, 256, 512]
    loss = cfg.model.distiller.distill_losses.loss_dense_ccd
    assert loss.type == 'DenseCCDLoss' and loss.num_classes == 80
    assert cfg.train_cfg.max_epochs == 12


@pytest.fixture(scope='module')
def workspace(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp('det_distill')
    toy_detection.write_coco_dataset(str(root / 'data' / 'tiny_coco'))
    return str(root)


def test_paired_batch_has_originals_then_augmented_views(
        workspace, monkeypatch) -> None:
    from mmdet.registry import DATASETS, MODELS

    monkeypatch.chdir(workspace)
    cfg = Config.fromfile(osp.join(CONFIG_DIR, DENSE_CCD_TINY))
    with DefaultScope.overwrite_default_scope('mmdet'):
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
        val_dataset = DATASETS.build(cfg.val_dataloader.dataset)
        preprocessor = MODELS.build(cfg.model.data_preprocessor)
    batch = preprocessor(
        pseudo_collate([dataset[0], dataset[1]]), training=True)
    inputs, samples = batch['inputs'], batch['data_samples']
    assert inputs.shape[0] == 4 and inputs.shape[1] == 3
    assert [s.view for s in samples] == ['original'] * 2 + ['augmented'] * 2
    assert [s.pair_index for s in samples] == [0, 1, 0, 1]
    pairing = ViewPairing.from_data_samples(samples)
    assert pairing.partner_rows.tolist() == [0, 1]
    for index in range(2):
        original, augmented = samples[index], samples[index + 2]
        assert torch.equal(original.gt_instances.bboxes,
                           augmented.gt_instances.bboxes)
        assert torch.equal(original.gt_instances.labels,
                           augmented.gt_instances.labels)
        assert original.img_shape == augmented.img_shape
        assert 'jda_ops' in original
    # validation batches are single views, preprocessed as by mmdet
    val_batch = preprocessor(
        pseudo_collate([val_dataset[0], val_dataset[1]]), training=False)
    assert val_batch['inputs'].shape[0] == 2
    assert 'view' not in val_batch['data_samples'][0]


@pytest.fixture(scope='module')
def trained(workspace, tmp_path_factory) -> dict:
    """Each tiny config trained by tools/train.py (9 iterations, then a COCO
    evaluation of student and teacher), random teacher."""
    runs = {}
    for config in (DENSE_CCD_TINY, JDA_CWD_TINY):
        work_dir = str(tmp_path_factory.mktemp('work'))
        run_tool([
            repo_path('tools', 'train.py'),
            osp.join(CONFIG_DIR, config), '--work-dir', work_dir,
            '--cfg-options', 'randomness.seed=0'
        ], workspace)
        runs[config] = read_scalars(work_dir)
    return runs


def _train_records(records: list) -> list:
    return [r for r in records if 'loss' in r]


def test_dense_ccd_trains_and_logs_the_weight(trained) -> None:
    records = _train_records(trained[DENSE_CCD_TINY])
    assert len(records) == 9
    for record in records:
        assert math.isfinite(record['loss'])
        assert math.isfinite(record['distill.loss_dense_ccd'])
        assert record['distill.loss_dense_ccd'] >= 0
        assert 0.0 <= record['distill.ccd_weight'] <= 2.0
    assert 'coco/bbox_mAP' in trained[DENSE_CCD_TINY][-1]


def test_jda_cwd_trains_on_all_views(trained) -> None:
    records = _train_records(trained[JDA_CWD_TINY])
    assert len(records) == 9
    for record in records:
        losses = [v for k, v in record.items() if k.startswith('distill.')]
        assert len(losses) == 5 and all(math.isfinite(v) for v in losses)
        assert 'distill.ccd_weight' not in record


def test_dense_ccd_with_an_informative_teacher(workspace, tmp_path) -> None:
    """A teacher whose class logits vary over locations and views: the CCD
    weight drops below 2 and the student's distillation loss falls."""
    from mmdet.registry import MODELS

    cfg = Config.fromfile(osp.join(CONFIG_DIR, DENSE_CCD_TINY))
    # The whole teacher from one seed: its weights must not depend on what
    # the tests before this one drew.
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet'):
        teacher = MODELS.build(cfg.model.teacher)
    # RetinaHead starts every class logit at the same prior, which would
    # make both views agree everywhere (weight 2); spread them out.
    torch.nn.init.normal_(teacher.bbox_head.retina_cls.weight, std=0.5)
    ckpt = str(tmp_path / 'teacher.pth')
    torch.save({'state_dict': teacher.state_dict()}, ckpt)
    work_dir = str(tmp_path / 'work')
    run_tool([
        repo_path('tools', 'train.py'),
        osp.join(CONFIG_DIR, DENSE_CCD_TINY), '--work-dir', work_dir,
        '--cfg-options', 'randomness.seed=0', f'model.teacher_ckpt={ckpt}'
    ], workspace)
    records = _train_records(read_scalars(work_dir))
    weights = [r['distill.ccd_weight'] for r in records]
    assert all(0.0 <= w <= 2.0 for w in weights)
    assert sum(weights) / len(weights) < 1.95, weights
    distill = [r['distill.loss_dense_ccd'] for r in records]
    assert distill[0] > 1e-3
    assert sum(distill[-3:]) < sum(distill[:3]), distill
