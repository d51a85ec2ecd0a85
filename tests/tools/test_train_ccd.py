"""CCD+JDA through tools/train.py: a tiny run whose loss falls, and the
paper's ImageNet recipe starting on an ImageNet-layout folder."""
import math

import numpy as np
import pytest

from mmkd_ccd.datasets import toy_data
from tests.utils import read_scalars, repo_path, run_tool

TRAIN = repo_path('tools', 'train.py')


# The second runs JDA on the model's device (here the CPU).
@pytest.mark.parametrize('config', [
    'ccd_logits_resnet34_resnet18_1xb8_tiny.py',
    'ccd_logits_resnet34_resnet18_1xb8-devicejda_tiny.py'
])
def test_tiny_ccd_run_loss_falls(tiny_workspace, tmp_path, config):
    work_dir = str(tmp_path / 'ccd')
    run_tool([
        TRAIN,
        repo_path('configs', 'ccd', config),
        '--work-dir', work_dir, '--cfg-options', 'train_cfg.max_epochs=6',
        'optim_wrapper.optimizer.lr=0.01', 'randomness.seed=0'
    ], tiny_workspace)
    records = [r for r in read_scalars(work_dir) if 'loss' in r]
    assert len(records) == 24
    for r in records:
        for key in ('loss', 'student.loss', 'distill.loss_ccd'):
            assert math.isfinite(r[key]), (key, r)
        assert 0.0 <= r['distill.ccd_weight'] <= 2.0
    losses = np.array([r['loss'] for r in records])
    # Loss of the last 2 epochs well below that of the first epoch.
    assert losses[-8:].mean() < 0.8 * losses[:4].mean(), losses


def test_paper_recipe_starts_on_imagenet_layout(tmp_path):
    root = str(tmp_path / 'imagenet')
    splits = toy_data.split_stratified(
        toy_data.make_shapes(num_classes=4, num_per_class=4, size=48), 0.25)
    toy_data.write_imagenet_layout(root, splits)
    loader = dict(num_workers=0, persistent_workers=False)
    options = [f'{split}_dataloader.{key}={value}'
               for split in ('train', 'val', 'test')
               for key, value in dict(loader, **{'dataset.data_root': root}
                                      ).items()]
    work_dir = str(tmp_path / 'work')
    output = run_tool([
        TRAIN, repo_path('configs', 'ccd', 'ccd_logits_resnet34_resnet18_8xb96-200e_in1k.py'),
        '--work-dir', work_dir, '--cfg-options', *options,
        'train_dataloader.batch_size=4', 'train_cfg.max_epochs=1',
        'model.teacher_ckpt=None', 'allow_random_teacher=True',
        'default_hooks.logger.interval=1'
    ], str(tmp_path))
    records = [r for r in read_scalars(work_dir) if 'loss' in r]
    # 12 images / 4 per step = 3 steps of 8 views at 224x224.
    assert [r['iter'] for r in records] == [1, 2, 3]
    assert all(math.isfinite(r['distill.loss_ccd']) for r in records)
    assert 'teacher.accuracy/top1' in output
