"""Pack the two spatially aligned views of a detection image."""
from __future__ import annotations

import copy

from mmdet.datasets.transforms import PackDetInputs

from mmkd_ccd.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackPairedDetInputs(PackDetInputs):
    """mmdet's ``PackDetInputs`` for the ``[original, augmented]`` images of
    :class:`~mmkd_ccd.datasets.transforms.PairedViews`.

    ``PackDetInputs`` packs one array; this packs each view with it and
    returns ``inputs=[original, augmented]`` (two (3, H, W) tensors) and the
    one data sample of the original view. One sample serves both views
    because dense distillation needs them spatially aligned: the geometric
    transforms run before ``PairedViews`` and ``augment`` is photometric
    (``DetJDA(photometric_only=True)``), so both views share boxes and
    metainfo. :class:`~mmkd_ccd.models.data_preprocessors.PairedDetDataPreprocessor`
    copies the sample for the augmented row.

    A single image (validation, test) is packed exactly as by
    ``PackDetInputs``. Arguments are those of ``PackDetInputs``.
    """

    def transform(self, results: dict) -> dict:
        views = results.get('img')
        if not isinstance(views, (list, tuple)):
            return super().transform(results)
        if len(views) != 2:
            raise ValueError('PackPairedDetInputs: expected the [original, '
                             f'augmented] views of PairedViews, got {len(views)}'
                             ' images')
        if views[0].shape != views[1].shape:
            raise ValueError(
                'PackPairedDetInputs: the original and augmented views differ '
                f'in shape ({views[0].shape} vs {views[1].shape}); put the '
                'geometric transforms before PairedViews so that both views '
                'share boxes')
        packed = []
        for view in views:
            single = copy.copy(results)
            single['img'] = view
            packed.append(super().transform(single))
        return dict(
            inputs=[view['inputs'] for view in packed],
            data_samples=packed[0]['data_samples'])
