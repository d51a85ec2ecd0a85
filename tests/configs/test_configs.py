"""Every classification config builds: its model, and its train pipeline on
a generated image, then one loss step on what the pipeline produced."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import MODELS, DefaultScope

from tests.utils import REPO

CONFIGS = sorted(
    glob.glob(osp.join(REPO, 'configs', 'ccd', '*.py')) +
    glob.glob(osp.join(REPO, 'configs', 'kd', '*.py')) +
    glob.glob(osp.join(REPO, 'configs', 'demo', '*.py')))


def test_configs_found():
    names = [osp.basename(c) for c in CONFIGS]
    assert 'ccd_logits_resnet34_resnet18_8xb96-200e_in1k.py' in names
    assert sum('cifar100' in n for n in names) >= 20


def train_pipeline(cfg: Config) -> list:
    """The train pipeline, inside dataset wrappers if there are any."""
    dataset = cfg.train_dataloader.dataset
    while 'pipeline' not in dataset:
        dataset = dataset.dataset
    return dataset.pipeline


def sample_for(cfg: Config, tmp_path) -> dict:
    """Input to the train pipeline: a decoded image (CIFAR datasets hold
    arrays) or a file for pipelines that start with LoadImageFromFile."""
    rng = np.random.default_rng(0)
    pipeline = train_pipeline(cfg)
    if pipeline[0]['type'].endswith('LoadImageFromFile'):
        import cv2
        path = str(tmp_path / 'image.png')
        cv2.imwrite(path, rng.integers(0, 256, (48, 40, 3), np.uint8))
        return dict(img_path=path, gt_label=1, sample_idx=0)
    img = rng.integers(0, 256, (32, 32, 3), np.uint8)
    return dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2],
                gt_label=1, sample_idx=0)


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds_and_steps(path, tmp_path):
    cfg = Config.fromfile(path)
    scope = cfg.get('default_scope', 'mmpretrain')
    if 'teacher' in cfg.model:
        cfg.model.teacher_ckpt = None
        if 'cfg_path' in cfg.model.teacher:
            cfg.model.teacher.pretrained = False
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(cfg.model)
        pipeline = Compose(train_pipeline(cfg))
    packed = pipeline(sample_for(cfg, tmp_path))
    batch = pseudo_collate([packed, pipeline(sample_for(cfg, tmp_path))])
    model.train()
    losses = model(**model.data_preprocessor(batch, True), mode='loss')
    assert losses and all(torch.isfinite(v).all() for v in losses.values())
    if 'PairedViews' in str(train_pipeline(cfg)):
        assert isinstance(packed['inputs'], list) and len(packed['inputs']) == 2
        if 'teacher' in cfg.model:
            assert any(k.startswith('distill.') for k in losses)
