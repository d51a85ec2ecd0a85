"""Two processes through tools/dist_train.sh (gloo, CPU): every rank draws
its own augmentation, and with batch norm frozen and augmentation made
deterministic two processes of batch 8 train exactly what one process of
batch 16 trains, and log the same (rank-averaged) losses."""
import os.path as osp
import sys

import numpy as np
import torch

from tests.tools.probe_hooks import PROBE_ENV, probe_config, read_batches
from tests.utils import repo_path, run_tool

CONFIG = repo_path('configs', 'ccd',
                   'ccd_logits_resnet34_resnet18_1xb8_tiny.py')
LOGGED = ('loss', 'student.loss', 'distill.loss_ccd', 'distill.ccd_weight')


def dist_train(config: str, work_dir: str, cwd: str, port: int,
               *options: str) -> None:
    run_tool([repo_path('tools', 'dist_train.sh'), config, '2',
              '--work-dir', work_dir, '--cfg-options',
              'env_cfg.dist_cfg.backend=gloo', *options], cwd,
             program='bash', env=dict(OMP_NUM_THREADS='1',
                                      MASTER_PORT=str(port),
                                      PYTHON=sys.executable))


def test_ranks_draw_their_own_augmentation(tiny_workspace, tmp_path):
    """With num_workers=0 mmengine seeds both ranks alike, so their JDA ops
    (and crops, flips) coincided at every step."""
    config = probe_config(str(tmp_path), CONFIG)
    work_dir = str(tmp_path / 'work')
    dist_train(config, work_dir, tiny_workspace, 29541,
               'randomness.seed=0')
    ranks = read_batches(work_dir, 0), read_batches(work_dir, 1)
    # 16 images per rank, batch 8, 2 epochs.
    assert [len(batches) for batches in ranks] == [4, 4]
    assert any(b['jda_ops'] != [[]] * 8 for b in ranks[0] + ranks[1])
    for first, second in zip(*ranks):
        assert not set(first['sample_idx']) & set(second['sample_idx'])
        assert first['jda_ops'] != second['jda_ops']
        # Each rank logged the mean over both ranks, i.e. the same values.
        assert first['losses'] == second['losses']


# Resize only, and JDA ops that always fire and draw no sign.
DETERMINISTIC_AUGMENTATION = """
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='PairedViews',
         view_pipeline=[dict(type='Resize', scale=(32, 32))],
         augment=[dict(type='JDA', prob=1.0, policy=[
             dict(type='invert'), dict(type='rotate', magnitude=30.0)])]),
    dict(type='PackInputs', meta_keys=('sample_idx', 'img_path', 'jda_ops')),
]))
"""


def test_two_processes_equal_one_process_of_the_global_batch(
        tiny_workspace, tmp_path):
    config = probe_config(str(tmp_path), CONFIG, DETERMINISTIC_AUGMENTATION,
                          hooks=('RecordBatchesHook', 'FreezeBatchNormHook'))
    one, two = str(tmp_path / 'one'), str(tmp_path / 'two')
    run_tool([repo_path('tools', 'train.py'), config, '--work-dir', one,
              '--cfg-options', 'randomness.seed=0',
              'train_dataloader.batch_size=16'], tiny_workspace,
             env=dict(OMP_NUM_THREADS='1', **PROBE_ENV))
    dist_train(config, two, tiny_workspace, 29542, 'randomness.seed=0')

    single = read_batches(one)
    ranks = read_batches(two, 0), read_batches(two, 1)
    assert [b['iter'] for b in single] == [1, 2, 3, 4]
    for step, first, second in zip(single, *ranks):
        assert step['iter'] == first['iter'] == second['iter']
        # The same 16 images per step, split over the two ranks.
        assert sorted(step['sample_idx']) == sorted(first['sample_idx'] +
                                                    second['sample_idx'])
        for key in LOGGED:
            np.testing.assert_allclose(first['losses'][key],
                                       step['losses'][key], atol=1e-6,
                                       err_msg=f'{key}, iter {step["iter"]}')
    single_weights, dist_weights = (
        torch.load(osp.join(work_dir, 'epoch_2.pth'), map_location='cpu',
                   weights_only=False)['state_dict']
        for work_dir in (one, two))
    student = [k for k in single_weights if k.startswith('architecture.')
               and single_weights[k].is_floating_point()]
    assert student
    worst = max((single_weights[k] - dist_weights[k]).abs().max().item()
                for k in student)
    print(f'largest student weight difference, 2 x 8 vs 1 x 16: {worst:.3g}')
    assert worst < 1e-6
