import random

import numpy as np
import torch

from mmkd_ccd.engine.random_streams import (DATA_STREAM, TRAIN_STREAM,
                                            cpu_rngs_seeded, derive_seed,
                                            seed_all)


def draws():
    return random.random(), float(np.random.rand()), torch.rand(()).item()


def test_derive_seed_is_a_function_of_the_key():
    key = (7, DATA_STREAM, 1, 5, 3)
    assert derive_seed(*key) == derive_seed(*key)
    seeds = {derive_seed(*key)}
    # Any entry changed, trailing zeros included, gives another seed.
    for other in [(8, DATA_STREAM, 1, 5, 3), (7, TRAIN_STREAM, 1, 5, 3),
                  (7, DATA_STREAM, 0, 5, 3), (7, DATA_STREAM, 1, 6, 3),
                  (7, DATA_STREAM, 1, 5, 2), (7, DATA_STREAM, 1, 5, 3, 0),
                  (7, DATA_STREAM, 1, 5)]:
        seeds.add(derive_seed(*other))
    assert len(seeds) == 8
    assert all(0 <= s < 2**64 for s in seeds)
    # 64 bits used: the high word is not always zero.
    assert any(s >= 2**32 for s in seeds)


def test_seed_all_seeds_every_generator():
    seed_all(derive_seed(0, TRAIN_STREAM, 0, 4))
    first = draws()
    seed_all(derive_seed(0, TRAIN_STREAM, 0, 4))
    assert draws() == first
    seed_all(derive_seed(0, TRAIN_STREAM, 1, 4))
    assert all(a != b for a, b in zip(draws(), first))


def test_cpu_rngs_seeded_restores_the_callers_streams():
    seed_all(123)
    expected = draws()
    seed_all(123)
    with cpu_rngs_seeded(derive_seed(0, DATA_STREAM, 0, 0, 0)):
        inside = draws()
    # The block did not consume the caller's streams ...
    assert draws() == expected
    # ... and is itself reproducible.
    with cpu_rngs_seeded(derive_seed(0, DATA_STREAM, 0, 0, 0)):
        assert draws() == inside


def test_cpu_rngs_seeded_restores_after_an_exception():
    seed_all(5)
    expected = draws()
    seed_all(5)
    try:
        with cpu_rngs_seeded(1):
            draws()
            raise KeyError('in the pipeline')
    except KeyError:
        pass
    assert draws() == expected
