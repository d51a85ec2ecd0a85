"""The pairing protocol: which row of a batch is which view of which image.

Every training image yields an *original view* and an *augmented view*
(:class:`~mmkd_ccd.datasets.transforms.PairedViews`). After collation a batch
of B images is *paired*: ``inputs`` is ``[originals, augmented]``, two lists
of B views. This module is the one place that turns such a batch into rows
and reads the rows back:

- the **writer**, :func:`flatten_paired_batch` (called by the paired data
  preprocessors), lays out one batch of ``B + K`` rows: the B original views
  first (row i is image i), then the K <= B augmented views that are kept
  (K = B unless only a fraction of images contributes one), and writes two
  metainfo fields into every data sample -- :data:`VIEW_KEY` (``'original'``
  or ``'augmented'``) and :data:`PAIR_INDEX_KEY` (the image's index in the
  batch, shared by its two views);
- the **reader**, :meth:`ViewPairing.from_data_samples`, turns those fields
  back into row indices, checking that the batch really is paired.

Losses that need the pairing are subclasses of :class:`PairAwareLoss`;
:class:`~mmkd_ccd.models.distillers.PairedDistiller` reads the pairing from
the data samples the student is trained on and passes it to them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, List, Optional, Sequence

import torch
import torch.nn as nn

ORIGINAL = 'original'
AUGMENTED = 'augmented'
VIEWS = (ORIGINAL, AUGMENTED)

#: Metainfo field holding a row's view, ``'original'`` or ``'augmented'``.
VIEW_KEY = 'view'
#: Metainfo field holding the index (0..B-1) of a row's image in the batch.
PAIR_INDEX_KEY = 'pair_index'
#: Metainfo fields that describe the augmented view only. ``PairedViews``
#: stores them with the image's one data sample; the writer keeps them on the
#: augmented row and empties them on the original row.
AUGMENTED_ONLY_KEYS = ('jda_ops', )


# ---------------------------------------------------------------------------
# Writer
# ---------------------------------------------------------------------------
def is_paired_batch(inputs: Optional[Sequence]) -> bool:
    """Whether pseudo-collated ``inputs`` are ``[[originals], [augmented]]``.

    Raises:
        ValueError: the inputs are lists of views, but not exactly two lists
            of equal length.
    """
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


def flatten_paired_batch(data: dict,
                         chosen: Optional[Sequence[int]] = None) -> dict:
    """Lay out a paired batch as rows and label every row with its view.

    Args:
        data (dict): ``inputs=[originals, augmented]`` (two lists of B
            views) and ``data_samples`` (B samples, one per image).
        chosen (Sequence[int], optional): Ascending indices of the images
            whose augmented view is kept. Defaults to all B.

    Returns:
        dict: ``inputs``, a list of ``B + K`` views (originals first, then
        the augmented views of ``chosen``), and ``data_samples``, one per
        row: the B given samples, then a copy per augmented row, each with
        :data:`VIEW_KEY` and :data:`PAIR_INDEX_KEY` set.
    """
    originals, augmented = data['inputs']
    samples = data.get('data_samples')
    if samples is None or len(samples) != len(originals):
        raise ValueError('a paired batch needs one data sample per image '
                         f'({len(originals)} images)')
    if chosen is None:
        chosen = range(len(originals))
    augmented_samples = []
    for index in chosen:
        sample = samples[index].clone()
        sample.set_metainfo({VIEW_KEY: AUGMENTED, PAIR_INDEX_KEY: index})
        augmented_samples.append(sample)
    for index, sample in enumerate(samples):
        sample.set_metainfo({VIEW_KEY: ORIGINAL, PAIR_INDEX_KEY: index})
        for key in AUGMENTED_ONLY_KEYS:
            if key in sample.metainfo_keys():
                sample.set_metainfo({key: []})
    return dict(
        inputs=list(originals) + [augmented[i] for i in chosen],
        data_samples=list(samples) + augmented_samples)


# ---------------------------------------------------------------------------
# Reader
# ---------------------------------------------------------------------------
def _long(values: List[int]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.long)


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
        """Read the pairing that :func:`flatten_paired_batch` wrote.

        Raises:
            ValueError: a sample lacks the fields, has an unknown view, an
                image has two original (or two augmented) views, or an
                augmented view has no original partner.
        """
        originals: dict = {}
        augmented: dict = {}
        for row, sample in enumerate(data_samples):
            view = sample.metainfo.get(VIEW_KEY)
            index = sample.metainfo.get(PAIR_INDEX_KEY)
            if view not in VIEWS or index is None:
                raise ValueError(
                    f'data sample {row} has {VIEW_KEY}={view!r}, '
                    f'{PAIR_INDEX_KEY}={index!r}; a paired batch needs '
                    f'{VIEW_KEY} in {VIEWS} and an integer {PAIR_INDEX_KEY} '
                    'on every sample. Use PairedViews in the pipeline and '
                    'PairedDataPreprocessor as the data preprocessor.')
            table = originals if view == ORIGINAL else augmented
            if index in table:
                raise ValueError(
                    f'image {index} has two {view} views (rows '
                    f'{table[index]} and {row}): views are not paired')
            table[index] = row
        if sorted(originals) != list(range(len(originals))):
            raise ValueError(f'original views must have {PAIR_INDEX_KEY} '
                             f'0..B-1, got {sorted(originals)}')
        orphans = sorted(set(augmented) - set(originals))
        if orphans:
            raise ValueError(f'augmented views of images {orphans} have no '
                             'original view in the batch')
        aug_images = sorted(augmented)
        return cls(
            original_rows=_long([originals[i] for i in range(len(originals))]),
            augmented_rows=_long([augmented[i] for i in aug_images]),
            partner_rows=_long([originals[i] for i in aug_images]))


# ---------------------------------------------------------------------------
# Losses that take the pairing
# ---------------------------------------------------------------------------
class PairAwareLoss(nn.Module):
    """Base class of the distillation losses that need the view pairing.

    :class:`~mmkd_ccd.models.distillers.PairedDistiller` passes
    ``pairing=ViewPairing`` to every loss that is an instance of this class
    (:attr:`requires_pairing`); other losses see all rows alike.

    A subclass that weights its augmented terms stores, after each call, the
    weights it applied in :attr:`last_weights`: a detached 1-D tensor with
    one entry per weighted term -- one per augmented view for logits, one
    per augmented location (and anchor) for dense outputs -- or ``None``
    when nothing was weighted. The distiller logs the mean over all entries
    of all such losses as ``ccd_weight``.
    """

    requires_pairing: ClassVar[bool] = True

    def __init__(self) -> None:
        super().__init__()
        self.last_weights: Optional[torch.Tensor] = None

    def report_weights(self, weights: Optional[torch.Tensor]) -> None:
        """Keep ``weights`` (any shape) as :attr:`last_weights`, flattened
        and detached."""
        self.last_weights = (None if weights is None else
                             weights.detach().reshape(-1))
