"""The pairing of original and augmented views inside one batch.

A paired batch holds, for B images, B *original views* and K <= B
*augmented views* (K = B unless only a fraction of images contributes one).
Every data sample carries two metainfo fields, set by
:class:`~mmkd_ccd.models.data_preprocessors.PairedDataPreprocessor`:

- ``view``: ``'original'`` or ``'augmented'``;
- ``pair_index``: the index of its image in the batch (0..B-1), shared by
  the two views of an image.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

ORIGINAL = 'original'
AUGMENTED = 'augmented'
VIEWS = (ORIGINAL, AUGMENTED)


@dataclass(frozen=True)
class ViewPairing:
    """Row indices of a paired batch.

    Attributes:
        original_rows: (B,) rows of the original views; entry i is image i.
        augmented_rows: (K,) rows of the augmented views.
        partner_rows: (K,) for each augmented row, the row of the original
            view of the same image.
    """
    original_rows: torch.Tensor
    augmented_rows: torch.Tensor
    partner_rows: torch.Tensor

    @property
    def num_images(self) -> int:
        return int(self.original_rows.numel())

    @property
    def num_augmented(self) -> int:
        return int(self.augmented_rows.numel())

    def check_rows(self, num_rows: int) -> None:
        """Raise unless the pairing covers exactly ``num_rows`` rows."""
        covered = self.num_images + self.num_augmented
        if covered != num_rows:
            raise ValueError(
                f'view pairing covers {covered} rows ({self.num_images} '
                f'original + {self.num_augmented} augmented) but the logits '
                f'have {num_rows}: the batch is not a paired batch')

    @classmethod
    def from_data_samples(cls, data_samples: Sequence) -> 'ViewPairing':
        """Read the pairing from the ``view``/``pair_index`` metainfo.

        Raises:
            ValueError: a sample lacks the fields, has an unknown view, an
                image has two original (or two augmented) views, or an
                augmented view has no original partner.
        """
        originals: dict = {}
        augmented: dict = {}
        for row, sample in enumerate(data_samples):
            view = sample.metainfo.get('view')
            index = sample.metainfo.get('pair_index')
            if view not in VIEWS or index is None:
                raise ValueError(
                    f'data sample {row} has view={view!r}, '
                    f'pair_index={index!r}; a paired batch needs view in '
                    f'{VIEWS} and an integer pair_index on every sample. '
                    'Use PairedViews in the pipeline and '
                    'PairedDataPreprocessor as the data preprocessor.')
            table = originals if view == ORIGINAL else augmented
            if index in table:
                raise ValueError(
                    f'image {index} has two {view} views (rows '
                    f'{table[index]} and {row}): views are not paired')
            table[index] = row
        if sorted(originals) != list(range(len(originals))):
            raise ValueError('original views must have pair_index 0..B-1, '
                             f'got {sorted(originals)}')
        orphans = sorted(set(augmented) - set(originals))
        if orphans:
            raise ValueError(f'augmented views of images {orphans} have no '
                             'original view in the batch')
        aug_images = sorted(augmented)
        as_long = lambda values: torch.tensor(values, dtype=torch.long)
        return cls(
            original_rows=as_long([originals[i] for i in range(len(originals))]),
            augmented_rows=as_long([augmented[i] for i in aug_images]),
            partner_rows=as_long([originals[i] for i in aug_images]))
