"""Turn per-image pairs of aligned detection views into one paired batch."""
from __future__ import annotations

from mmdet.models.data_preprocessors import DetDataPreprocessor

from mmkd_ccd.registry import MODELS
from mmkd_ccd.structures import flatten_paired_batch, is_paired_batch


@MODELS.register_module()
class PairedDetDataPreprocessor(DetDataPreprocessor):
    """mmdet's ``DetDataPreprocessor`` for batches of view pairs.

    With :class:`~mmkd_ccd.datasets.transforms.PairedViews` and
    :class:`~mmkd_ccd.datasets.transforms.PackPairedDetInputs` in the
    pipeline every sample's ``inputs`` is ``[original, augmented]``. A batch
    of B such samples becomes one padded ``(2B, 3, H, W)`` tensor: the B
    original views first (row i is image i), then the B augmented views.
    Each data sample is copied for its augmented row, ground-truth instances
    included (the views are spatially aligned, so the boxes are the same and
    the detector's own losses cover every view), and every row is labelled
    with its view and image by
    :func:`~mmkd_ccd.structures.flatten_paired_batch`.

    Single-view batches (validation, test) pass through to
    ``DetDataPreprocessor`` unchanged.

    Args:
        **kwargs: ``DetDataPreprocessor`` arguments (``mean``, ``std``,
            ``bgr_to_rgb``, ``pad_size_divisor``, ...). ``batch_augments`` is
            rejected: it would transform the rows of a paired batch without
            keeping the two views of an image aligned.
    """

    def __init__(self, **kwargs) -> None:
        if kwargs.get('batch_augments'):
            raise ValueError(
                'PairedDetDataPreprocessor: batch_augments '
                f'{kwargs["batch_augments"]!r} is not supported: it would '
                'transform the rows of a paired batch without keeping the two '
                'views of an image aligned. Remove batch_augments.')
        super().__init__(**kwargs)

    def forward(self, data: dict, training: bool = False) -> dict:
        if not is_paired_batch(data['inputs']):
            return super().forward(data, training)
        return super().forward(flatten_paired_batch(data), training)
