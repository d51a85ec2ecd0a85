"""CCD's cosine confidence around any MMRazor logit loss.

The paper's analysis (e) (Li, Shao et al., ACCV 2022) combines JDA with other distillation losses (KD, DKD, DIST, WSLD, ...).
Without a wrapper such a loss already sees every view of a paired batch
alike ("that loss + JDA", see ``PairedDistiller``); :class:`PairedLoss` adds
CCD's structure: the original and the augmented views are averaged as two
halves, and each augmented view is weighted by the teacher's confidence in
it.
"""
from __future__ import annotations

import contextlib
from inspect import Parameter, signature
from typing import Any, Dict, Iterator, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.registry import DefaultScope
from mmrazor.models.losses import AngleWiseRKD, DISTLoss, DistanceWiseRKD
from mmrazor.registry import MODELS as RAZOR_MODELS

from mmkd_ccd.registry import MODELS
from mmkd_ccd.structures import PairAwareLoss, ViewPairing
from .ccd_loss import ccd_weights, check_confidence, combine_views

#: MMRazor logit losses whose batch value is not a reduction of per-sample
#: values, so no per-sample weight can be applied to them.
BATCH_RELATIONAL = {
    DISTLoss: "its intra-class relation correlates each class's "
    'probabilities across the rows of the batch',
    DistanceWiseRKD: 'it matches distances between pairs of samples',
    AngleWiseRKD: 'it matches angles between triplets of samples',
}

#: torch's reductions, and how a one-row call reduces that row's
#: element-wise (``reduction='none'``) values.
_ONE_ROW = {'batchmean': 'sum', 'sum': 'sum', 'mean': 'mean'}

# Relative tolerance of the one-time checks below. They tell apart values
# that differ by a factor of the number of rows (>= 2), so it only has to
# absorb float (and half-precision) summation noise.
_RTOL = 1e-2

Extra = Dict[str, Any]


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return bool(torch.isclose(a.float(), b.float(), rtol=_RTOL, atol=1e-8)
                .all())


@contextlib.contextmanager
def _reduction(loss: nn.Module, reduction: str) -> Iterator[None]:
    saved = loss.reduction
    loss.reduction = reduction
    try:
        yield
    finally:
        loss.reduction = saved


@MODELS.register_module()
class PairedLoss(PairAwareLoss):
    """Apply CCD's cosine confidence to another MMRazor logit loss.

    From Li, Shao et al., "What Role Does Data Augmentation Play in Knowledge
    Distillation?", ACCV 2022, analysis (e). With ``inner`` the wrapped loss
    (which reduces over the rows it is given)::

        L_orig = inner(original rows)
        L_aug  = reduce_k w_k * inner(augmented row k)   # 'cosine'
        L_aug  = inner(augmented rows)                   # 'none'
        loss   = (L_orig + L_aug) / 2

    with ``w_k = 1 + cos`` of the teacher's raw logits of the two views of
    image k (:func:`~mmkd_ccd.models.losses.ccd_weights`, in [0, 2], no
    gradient). ``reduce_k`` is the inner loss's own reduction over rows, so
    that ``w = 1`` gives ``inner(augmented rows)``: the mean for
    ``KLDivergence`` (``'batchmean'``) and ``WSLD``, the *sum* for MMRazor's
    ``DKDLoss``, whose ``F.kl_div(size_average=False, ...)`` sums over the
    batch whatever its ``reduction``. It is found on the first call with two
    or more augmented views by comparing ``inner(augmented rows)`` with the
    sum and the mean of the per-row values; a loss matching neither is not
    per-sample and raises ``ValueError``.

    Per-row values come from one ``inner`` call on the augmented rows with
    ``reduction='none'`` when the inner loss has a ``reduction`` that it
    honours per row (``KLDivergence``; checked once against the per-row
    calls), and from one call per augmented row otherwise (``DKDLoss``,
    ``WSLD``).

    ``PairedLoss(loss=dict(type='KLDivergence', tau=T))`` with
    ``confidence='cosine'`` equals ``CCDLoss(tau=T)``: MMRazor's
    ``KLDivergence`` is ``T^2 * KL`` averaged over rows, so the formula above
    is CCD's ``T^2 * (L_orig + L_aug) / 2``
    (:mod:`~mmkd_ccd.models.losses.ccd_loss`).

    Losses relating samples across the batch (``DISTLoss``, the RKD losses;
    :data:`BATCH_RELATIONAL`) have no per-sample value: they are rejected
    with ``confidence='cosine'`` and fine with ``'none'`` (one call on the
    original rows, one on the augmented rows).

    Inputs beyond the logits are forwarded to the inner loss; tensors whose
    first dimension is the number of rows of the paired batch (``gt_labels``)
    are indexed along with the rows. In a distiller config, map
    ``gt_labels`` from a ``ModuleInputs`` recorder on the student's
    ``head.loss_module`` (``data_idx=1``), as MMRazor's DKD and WSLD configs
    do; other inputs can be given as keyword arguments when calling the loss
    directly (``ConfigurableDistiller`` only maps named ``forward``
    parameters). Use through :class:`~mmkd_ccd.models.distillers.
    PairedDistiller`, which passes ``pairing``.

    Scale the loss with the inner loss's own ``loss_weight``.

    Args:
        loss (dict | nn.Module): The inner logit loss or its config, built
            from MMRazor's registry, e.g. ``dict(type='DKDLoss', tau=1)``.
        confidence (str): ``'cosine'`` weights each augmented view by the
            teacher's confidence (CCD); ``'none'`` weights every view 1
            ("inner loss + JDA" with CCD's halving). Defaults to ``'cosine'``.

    Attributes:
        last_weights (Tensor | None): the (K,) weights of the latest call
            (``None`` for ``'none'`` or without augmented views; see
            :class:`~mmkd_ccd.structures.PairAwareLoss`).
    """

    def __init__(self,
                 loss: Union[dict, nn.Module],
                 confidence: str = 'cosine') -> None:
        super().__init__()
        check_confidence(confidence, 'PairedLoss')
        if isinstance(loss, dict):
            # MMRazor's losses live in the mmrazor scope, which the default
            # scope of an mmpretrain config would not search.
            with DefaultScope.overwrite_default_scope('mmrazor'):
                loss = RAZOR_MODELS.build(loss)
        elif not isinstance(loss, nn.Module):
            raise TypeError('PairedLoss: loss must be a loss config dict or '
                            f'an nn.Module, got {type(loss).__name__}')
        name = type(loss).__name__
        if confidence == 'cosine':
            for relational, reason in BATCH_RELATIONAL.items():
                if isinstance(loss, relational):
                    raise ValueError(
                        f"PairedLoss: confidence='cosine' weights every "
                        f'augmented view on its own, but {name} is not a sum '
                        f'of per-sample terms: {reason}. Use '
                        f"confidence='none' with {name}.")
        params = list(signature(loss.forward).parameters.values())
        positional = [p for p in params if p.kind in (
            Parameter.POSITIONAL_ONLY, Parameter.POSITIONAL_OR_KEYWORD)]
        if len(positional) < 2:
            raise ValueError(f'PairedLoss: {name}.forward does not take '
                             'student and teacher logits as its first two '
                             'arguments')
        self.loss = loss
        self.confidence = confidence
        # The inner loss's inputs beyond the two logits without a default.
        self._required = tuple(
            p.name for p in params[2:]
            if p.default is Parameter.empty and p.kind in (
                Parameter.POSITIONAL_OR_KEYWORD, Parameter.KEYWORD_ONLY))
        # Learnt on the first call that can tell them (see the docstring).
        self._row_reduction: Optional[str] = None
        self._vectorised: Optional[bool] = (
            None if getattr(loss, 'reduction', None) in _ONE_ROW else False)

    def forward(self,
                preds_S: torch.Tensor,
                preds_T: torch.Tensor,
                pairing: ViewPairing,
                gt_labels: Optional[torch.Tensor] = None,
                **kwargs) -> torch.Tensor:
        """
        Args:
            preds_S: (N, C) student logits of the paired batch.
            preds_T: (N, C) teacher logits of the same rows.
            pairing: the batch's :class:`~mmkd_ccd.structures.ViewPairing`.
            gt_labels: (N,) class indices of the rows, for inner losses that
                take them (``DKDLoss``, ``WSLD``). Defaults to None.
            **kwargs: further inputs of the inner loss; (N, ...) tensors are
                indexed by row.

        Returns:
            The loss (scalar).
        """
        if preds_S.shape != preds_T.shape or preds_S.dim() != 2:
            raise ValueError(
                'PairedLoss: expected (N, C) student and teacher logits of '
                f'one shape, got {tuple(preds_S.shape)} and '
                f'{tuple(preds_T.shape)}')
        num_rows = preds_S.shape[0]
        pairing.check_rows(num_rows)
        extra = dict(kwargs)
        if gt_labels is not None:
            if gt_labels.shape[:1] != (num_rows, ):
                raise ValueError(
                    f'PairedLoss: gt_labels has shape '
                    f'{tuple(gt_labels.shape)}, expected one label per row '
                    f'of the paired batch ({num_rows} rows)')
            extra['gt_labels'] = gt_labels
        missing = [name for name in self._required if name not in extra]
        if missing:
            hint = (" (gt_labels=dict(recorder='gt_labels', "
                    'from_student=True, data_idx=1) with the student recorder '
                    "gt_labels=dict(type='ModuleInputs', "
                    "source='head.loss_module'))"
                    if 'gt_labels' in missing else '')
            raise ValueError(
                f'PairedLoss: {type(self.loss).__name__} needs {missing}; '
                f'map them in the distiller\'s loss_forward_mappings{hint}')

        loss_original = self._on_rows(pairing.original_rows, preds_S,
                                      preds_T, extra)
        self.report_weights(None)
        if pairing.num_augmented == 0:
            return combine_views(loss_original, None)
        logits_S, logits_T, extra_aug = _take(pairing.augmented_rows, preds_S,
                                              preds_T, extra, num_rows)
        if self.confidence == 'none':
            return combine_views(loss_original,
                                 self.loss(logits_S, logits_T, **extra_aug))

        partner = pairing.partner_rows.to(preds_T.device)
        weights = ccd_weights(preds_T[partner], logits_T)
        per_row = self._per_row(logits_S, logits_T, extra_aug)
        weighted = weights.to(per_row.dtype) * per_row
        if self._reduce_rows(per_row, logits_S, logits_T, extra_aug) == 'sum':
            loss_augmented = weighted.sum()
        else:
            loss_augmented = weighted.mean()
        self.report_weights(weights)
        return combine_views(loss_original, loss_augmented)

    def _on_rows(self, rows: Union[torch.Tensor, slice],
                 logits_S: torch.Tensor, logits_T: torch.Tensor,
                 extra: Extra) -> torch.Tensor:
        """The inner loss on ``rows`` only."""
        selected = _take(rows, logits_S, logits_T, extra, logits_S.shape[0])
        return self.loss(selected[0], selected[1], **selected[2])

    def _per_row(self, logits_S: torch.Tensor, logits_T: torch.Tensor,
                 extra: Extra) -> torch.Tensor:
        """(K,) values of the inner loss called on each row alone."""
        if self._vectorised:
            return self._elementwise(logits_S, logits_T, extra)
        looped = torch.stack([
            self._on_rows(slice(k, k + 1), logits_S, logits_T, extra)
            for k in range(logits_S.shape[0])
        ])
        if self._vectorised is None:
            with torch.no_grad():
                values = self._elementwise(logits_S, logits_T, extra)
            # DKDLoss has a ``reduction`` it overrides: check, do not trust.
            self._vectorised = values is not None and _close(values, looped)
        return looped

    def _elementwise(self, logits_S: torch.Tensor, logits_T: torch.Tensor,
                     extra: Extra) -> Optional[torch.Tensor]:
        """Per-row values from one ``reduction='none'`` call, or None when
        the inner loss does not return one value set per row."""
        one_row = _ONE_ROW[self.loss.reduction]
        with _reduction(self.loss, 'none'):
            values = self.loss(logits_S, logits_T, **extra)
        if values.dim() == 0 or values.shape[0] != logits_S.shape[0]:
            return None
        values = values.reshape(values.shape[0], -1)
        return values.sum(1) if one_row == 'sum' else values.mean(1)

    def _reduce_rows(self, per_row: torch.Tensor, logits_S: torch.Tensor,
                     logits_T: torch.Tensor, extra: Extra) -> str:
        """'sum' or 'mean': how the inner loss reduces over rows."""
        if self._row_reduction is not None:
            return self._row_reduction
        num = per_row.numel()
        if num < 2:
            return 'mean'  # sum and mean of one row agree
        with torch.no_grad():
            whole = self.loss(logits_S, logits_T, **extra)
        total = per_row.detach().sum()
        is_sum, is_mean = _close(whole, total), _close(whole, total / num)
        if not (is_sum or is_mean):
            name = type(self.loss).__name__
            raise ValueError(
                f'PairedLoss: {name} on {num} augmented views gave '
                f'{float(whole):.6g}, neither the sum ({float(total):.6g}) '
                f'nor the mean ({float(total) / num:.6g}) of its values on '
                f"each view alone, so confidence='cosine' cannot weight its "
                f"samples. Use confidence='none' with {name}.")
        if is_sum != is_mean:
            self._row_reduction = 'sum' if is_sum else 'mean'
        # Both close: the values are ~0 and either reduction gives the same;
        # decide on a later batch.
        return 'sum' if is_sum and not is_mean else 'mean'

    def extra_repr(self) -> str:
        return f'confidence={self.confidence!r}'


def _take(rows: Union[torch.Tensor, slice], logits_S: torch.Tensor,
          logits_T: torch.Tensor, extra: Extra,
          num_rows: int) -> Tuple[torch.Tensor, torch.Tensor, Extra]:
    """Select ``rows`` of the logits and of the per-row inputs in ``extra``
    (tensors whose first dimension is ``num_rows``)."""
    if isinstance(rows, torch.Tensor):
        rows = rows.to(logits_S.device)
    selected = {
        key: value[rows] if _per_sample(value, num_rows) else value
        for key, value in extra.items()
    }
    return logits_S[rows], logits_T[rows], selected


def _per_sample(value: Any, num_rows: int) -> bool:
    return (isinstance(value, torch.Tensor) and value.dim() > 0
            and value.shape[0] == num_rows)
