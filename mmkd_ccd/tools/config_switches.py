"""One-argument changes to a training config that keep it consistent.

Each is a flag of ``tools/train.py`` (``--epochs``, ``--few-shot``,
``--seed``) and is applied to the config after ``--cfg-options``:

- :func:`set_epochs`: the schedule's length, and everything counted in
  epochs with it (learning-rate milestones, cosine period, validation and
  checkpoint intervals), so that one number changes the schedule;
- :func:`wrap_few_shot`: a class-stratified fraction of any training set
  (the paper's analysis (d)), drawn with the run's seed;
- :func:`set_seed`: the seed of the run, with a fixed default when the
  config sets none.
"""
from __future__ import annotations

import math
from typing import Any, List, Optional

from mmengine.config import Config

#: Seed of a run whose config sets none (mmengine's default would draw a new
#: random seed on every start, so two runs of a config would differ).
DEFAULT_SEED = 0

#: Keys of an epoch-based parameter scheduler that count epochs.
EPOCH_POSITIONS = ('begin', 'end', 'milestones')
#: ... and those that count a length in epochs (at least 1).
EPOCH_LENGTHS = ('T_max', 'step_size', 'periods', 'total_steps')


def _scale(value: Any, factor: float, minimum: int) -> Any:
    """``value`` (a number or a list of numbers) times ``factor``, rounded,
    at least ``minimum``; infinite ends stay infinite."""
    if isinstance(value, (list, tuple)):
        return type(value)(_scale(v, factor, minimum) for v in value)
    if isinstance(value, float) and math.isinf(value):
        return value
    return max(minimum, int(round(value * factor)))


def _interval(value: int, old: int, new: int) -> int:
    """An interval that spanned the whole schedule spans the new one; a
    shorter one stays, but not beyond the new end."""
    return new if value >= old else min(value, new)


def set_epochs(cfg: Config, epochs: int) -> List[str]:
    """Make an epoch-based schedule ``epochs`` long.

    ``train_cfg.max_epochs`` becomes ``epochs``; in every epoch-based
    ``param_scheduler`` (``by_epoch`` True, mmengine's default) the
    positions ``begin``, ``end``, ``milestones`` and the lengths ``T_max``,
    ``step_size``, ``periods``, ``total_steps`` are scaled by
    ``epochs / max_epochs`` and rounded (lengths at least 1), so the
    schedule keeps its shape. ``train_cfg.val_interval`` and
    ``default_hooks.checkpoint.interval`` (by epoch) that were at least the
    old length become ``epochs`` (validate / save at the end); shorter ones
    stay, capped at ``epochs``. Schedulers counted in iterations are left
    as they are.

    Args:
        cfg (Config): A training config; changed in place.
        epochs (int): The new number of epochs, >= 1.

    Returns:
        list[str]: one ``'key old -> new'`` line per changed key, for the
        log.

    Raises:
        ValueError: ``epochs`` is not a positive integer, or the config
            trains by iterations (it has no ``train_cfg.max_epochs``).
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f'--epochs must be a positive integer, got '
                         f'{epochs!r}')
    train_cfg = cfg.get('train_cfg') or {}
    old = train_cfg.get('max_epochs')
    if old is None or train_cfg.get('by_epoch') is False:
        raise ValueError(
            '--epochs: train_cfg has no max_epochs (the config trains by '
            'iterations, or has no train_cfg); set train_cfg.max_iters and '
            'its schedulers with --cfg-options instead')
    changes = [f'train_cfg.max_epochs {old} -> {epochs}']
    train_cfg.max_epochs = epochs
    if 'val_interval' in train_cfg:
        new = _interval(train_cfg.val_interval, old, epochs)
        changes.append(
            f'train_cfg.val_interval {train_cfg.val_interval} -> {new}')
        train_cfg.val_interval = new

    schedulers = cfg.get('param_scheduler') or []
    listed = isinstance(schedulers, (list, tuple))
    for index, scheduler in enumerate(schedulers if listed else [schedulers]):
        if not scheduler.get('by_epoch', True):
            continue
        where = f'param_scheduler[{index}]' if listed else 'param_scheduler'
        for key in EPOCH_POSITIONS + EPOCH_LENGTHS:
            if key in scheduler:
                new = _scale(scheduler[key], epochs / old,
                             1 if key in EPOCH_LENGTHS else 0)
                changes.append(f'{where}.{key} {scheduler[key]} -> {new}')
                scheduler[key] = new

    checkpoint = (cfg.get('default_hooks') or {}).get('checkpoint')
    if checkpoint and checkpoint.get('by_epoch', True) and (
            'interval' in checkpoint):
        new = _interval(checkpoint.interval, old, epochs)
        changes.append(f'default_hooks.checkpoint.interval '
                       f'{checkpoint.interval} -> {new}')
        checkpoint.interval = new
    return changes


def wrap_few_shot(cfg: Config, fraction: float, seed: int) -> str:
    """Train on a class-stratified ``fraction`` of the training set:
    ``train_dataloader.dataset`` becomes
    ``dict(type='FewShotDataset', dataset=<it>, fraction=fraction,
    seed=seed)`` (:class:`mmkd_ccd.datasets.FewShotDataset`).

    Args:
        cfg (Config): A training config; changed in place.
        fraction (float): Share of every class to keep, in (0, 1].
        seed (int): Seed of the draw (tools/train.py passes the run's
            seed, so every method of one seed trains on the same images).

    Returns:
        str: what changed, for the log.

    Raises:
        ValueError: ``fraction`` is out of range, there is no
            ``train_dataloader.dataset``, or it is a ``FewShotDataset``
            already.
    """
    is_number = isinstance(fraction, (int, float)) and not isinstance(
        fraction, bool)
    if not (is_number and 0 < fraction <= 1):
        raise ValueError(f'--few-shot must be a fraction in (0, 1], got '
                         f'{fraction!r}')
    dataset = (cfg.get('train_dataloader') or {}).get('dataset')
    if dataset is None:
        raise ValueError('--few-shot: the config has no '
                         'train_dataloader.dataset to take a fraction of')
    if str(dataset.get('type', '')).rsplit('.', 1)[-1] == 'FewShotDataset':
        raise ValueError(
            '--few-shot: train_dataloader.dataset is a FewShotDataset '
            f'already (fraction {dataset.get("fraction")}); set '
            'train_dataloader.dataset.fraction instead')
    cfg.train_dataloader.dataset = dict(
        type='FewShotDataset', dataset=dataset, fraction=fraction, seed=seed)
    return (f'train_dataloader.dataset: FewShotDataset(fraction={fraction:g}'
            f', seed={seed}) around {dataset.get("type")}')


def set_seed(cfg: Config, seed: Optional[int], resuming: bool) -> str:
    """Fix the run's seed: ``seed`` if given, else the config's
    ``randomness.seed``, else :data:`DEFAULT_SEED` -- except when resuming
    without one, where mmengine restores the seed stored in the checkpoint
    (which :class:`~mmkd_ccd.engine.ExactResumeHook` then follows).

    Args:
        cfg (Config): A training config; changed in place.
        seed (int, optional): The seed asked for (``--seed``).
        resuming (bool): Whether the run resumes from a checkpoint.

    Returns:
        str: where the seed comes from, for the log.
    """
    randomness = cfg.get('randomness') or {}
    if seed is not None:
        randomness['seed'] = seed
        note = f'seed {seed} (--seed)'
    elif randomness.get('seed') is not None:
        note = f'seed {randomness["seed"]} (randomness.seed)'
    elif resuming:
        note = 'seed: the one stored in the checkpoint (resuming)'
    else:
        randomness['seed'] = DEFAULT_SEED
        note = (f'seed {DEFAULT_SEED}: the default, as the config sets no '
                'randomness.seed (choose one with --seed N)')
    cfg.randomness = randomness
    return note
