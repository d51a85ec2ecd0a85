"""Turn per-image view pairs into one paired batch."""
from __future__ import annotations

from typing import List

import torch
from mmpretrain.models.utils import ClsDataPreprocessor

from mmkd_ccd.registry import MODELS
from mmkd_ccd.structures import flatten_paired_batch, is_paired_batch
from .device_jda import finish_device_views


@MODELS.register_module()
class PairedDataPreprocessor(ClsDataPreprocessor):
    """mmpretrain's ``ClsDataPreprocessor`` for batches of view pairs.

    With :class:`~mmkd_ccd.datasets.transforms.PairedViews` in the pipeline
    every sample's ``inputs`` is ``[original, augmented]``. This turns a batch
    of B such samples into one normalised ``(B + K, C, H, W)`` tensor: the B
    original views first (row i is image i), then the K augmented views
    (K = B unless ``augmented_fraction < 1``). Data samples are duplicated
    for the augmented rows (same label, so the student's cross-entropy covers
    every view) and labelled with their view and image by
    :func:`~mmkd_ccd.structures.flatten_paired_batch`, the writer of the
    pairing protocol (:mod:`mmkd_ccd.structures`).

    Single-view batches (validation, test) pass through unchanged, so the
    same preprocessor serves the whole run. Augmented views that
    :class:`~mmkd_ccd.datasets.transforms.DevicePairedViews` left to the
    device (JDA on the model's device) are finished here, on the batch's
    device, before normalisation.

    Args:
        augmented_fraction (float): Fraction of the batch's images that
            contribute their augmented view (the paper's analysis of the
            proportion of augmented views). ``round(fraction * B)`` images,
            chosen at random each batch. Defaults to 1.0.
        **kwargs: ``ClsDataPreprocessor`` arguments (``mean``, ``std``,
            ``to_rgb``, ``num_classes``, ...). ``batch_augments`` (Mixup,
            CutMix) is rejected: it would mix rows across images without
            keeping an image's two views consistent.
    """

    def __init__(self, augmented_fraction: float = 1.0, **kwargs) -> None:
        if kwargs.get('batch_augments'):
            raise ValueError(
                'PairedDataPreprocessor: batch_augments '
                f'{kwargs["batch_augments"]!r} is not supported: Mixup/CutMix '
                'would mix the rows of a paired batch without keeping the '
                'two views of an image consistent. Remove batch_augments.')
        if not 0.0 < float(augmented_fraction) <= 1.0:
            raise ValueError('PairedDataPreprocessor: augmented_fraction must '
                             f'be in (0, 1], got {augmented_fraction!r}')
        super().__init__(**kwargs)
        self.augmented_fraction = float(augmented_fraction)

    def forward(self, data: dict, training: bool = False) -> dict:
        if not is_paired_batch(data['inputs']):
            return super().forward(data, training)
        chosen = self.choose_augmented(len(data['inputs'][0]))
        data = flatten_paired_batch(data, chosen)
        data = finish_device_views(self.cast_data(data))
        return super().forward(data, training)

    def choose_augmented(self, num_images: int) -> List[int]:
        """Indices (ascending) of the images whose augmented view is kept."""
        if self.augmented_fraction == 1.0:
            return list(range(num_images))
        count = int(round(self.augmented_fraction * num_images))
        return sorted(torch.randperm(num_images)[:count].tolist())
