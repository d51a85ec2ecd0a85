"""Random streams that are a function of where training is, not of history.

Every random draw of a training run can be made a pure function of
``(seed, stream, rank, counters...)``: the data pipeline of each sample is
seeded from the batch it belongs to and its place in that batch, and the
main process is reseeded before every iteration. A run that is killed and
resumed then draws exactly what the uninterrupted run drew, whatever the
number of dataloader workers, and no random state has to be carried over
in a checkpoint. Each rank, each iteration and each sample get their own
stream because each is a different key.

Keys are mixed with numpy's ``SeedSequence`` (a hash designed for this: keys
that differ in any entry give unrelated seeds).
"""
from __future__ import annotations

import random
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch

__all__ = ['DATA_STREAM', 'TRAIN_STREAM', 'derive_seed', 'seed_all',
           'cpu_rngs_seeded']

# Stream tags: the first entry of every key, so that e.g. sample 3 of batch 5
# and iteration 5 never share a seed.
DATA_STREAM = 0
TRAIN_STREAM = 1


def derive_seed(seed: int, stream: int, *counters: int) -> int:
    """A 64-bit seed for one position of one stream of a run.

    Args:
        seed (int): The run's seed (``runner.seed``), >= 0.
        stream (int): :data:`DATA_STREAM` or :data:`TRAIN_STREAM`.
        *counters (int): Where in the stream, e.g. ``(rank, iteration)`` or
            ``(rank, batch, position in batch)``; each >= 0.

    Returns:
        int: A seed in ``[0, 2**64)``; the same key always gives the same
        seed, keys that differ in any entry give unrelated seeds.
    """
    words = np.random.SeedSequence(
        int(seed), spawn_key=(stream, *map(int, counters))).generate_state(
            2, np.uint32)
    return int(words[0]) | int(words[1]) << 32


def seed_all(seed: int) -> None:
    """Seed Python's ``random``, numpy's global RNG and torch (CPU and every
    accelerator) from one 64-bit ``seed``."""
    random.seed(seed)
    np.random.seed(seed & 0xFFFFFFFF)
    torch.manual_seed(seed)


@contextmanager
def cpu_rngs_seeded(seed: int) -> Iterator[None]:
    """Run a block with Python's ``random``, numpy's global RNG and torch's
    CPU generator seeded from ``seed``, and give them back their previous
    state afterwards, so that the caller's own streams are not disturbed.

    Accelerator generators are neither seeded nor touched: data pipelines
    run on the CPU.

    Args:
        seed (int): A 64-bit seed, e.g. from :func:`derive_seed`.
    """
    saved = random.getstate(), np.random.get_state(), torch.get_rng_state()
    random.seed(seed)
    np.random.seed(seed & 0xFFFFFFFF)
    torch.default_generator.manual_seed(seed)
    try:
        yield
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])
        torch.set_rng_state(saved[2])
