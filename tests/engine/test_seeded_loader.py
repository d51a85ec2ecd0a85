import random

import numpy as np
import pytest
import torch
from mmengine.dataset import DefaultSampler, pseudo_collate
from torch.utils.data import BatchSampler, DataLoader, IterableDataset

from mmkd_ccd.engine.seeded_loader import (Consumed, SampleKey,
                                           SeededBatchSampler, SeededDataset,
                                           seeded_dataloader)
from tests.engine.toy_training import RandomDataset


def test_sample_draws_depend_on_key_only():
    dataset = SeededDataset(RandomDataset(), seed=0, rank=0)
    first = dataset[SampleKey(3, batch=5, position=1)]['inputs']
    random.random(), np.random.rand(), torch.rand(())  # other draws between
    assert torch.equal(dataset[SampleKey(3, 5, 1)]['inputs'], first)
    assert first[0] == 3
    for other in (SeededDataset(RandomDataset(), seed=0, rank=1)[
            SampleKey(3, 5, 1)],
                  SeededDataset(RandomDataset(), seed=1, rank=0)[
                      SampleKey(3, 5, 1)], dataset[SampleKey(3, 6, 1)],
                  dataset[SampleKey(3, 5, 2)]):
        # Every one of the three generators draws something else.
        assert (other['inputs'][1:] != first[1:]).all()


def test_loading_leaves_the_main_process_streams_alone():
    dataset = SeededDataset(RandomDataset(), seed=0, rank=0)
    torch.manual_seed(9), np.random.seed(9), random.seed(9)
    expected = random.random(), np.random.rand(), torch.rand(())
    torch.manual_seed(9), np.random.seed(9), random.seed(9)
    dataset[SampleKey(0, 0, 0)]
    assert (random.random(), np.random.rand(), torch.rand(())) == expected


def test_consumed_key_is_not_loaded():

    class Unreadable(RandomDataset):

        def __getitem__(self, index):
            raise AssertionError('a consumed sample was loaded')

    item = SeededDataset(Unreadable(), 0, 0)[SampleKey(None, 0, 0, True)]
    assert isinstance(item, Consumed)


def test_attributes_reach_the_wrapped_dataset():
    inner = RandomDataset()
    dataset = SeededDataset(inner, 0, 0)
    assert dataset.metainfo == dict(classes=('toy', ))
    dataset.pipeline = 'switched'  # as mmdet's PipelineSwitchHook does
    assert inner.pipeline == 'switched'
    assert len(dataset) == 10
    assert not hasattr(dataset, '__getitems__')
    with pytest.raises(AttributeError):
        dataset.no_such_attribute


def test_batch_sampler_numbers_batches_and_marks_consumed():
    batch_sampler = SeededBatchSampler(
        BatchSampler(range(10), batch_size=4, drop_last=False))
    assert len(batch_sampler) == 3
    batch_sampler.restart(next_batch=3, consumed_until=5)
    batches = list(batch_sampler)
    assert [b[0].batch for b in batches] == [3, 4, 5]
    assert batches[0] == [SampleKey(None, 3, 0, True)]
    assert batches[1] == [SampleKey(None, 4, 0, True)]
    assert batches[2] == [SampleKey(8, 5, 0), SampleKey(9, 5, 1)]
    # Without a restart the count goes on (an iteration-based loop's next
    # pass over a finite sampler).
    assert [b[0].batch for b in batch_sampler] == [6, 7, 8]
    assert [k.index for k in list(batch_sampler)[0]] == [0, 1, 2, 3]


def loader_over(num_workers: int, **settings) -> DataLoader:
    dataset = RandomDataset()
    return DataLoader(dataset, batch_size=4,
                      sampler=DefaultSampler(dataset, seed=0),
                      num_workers=num_workers, collate_fn=pseudo_collate,
                      **settings)


def epoch_inputs(loader: DataLoader, first_batch: int, consumed_until: int):
    loader.batch_sampler.restart(first_batch, consumed_until)
    return [batch if isinstance(batch, Consumed) else
            torch.stack(batch['inputs']) for batch in loader]


@pytest.mark.parametrize('settings', [
    dict(num_workers=2),
    dict(num_workers=2, persistent_workers=True, prefetch_factor=3),
])
def test_workers_load_what_the_main_process_loads(settings):
    main = seeded_dataloader(loader_over(0), seed=0, rank=0)
    workers = seeded_dataloader(loader_over(**settings), seed=0, rank=0)
    for name, value in settings.items():
        assert getattr(workers, name) == value
    for epoch in range(2):
        expected = epoch_inputs(main, epoch * 3, epoch * 3)
        assert len(expected) == 3
        got = epoch_inputs(workers, epoch * 3, epoch * 3)
        assert all(torch.equal(a, b) for a, b in zip(expected, got))
    # A resumed epoch: the first batch comes out consumed, the others as
    # in the uninterrupted epoch.
    resumed = epoch_inputs(workers, 3, 4)
    assert isinstance(resumed[0], Consumed)
    assert all(torch.equal(a, b) for a, b in zip(expected[1:], resumed[1:]))


def test_iterable_dataset_is_refused_with_the_switch():

    class Stream(IterableDataset):

        def __iter__(self):
            yield from range(3)

    with pytest.raises(ValueError, match='default_hooks.exact_resume=None'):
        seeded_dataloader(DataLoader(Stream(), batch_size=2), 0, 0)
