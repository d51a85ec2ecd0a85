"""A config's training images as pairs of views, for inspecting them
(``tools/visualize_jda.py`` draws them, ``tools/analyze_ccd.py`` runs the
teacher on them): the config's train dataset with its pipeline cut right
after ``PairedViews`` (or ``DevicePairedViews``)."""
from __future__ import annotations

import copy
from typing import List, Optional

import numpy as np
from mmengine.config import Config
from mmengine.dataset import BaseDataset
from mmengine.registry import DATASETS, init_default_scope


class NoPairedViewsError(ValueError):
    """The config's train pipeline has no ``PairedViews`` transform."""


def _is_paired_views(step: object) -> bool:
    if not isinstance(step, dict):
        return False
    kind = step.get('type')
    name = kind if isinstance(kind, str) else getattr(kind, '__name__', '')
    # Scoped names such as 'mmkd_ccd.PairedViews' name the same transform.
    return name.rsplit('.', 1)[-1] in ('PairedViews', 'DevicePairedViews')


def paired_dataset_cfg(cfg: Config, config_path: str) -> dict:
    """``train_dataloader.dataset`` with its pipeline cut after PairedViews.

    Dataset wrappers (``RepeatDataset``, ``ClassBalancedDataset``, ...) are
    followed through their ``dataset`` key to the dataset that has the
    pipeline.

    Raises:
        NoPairedViewsError: no pipeline, or no ``PairedViews`` in it.
    """
    if 'train_dataloader' not in cfg or 'dataset' not in cfg.train_dataloader:
        raise NoPairedViewsError(
            f'{config_path}: the config has no train_dataloader.dataset')
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    inner, key = dataset_cfg, 'train_dataloader.dataset'
    while 'pipeline' not in inner and isinstance(inner.get('dataset'), dict):
        inner, key = inner['dataset'], key + '.dataset'
    pipeline = inner.get('pipeline')
    if not isinstance(pipeline, (list, tuple)):
        raise NoPairedViewsError(f'{config_path}: {key} has no pipeline list')
    positions = [
        i for i, step in enumerate(pipeline) if _is_paired_views(step)
    ]
    if not positions:
        raise NoPairedViewsError(
            f'{config_path}: {key}.pipeline has no PairedViews transform, so '
            'its training images have no augmented view. Use a config whose '
            'train pipeline wraps the view pipeline in '
            "dict(type='PairedViews', view_pipeline=[...], "
            "augment=[dict(type='JDA', ...)]), e.g. configs/ccd/*.py.")
    # Stopping here keeps numpy images (and jda_ops, which PackInputs may
    # drop) instead of packed tensors.
    inner['pipeline'] = list(pipeline[:positions[0] + 1])
    return dataset_cfg


def build_paired_dataset(cfg: Config, config_path: str) -> BaseDataset:
    """Build the config's train dataset, its pipeline ending at PairedViews.

    Each item is then a results dict whose ``img`` is ``[original view,
    augmented view]`` (numpy, the pipeline's channel order: BGR for mmcv's
    loaders) and whose ``jda_ops`` lists the ops fired on the augmented view.
    """
    dataset_cfg = paired_dataset_cfg(cfg, config_path)
    # Dataset and transform types are looked up in the config's scope, as the
    # Runner does.
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    return DATASETS.build(dataset_cfg)


def choose_indices(num_available: int, num: Optional[int],
                   seed: int, option: str) -> List[int]:
    """``num`` distinct dataset indices drawn with ``seed``, ascending; all
    of them when ``num`` is None.

    Raises:
        ValueError: ``num`` is not in [1, num_available] (``option`` names
            the command-line flag).
    """
    if num is None:
        return list(range(num_available))
    if not 1 <= num <= num_available:
        raise ValueError(f'{option} must be in [1, {num_available}] (the '
                         f'size of the train dataset), got {num}')
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(num_available, num, replace=False).tolist())
