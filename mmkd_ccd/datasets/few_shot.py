"""Few-shot training sets: a class-stratified fraction of a dataset.

The paper's analysis (d) (Li, Shao et al., ACCV 2022)
distils with only a fraction of the training images of every class, where the
augmented views matter most.
"""
from __future__ import annotations

import copy
import logging
from typing import List, Union

import numpy as np
from mmengine.dataset import BaseDataset, force_full_init
from mmengine.logging import print_log

from mmkd_ccd.registry import DATASETS


@DATASETS.register_module()
class FewShotDataset:
    """Keep a class-stratified ``fraction`` of a dataset's samples.

    For every class c with n_c samples, ``max(1, round(fraction * n_c))`` of
    its indices are drawn without replacement by
    ``np.random.default_rng(seed)`` (Python's ``round``: halves go to the
    even number), so each class keeps its share and none disappears. The
    kept samples stay in the wrapped dataset's order. The subset depends only
    on the labels, ``fraction`` and ``seed``: every rank and every run with
    the same seed trains on the same images, whatever the global seed.

    Labels come from the wrapped dataset's ``get_gt_labels()`` (mmpretrain's
    ``BaseDataset``) or else ``get_cat_ids(idx)`` (mmengine's protocol, used
    by ``ClassBalancedDataset``); each sample must have exactly one label.

    A wrapper in the manner of mmengine's ``ClassBalancedDataset``: in a
    config, ``dataset=dict(type='FewShotDataset', dataset=dict(...),
    fraction=0.1)``.

    Args:
        dataset (dict | BaseDataset): The dataset to subsample, or its config.
        fraction (float): Share of every class to keep, in (0, 1].
        seed (int): Seed of the draw. Defaults to 0.
        lazy_init (bool): Defer loading the wrapped dataset's annotations and
            drawing the subset until :meth:`full_init`. Defaults to False.

    Attributes:
        indices (list[int]): the kept indices into the wrapped dataset,
            ascending (after :meth:`full_init`).
    """

    def __init__(self,
                 dataset: Union[dict, BaseDataset],
                 fraction: float,
                 seed: int = 0,
                 lazy_init: bool = False) -> None:
        is_number = isinstance(fraction,
                               (int, float)) and not isinstance(fraction, bool)
        if not (is_number and 0 < fraction <= 1):
            raise ValueError('FewShotDataset: fraction must be a number in '
                             f'(0, 1], got {fraction!r}')
        if isinstance(dataset, dict):
            self.dataset = DATASETS.build(dataset)
        elif isinstance(dataset, BaseDataset):
            self.dataset = dataset
        else:
            raise TypeError('FewShotDataset: dataset must be a config dict or '
                            f'a BaseDataset, got {type(dataset).__name__}')
        self.fraction = float(fraction)
        self.seed = seed
        self._metainfo = self.dataset.metainfo
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        """The wrapped dataset's meta information (a copy)."""
        return copy.deepcopy(self._metainfo)

    def full_init(self) -> None:
        """Load the wrapped dataset and draw the subset (once)."""
        if self._fully_initialized:
            return
        self.dataset.full_init()
        labels = self._labels()
        rng = np.random.default_rng(self.seed)
        kept = []
        for label in np.unique(labels):
            members = np.flatnonzero(labels == label)
            count = max(1, round(self.fraction * len(members)))
            kept.append(rng.choice(members, size=count, replace=False))
        self.indices: List[int] = sorted(
            int(i) for i in np.concatenate(kept)) if kept else []
        self._labels_kept = labels[self.indices]
        self._fully_initialized = True
        print_log(
            f'FewShotDataset: kept {len(self.indices)} of {len(labels)} '
            f'samples ({self.fraction:g} of each of {len(kept)} classes, '
            f'seed {self.seed})',
            logger='current',
            level=logging.INFO)

    def _labels(self) -> np.ndarray:
        """One integer label per sample of the wrapped dataset, (N,)."""
        name = type(self.dataset).__name__
        if hasattr(self.dataset, 'get_gt_labels'):
            labels = np.asarray(self.dataset.get_gt_labels())
        else:
            try:
                cat_ids = [
                    self.dataset.get_cat_ids(i)
                    for i in range(len(self.dataset))
                ]
            except NotImplementedError:
                raise TypeError(
                    f'FewShotDataset: {name} has neither get_gt_labels() nor '
                    'get_cat_ids(idx), so its samples cannot be stratified '
                    'by class') from None
            if any(len(ids) != 1 for ids in cat_ids):
                raise ValueError(
                    f'FewShotDataset: {name} has samples with no or several '
                    'categories; class-stratified sampling needs exactly one '
                    'label per sample')
            labels = np.array([ids[0] for ids in cat_ids])
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(
                f'FewShotDataset: {name}.get_gt_labels() gave labels of '
                f'shape {labels.shape} and dtype {labels.dtype}; '
                'class-stratified sampling needs one integer label per '
                'sample (multi-label datasets are not supported)')
        return labels

    @force_full_init
    def get_gt_labels(self) -> np.ndarray:
        """Labels of the kept samples, (len(self),)."""
        return self._labels_kept.copy()

    @force_full_init
    def get_cat_ids(self, idx: int) -> List[int]:
        """Category of the idx-th kept sample, as a one-element list."""
        return [int(self._labels_kept[idx])]

    @force_full_init
    def get_data_info(self, idx: int) -> dict:
        """Annotation of the idx-th kept sample."""
        return self.dataset.get_data_info(self.indices[idx])

    def __getitem__(self, idx: int) -> dict:
        if not self._fully_initialized:
            print_log(
                'Please call `full_init` method manually to accelerate '
                'the speed.',
                logger='current',
                level=logging.WARNING)
            self.full_init()
        return self.dataset[self.indices[idx]]

    @force_full_init
    def __len__(self) -> int:
        return len(self.indices)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(fraction={self.fraction:g}, '
                f'seed={self.seed}, dataset={type(self.dataset).__name__})')
