"""Kill-and-resume equals the uninterrupted run, on a toy mmengine run whose
data and model draw from every random generator."""
import os.path as osp
from collections import defaultdict

import pytest
import torch

from mmkd_ccd import compat
from tests.engine.toy_training import Interrupted, RecordHook, toy_runner

ITER_CHECKPOINT = dict(type='CheckpointHook', interval=4, by_epoch=False)
AFTER_EPOCH_2 = dict(epoch=2)
AFTER_ITER_4 = dict(iteration=4)
# name: (runner settings, where the run is cut, checkpoint to resume from)
CASES = {
    'epoch checkpoint': (dict(max_length=3), AFTER_EPOCH_2, 'epoch_2.pth'),
    # 3 batches per epoch: iteration 4 is the first batch of epoch 2.
    'iteration checkpoint inside an epoch': (
        dict(max_length=3, checkpoint=ITER_CHECKPOINT), AFTER_ITER_4,
        'iter_4.pth'),
    'iteration-based loop': (
        dict(by_epoch=False, max_length=9, checkpoint=ITER_CHECKPOINT),
        AFTER_ITER_4, 'iter_4.pth'),
}
WORKERS = {
    'main process': dict(num_workers=0),
    '2 workers': dict(num_workers=2, persistent_workers=False),
}
PERSISTENT = dict(num_workers=2, persistent_workers=True)
# Every case with each WORKERS setting; persistent workers (whose shutdown
# costs mmengine runs ~10 s each) with the case that resumes inside an
# epoch.
RESUME_CASES = [
    pytest.param(case, workers, id=f'{name}-{workers_name}')
    for name, case in CASES.items()
    for workers_name, workers in WORKERS.items()
] + [
    pytest.param(CASES['iteration checkpoint inside an epoch'], PERSISTENT,
                 id='iteration checkpoint inside an epoch-persistent workers')
]


def train(work_dir: str, stop_after=None, **settings):
    """The records of the batches trained and the final weights."""
    record = RecordHook(stop_after)
    if settings.get('resume_from'):
        compat.trust_checkpoint(settings['resume_from'])
    runner = toy_runner(work_dir, [record], **settings)
    try:
        runner.train()
    except Interrupted:
        pass
    return record.records, runner.model.state_dict()


def cut_and_resume(work_dir: str, settings: dict, stop_after: dict,
                   checkpoint: str):
    cut, _ = train(work_dir, stop_after, **settings)
    rest, weights = train(work_dir, resume_from=osp.join(work_dir, checkpoint),
                          **settings)
    return cut, rest, weights


@pytest.mark.parametrize('case, workers', RESUME_CASES)
def test_resumed_run_equals_uninterrupted_run(tmp_path, case, workers):
    settings, stop_after, checkpoint = case
    settings = dict(settings, **workers)
    full, full_weights = train(str(tmp_path / 'full'), **settings)
    cut, rest, weights = cut_and_resume(str(tmp_path / 'cut'), settings,
                                        stop_after, checkpoint)
    assert len(cut) == stop_after.get('iteration', 6)
    # Same iterations, batch indices within the epoch, samples and draws.
    assert cut + rest == full
    assert full_weights.keys() == weights.keys()
    for name, value in full_weights.items():
        assert torch.equal(value, weights[name]), name


def test_without_the_hook_resume_is_not_exact(tmp_path):
    """mmengine alone: the random streams restart at a resume, and an
    iteration checkpoint's epoch is trained again from its start."""
    settings = dict(max_length=3, exact_resume=False)
    full, _ = train(str(tmp_path / 'full'), **settings)
    cut, rest, _ = cut_and_resume(str(tmp_path / 'cut'), settings,
                                  AFTER_EPOCH_2, 'epoch_2.pth')
    assert [r[:2] for r in cut + rest] == [r[:2] for r in full]
    assert cut + rest != full
    settings['checkpoint'] = ITER_CHECKPOINT
    cut, rest, _ = cut_and_resume(str(tmp_path / 'iter'), settings,
                                  AFTER_ITER_4, 'iter_4.pth')
    assert len(cut) + len(rest) == len(full) + 1


@pytest.mark.parametrize('workers', WORKERS.values(), ids=WORKERS.keys())
def test_every_epoch_draws_new_augmentation(tmp_path, workers):
    records, _ = train(str(tmp_path), max_length=3, **workers)
    draws = defaultdict(list)
    for _, _, batch in records:
        for sample in batch:
            draws[int(sample[0])].append(tuple(sample[1:]))
    assert sorted(draws) == list(range(10))
    for index, per_epoch in draws.items():
        assert len(set(per_epoch)) == 3, (index, per_epoch)


def test_sampler_follows_the_resumed_seed(tmp_path):
    """A config without a seed gets a new random one on every start; the
    resumed run must shuffle with the checkpoint's seed."""
    work_dir = str(tmp_path / 'cut')
    cut, _ = train(work_dir, AFTER_EPOCH_2, max_length=3, seed=None)
    seed = torch.load(osp.join(work_dir, 'epoch_2.pth'),
                      weights_only=False)['meta']['seed']
    rest, weights = train(work_dir, max_length=3, seed=None,
                          resume_from=osp.join(work_dir, 'epoch_2.pth'))
    full, full_weights = train(str(tmp_path / 'full'), max_length=3,
                               seed=seed)
    assert cut + rest == full
    assert all(torch.equal(full_weights[k], weights[k]) for k in weights)


def test_checkpoint_records_the_world_size(tmp_path):
    train(str(tmp_path), max_length=1)
    meta = torch.load(str(tmp_path / 'epoch_1.pth'),
                      weights_only=False)['meta']
    assert meta['exact_resume'] == dict(world_size=1, batches_per_epoch=3)
