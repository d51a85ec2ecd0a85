"""The train dataloader that :class:`~mmkd_ccd.engine.ExactResumeHook`
installs: every sample is loaded under its own seed, and batches that a
resumed run has already trained on are passed over without loading them.

The configured dataloader's dataset, sampler, batch size, collate function
and worker settings are kept; three thin wrappers are added around them:

- :class:`SeededBatchSampler` numbers the batches of the configured batch
  sampler (the number is the training iteration that will consume the
  batch) and turns each index into a :class:`SampleKey`;
- :class:`SeededDataset` loads ``dataset[key.index]`` with Python's
  ``random``, numpy's and torch's CPU RNGs seeded from ``(seed, rank,
  batch, position)`` -- in a worker or, with ``num_workers=0``, in the main
  process, whose own streams it leaves as they were;
- :class:`SkipConsumedCollate` passes a consumed batch on as a
  :class:`Consumed` marker instead of collating it.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Iterator, List, NamedTuple, Sequence

from torch.utils.data import DataLoader, Dataset, IterableDataset, Sampler

from .random_streams import DATA_STREAM, cpu_rngs_seeded, derive_seed

__all__ = ['Consumed', 'SampleKey', 'SeededBatchSampler', 'SeededDataset',
           'SkipConsumedCollate', 'seeded_dataloader']


class SampleKey(NamedTuple):
    """What :class:`SeededDataset` receives instead of a bare index.

    Attributes:
        index (Any): The index the configured sampler drew.
        batch (int): The batch's number in the run, counted from 0 over all
            epochs: the training iteration that consumes it.
        position (int): The sample's place in its batch.
        consumed (bool): True for a batch a resumed run has already
            trained on; such a batch is one key long and is not loaded.
    """
    index: Any
    batch: int
    position: int
    consumed: bool = False


class Consumed:
    """Stands in for a sample, and then a batch, that a resumed run has
    already trained on."""

    def __repr__(self) -> str:
        return 'Consumed()'


class SeededDataset(Dataset):
    """Loads each sample under its own seed.

    Attributes other than its own are read from and written to the wrapped
    dataset, so hooks that use e.g. ``dataset.metainfo`` or replace
    ``dataset.pipeline`` work unchanged.

    Args:
        dataset (Dataset): The configured (map-style) dataset.
        seed (int): The run's seed.
        rank (int): This process's rank.
    """
    _own = ('dataset', 'seed', 'rank')

    def __init__(self, dataset: Dataset, seed: int, rank: int) -> None:
        object.__setattr__(self, 'dataset', dataset)
        object.__setattr__(self, 'seed', int(seed))
        object.__setattr__(self, 'rank', int(rank))

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: SampleKey) -> Any:
        if key.consumed:
            return Consumed()
        seed = derive_seed(self.seed, DATA_STREAM, self.rank, key.batch,
                           key.position)
        with cpu_rngs_seeded(seed):
            return self.dataset[key.index]

    def __getattr__(self, name: str) -> Any:
        # Dunders (pickle's __setstate__, torch's __getitems__) must not be
        # taken from the wrapped dataset: they would bypass the seeding.
        if name.startswith('__') or name in self._own:
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._own:
            object.__setattr__(self, name, value)
        else:
            setattr(self.dataset, name, value)


class SeededBatchSampler(Sampler):
    """Numbers the batches of a batch sampler and keys their samples.

    The count runs on across ``__iter__`` calls (an iteration-based loop
    restarts a finite sampler every pass); :meth:`restart` sets it at the
    start of an epoch. Batches numbered below ``consumed_until`` are still
    drawn from the configured sampler, so that its stream advances exactly
    as in the uninterrupted run, but come out as one consumed key.

    Args:
        batch_sampler (Sampler): The configured batch sampler (torch's
            ``BatchSampler`` around the configured sampler, or the
            config's own ``batch_sampler``).

    Attributes:
        sampler: The configured sampler, where mmengine's
            ``DistSamplerSeedHook`` looks for ``set_epoch`` when a dataloader
            has a batch sampler.
    """

    def __init__(self, batch_sampler: Sampler) -> None:
        self.batch_sampler = batch_sampler
        self.sampler = getattr(batch_sampler, 'sampler', None)
        self.next_batch = 0
        self.consumed_until = 0

    def restart(self, next_batch: int, consumed_until: int) -> None:
        """Number the next batch ``next_batch`` and mark the batches before
        ``consumed_until`` as consumed."""
        self.next_batch = next_batch
        self.consumed_until = consumed_until

    def __iter__(self) -> Iterator[List[SampleKey]]:
        for indices in self.batch_sampler:
            batch = self.next_batch
            self.next_batch += 1
            if batch < self.consumed_until:
                yield [SampleKey(None, batch, 0, consumed=True)]
            else:
                yield [SampleKey(index, batch, position)
                       for position, index in enumerate(indices)]

    def __len__(self) -> int:
        return len(self.batch_sampler)


class SkipConsumedCollate:
    """The configured collate function, except that a consumed batch
    becomes one :class:`Consumed` marker.

    Args:
        collate_fn (Callable): The configured collate function.
    """

    def __init__(self, collate_fn: Callable[[Sequence], Any]) -> None:
        self.collate_fn = collate_fn

    def __call__(self, samples: Sequence) -> Any:
        if samples and isinstance(samples[0], Consumed):
            return samples[0]
        return self.collate_fn(samples)


# DataLoader settings carried over unchanged (those this torch accepts).
_LOADER_SETTINGS = ('num_workers', 'pin_memory', 'timeout', 'worker_init_fn',
                    'multiprocessing_context', 'generator', 'prefetch_factor',
                    'persistent_workers', 'pin_memory_device', 'in_order')


def seeded_dataloader(loader: DataLoader, seed: int,
                      rank: int) -> DataLoader:
    """``loader`` with :class:`SeededDataset`, :class:`SeededBatchSampler`
    and :class:`SkipConsumedCollate` around its dataset, batch sampler and
    collate function; every other setting is kept.

    Args:
        loader (DataLoader): A batching dataloader over a map-style dataset.
        seed (int): The run's seed.
        rank (int): This process's rank.

    Raises:
        ValueError: ``loader`` reads an ``IterableDataset`` or does not
            batch (``batch_size=None``): there is no index to key.
    """
    if isinstance(loader.dataset, IterableDataset) or (
            loader.batch_sampler is None):
        raise ValueError(
            'ExactResumeHook needs a train dataloader that batches a '
            f'map-style dataset; {type(loader.dataset).__name__} with '
            f'batch_sampler={loader.batch_sampler!r} is not. Switch the '
            'hook off with default_hooks.exact_resume=None.')
    accepted = inspect.signature(DataLoader.__init__).parameters
    settings = {name: getattr(loader, name) for name in _LOADER_SETTINGS
                if name in accepted and hasattr(loader, name)}
    return DataLoader(
        SeededDataset(loader.dataset, seed, rank),
        batch_sampler=SeededBatchSampler(loader.batch_sampler),
        collate_fn=SkipConsumedCollate(loader.collate_fn),
        **settings)
