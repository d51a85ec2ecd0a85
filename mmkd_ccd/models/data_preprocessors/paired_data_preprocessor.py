"""Turn per-image view pairs into one paired batch."""
from __future__ import annotations

from typing import List, Optional, Sequence

import torch
from mmpretrain.models.utils import ClsDataPreprocessor

from mmkd_ccd.registry import MODELS
from mmkd_ccd.structures import AUGMENTED, ORIGINAL
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
    every view) and each one gets the metainfo ``view``
    (``'original'``/``'augmented'``) and ``pair_index`` (its image), from
    which :class:`~mmkd_ccd.structures.ViewPairing` is read.

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


def flatten_paired_batch(data: dict,
                         chosen: Optional[Sequence[int]] = None) -> dict:
    """``[[originals], [augmented]]`` inputs -> one list of views.

    The B original views come first (row i is image i), then the augmented
    views of the ``chosen`` images (all by default). Data samples are copied
    for the augmented rows, and every sample gets the metainfo ``view`` and
    ``pair_index``.
    """
    originals, augmented = data['inputs']
    samples = data.get('data_samples')
    if samples is None or len(samples) != len(originals):
        raise ValueError('a paired batch needs one data sample per image '
                         f'({len(originals)} images)')
    if chosen is None:
        chosen = range(len(originals))
    for index, sample in enumerate(samples):
        sample.set_metainfo(dict(view=ORIGINAL, pair_index=index))
    augmented_samples = []
    for index in chosen:
        sample = samples[index].clone()
        sample.set_metainfo(dict(view=AUGMENTED, pair_index=index))
        augmented_samples.append(sample)
    return dict(
        inputs=list(originals) + [augmented[i] for i in chosen],
        data_samples=list(samples) + augmented_samples)


def is_paired_batch(inputs: Optional[Sequence]) -> bool:
    """A pseudo-collated paired batch is ``[[originals], [augmented]]``."""
    if isinstance(inputs, torch.Tensor) or not isinstance(inputs, Sequence):
        return False
    if len(inputs) == 0 or isinstance(inputs[0], torch.Tensor):
        return False
    if len(inputs) != 2 or len(inputs[0]) != len(inputs[1]):
        raise ValueError(
            f'expected a batch of view pairs ([originals, augmented] of equal '
            f'length), got {len(inputs)} view lists of lengths '
            f'{[len(v) for v in inputs]}: PairedViews must produce exactly '
            'two views per image')
    return True
