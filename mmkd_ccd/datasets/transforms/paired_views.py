"""Two views of every training image: the original and the augmented view."""
from __future__ import annotations

import copy
from typing import List, Optional

import numpy as np
from mmcv.transforms import BaseTransform, Compose

from mmkd_ccd.registry import TRANSFORMS


def _view_input(results: dict, img: np.ndarray) -> dict:
    """A deep copy of ``results`` that holds ``img`` as its image."""
    view = copy.deepcopy({k: v for k, v in results.items() if k != 'img'})
    view['img'] = img
    return view


@TRANSFORMS.register_module()
class PairedViews(BaseTransform):
    """Produce the original view and the augmented view of one image.

    The *original view* is ``view_pipeline`` (the dataset's ordinary train
    pipeline: crop, flip, ...) applied to the decoded image. The *augmented
    view* is ``augment`` (e.g. ``[dict(type='JDA', policy='imagenet')]``)
    followed by the same ``view_pipeline`` with its own, independent
    randomness. Like mmpretrain's ``MultiView`` it leaves ``results['img']``
    as a list -- ``[original, augmented]`` -- for ``PackInputs``; unlike it,
    it keeps the metainfo of the original view and records what ``augment``
    did to the augmented one (``jda_ops``), so the batch can be analysed.

    Required keys: ``img`` (and whatever ``view_pipeline`` needs).
    Modified keys: ``img`` (list of two arrays), ``img_shape`` and the
    view pipeline's keys (from the original view).
    Added keys: ``jda_ops`` (list of str, empty when no op fired or
    ``augment`` records nothing).

    Args:
        view_pipeline (list[dict]): The ordinary train pipeline applied to
            both views, starting after image loading, stopping before packing.
        augment (list[dict]): Transforms applied to the augmented view before
            ``view_pipeline``.
    """

    def __init__(self, view_pipeline: List[dict], augment: List[dict]) -> None:
        for key, value in (('view_pipeline', view_pipeline),
                           ('augment', augment)):
            if not isinstance(value, (list, tuple)):
                raise TypeError(f'PairedViews: {key} must be a list of '
                                f'transform configs, got {type(value)}')
        if not augment:
            raise ValueError('PairedViews: augment is empty, so the two '
                             'views would not differ in augmentation')
        self.original_pipeline = Compose(list(view_pipeline))
        self.augmented_pipeline = Compose(list(augment) + list(view_pipeline))

    def transform(self, results: dict) -> Optional[dict]:
        # Each view gets its own copy of everything a transform might change
        # in place; the decoded image is copied once, for the original view,
        # since the augmented view is made after it.
        original = self.original_pipeline(
            _view_input(results, results['img'].copy()))
        augmented = self.augmented_pipeline(
            _view_input(results, results['img']))
        if original is None or augmented is None:
            return None
        original['img'] = [original['img'], augmented['img']]
        original['jda_ops'] = list(augmented.get('jda_ops', []))
        return original

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(original={self.original_pipeline},'
                f' augmented={self.augmented_pipeline})')
