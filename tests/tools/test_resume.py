"""Kill a tiny CCD+JDA run through tools/train.py, resume it with
``--resume`` as a user would, and get the uninterrupted run bit for bit:
the same batches, JDA ops and augmented images, the same losses, the same
final weights (CPU, one thread, deterministic settings)."""
import os
import os.path as osp
import signal
import subprocess
import sys

import pytest
import torch

from tests.tools.probe_hooks import (KILL_AFTER_ENV, PROBE_ENV, probe_config,
                                     read_batches)
from tests.utils import read_scalars, repo_path, run_tool

TRAIN = repo_path('tools', 'train.py')
CONFIG = repo_path('configs', 'ccd',
                   'ccd_logits_resnet34_resnet18_1xb8_tiny.py')
# 32 train images, batch 8: 4 iterations per epoch, 8 in all.
OPTIONS = ['randomness.deterministic=True', 'log_processor.window_size=1']
SEED = 'randomness.seed=3'
ITERATION_CHECKPOINTS = ['default_hooks.checkpoint.by_epoch=False',
                         'default_hooks.checkpoint.interval=3']
ENV = dict(OMP_NUM_THREADS='1', **PROBE_ENV)


def train(config: str, work_dir: str, cwd: str, *options: str,
          resume=None) -> str:
    resume_args = [] if resume is None else (
        ['--resume'] if resume == 'auto' else ['--resume', resume])
    return run_tool([TRAIN, config, '--work-dir', work_dir, *resume_args,
                     '--cfg-options', *OPTIONS, *options], cwd, env=ENV)


def train_until_killed(config: str, work_dir: str, cwd: str, kill_after: str,
                       *options: str) -> None:
    proc = subprocess.run(
        [sys.executable, TRAIN, config, '--work-dir', work_dir,
         '--cfg-options', *OPTIONS, *options], cwd=cwd,
        env=dict(os.environ, **ENV, **{KILL_AFTER_ENV: kill_after}),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=600)
    assert proc.returncode == -signal.SIGKILL, proc.stdout[-6000:]


@pytest.fixture(scope='module')
def uninterrupted(tiny_workspace, tmp_path_factory):
    folder = tmp_path_factory.mktemp('uninterrupted')
    config = probe_config(str(folder), CONFIG)
    work_dir = str(folder / 'work')
    train(config, work_dir, tiny_workspace, SEED)
    return config, work_dir


def final_weights(work_dir: str, checkpoint: str) -> dict:
    return torch.load(osp.join(work_dir, checkpoint), map_location='cpu',
                      weights_only=False)['state_dict']


def assert_same_run(expected_dir: str, work_dir: str, checkpoint: str):
    expected, got = read_batches(expected_dir), read_batches(work_dir)
    assert [b['iter'] for b in got] == list(range(1, 9))
    assert any(ops for b in got for ops in b['jda_ops'])
    for want, have in zip(expected, got):
        # Same samples, JDA ops, augmented images and (full-precision)
        # losses at every iteration.
        assert have == want, have['iter']
    expected_weights = final_weights(expected_dir, 'epoch_2.pth')
    weights = final_weights(work_dir, checkpoint)
    assert weights.keys() == expected_weights.keys()
    for name, value in expected_weights.items():
        assert torch.equal(weights[name], value), name


def test_resume_from_epoch_checkpoint(uninterrupted, tiny_workspace,
                                      tmp_path):
    config, expected_dir = uninterrupted
    work_dir = str(tmp_path / 'work')
    train_until_killed(config, work_dir, tiny_workspace, 'epoch:1', SEED)
    assert len(read_batches(work_dir)) == 4
    train(config, work_dir, tiny_workspace, SEED,
          resume=osp.join(work_dir, 'epoch_1.pth'))
    assert_same_run(expected_dir, work_dir, 'epoch_2.pth')
    # The logged (window 1) losses and learning rates too.
    logged = [(r['iter'], r['loss'], r['lr']) for r in read_scalars(work_dir)
              if 'loss' in r]
    assert logged == [(r['iter'], r['loss'], r['lr'])
                      for r in read_scalars(expected_dir) if 'loss' in r]


def test_resume_inside_an_epoch_from_iteration_checkpoint(
        uninterrupted, tiny_workspace, tmp_path):
    """Killed after iteration 6, half-way through epoch 2; a bare --resume
    follows last_checkpoint to iter_6.pth. The resumed command gives no
    seed (a fresh random one): the checkpoint's seed must win."""
    config, expected_dir = uninterrupted
    work_dir = str(tmp_path / 'work')
    train_until_killed(config, work_dir, tiny_workspace, 'iter:6', SEED,
                       *ITERATION_CHECKPOINTS)
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert f.read() == osp.join(work_dir, 'iter_6.pth')
    output = train(config, work_dir, tiny_workspace, *ITERATION_CHECKPOINTS,
                   resume='auto')
    assert 'its first 2 of 4 batches were trained before' in output
    assert 'eta: -' not in output
    assert_same_run(expected_dir, work_dir, 'iter_8.pth')
    # The resumed run trained iterations 7 and 8 only, at the scheduled lr.
    resumed = [r for r in read_scalars(work_dir) if 'loss' in r][6:]
    assert [r['iter'] for r in resumed] == [7, 8]
    expected_lr = [r['lr'] for r in read_scalars(expected_dir)
                   if 'loss' in r][6:]
    assert [r['lr'] for r in resumed] == expected_lr

