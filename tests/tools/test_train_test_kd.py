"""MMRazor's plain KD through this project's tools, end to end on CPU."""
import json
import math
import os.path as osp
import sys

import torch

from tests.utils import read_scalars, repo_path, run_tool

CONFIG = repo_path('configs', 'kd', 'kd_logits_resnet34_resnet18_1xb8_tiny.py')


def test_train_checkpoint_resume_test(tiny_workspace, tmp_path):
    work_dir = str(tmp_path / 'work')
    train = repo_path('tools', 'train.py')
    # 32 train images / batch 8 = 4 iterations per epoch.
    output = run_tool([train, CONFIG, '--work-dir', work_dir, '--cfg-options',
                       'train_cfg.max_epochs=1', 'randomness.seed=0'],
                      tiny_workspace)
    first = osp.join(work_dir, 'epoch_1.pth')
    assert osp.isfile(first)
    # The run ends with one line: the final metrics and the checkpoint.
    last_val = [r for r in read_scalars(work_dir) if 'iter' not in r][-1]
    assert output.rstrip().splitlines()[-1] == (
        'train.py: val after epoch 1: '
        f'accuracy/top1={last_val["accuracy/top1"]:.2f}, '
        f'teacher.accuracy/top1={last_val["teacher.accuracy/top1"]:.2f} | '
        f'checkpoint: {first}')
    records = [r for r in read_scalars(work_dir) if 'loss' in r]
    assert [r['iter'] for r in records] == [1, 2, 3, 4]
    for r in records:
        assert math.isfinite(r['student.loss'])
        assert math.isfinite(r['distill.loss_kl'])

    run_tool([train, CONFIG, '--work-dir', work_dir, '--resume', first,
              '--cfg-options', 'train_cfg.max_epochs=2', 'randomness.seed=0'],
             tiny_workspace)
    second = osp.join(work_dir, 'epoch_2.pth')
    meta = torch.load(second, map_location='cpu', weights_only=False)['meta']
    assert (meta['epoch'], meta['iter']) == (2, 8)
    resumed = [r['iter'] for r in read_scalars(work_dir) if 'loss' in r]
    # The second run continued at iteration 5; it did not start again at 1.
    assert resumed == list(range(1, 9))

    out_file = str(tmp_path / 'metrics.json')
    output = run_tool([repo_path('tools', 'test.py'), CONFIG, second,
                       '--work-dir', str(tmp_path / 'test'), '--out',
                       out_file], tiny_workspace)
    assert 'accuracy/top1' in output
    with open(out_file) as f:
        metrics = json.load(f)
    assert 0 <= metrics['accuracy/top1'] <= 100
    assert 0 <= metrics['teacher.accuracy/top1'] <= 100
    assert output.rstrip().splitlines()[-1] == (
        f'test.py: accuracy/top1={metrics["accuracy/top1"]:.2f}, '
        f'teacher.accuracy/top1={metrics["teacher.accuracy/top1"]:.2f} | '
        f'checkpoint: {second} | written to {out_file}')


def test_torchrun_two_processes(tiny_workspace, tmp_path):
    work_dir = str(tmp_path / 'ddp')
    run_tool([
        repo_path('tools', 'dist_train.sh'), CONFIG, '2', '--work-dir',
        work_dir, '--cfg-options', 'train_cfg.max_epochs=1',
        'env_cfg.dist_cfg.backend=gloo'
    ], tiny_workspace, program='bash',
             env=dict(OMP_NUM_THREADS='1', MASTER_PORT='29531',
                      PYTHON=sys.executable))
    meta = torch.load(osp.join(work_dir, 'epoch_1.pth'), map_location='cpu',
                      weights_only=False)['meta']
    # Two processes share the 32 images: 16 each, batch 8 -> 2 iterations.
    assert meta['iter'] == 2
