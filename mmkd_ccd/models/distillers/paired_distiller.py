"""A ConfigurableDistiller that knows which rows are views of which image."""
from __future__ import annotations

from inspect import signature
from typing import Any, Dict, Optional, Tuple

import torch
import torch.nn as nn
from mmrazor.models.distillers import ConfigurableDistiller

from mmkd_ccd.registry import MODELS
from mmkd_ccd.structures import ViewPairing

#: The student's ``forward`` parameters the distiller reads: mmengine's
#: ``BaseModel.forward(inputs, data_samples=None, mode='tensor')`` contract.
_FORWARD_PARAMETERS = ('data_samples', 'mode')


@MODELS.register_module()
class PairedDistiller(ConfigurableDistiller):
    """MMRazor's ``ConfigurableDistiller`` for paired batches.

    Recorders, connectors and ``loss_forward_mappings`` work exactly as in
    ``ConfigurableDistiller``: teacher and student logits are recorded on the
    whole paired batch. In addition, every time the student is called in
    ``'loss'`` mode the distiller reads the batch's
    :class:`~mmkd_ccd.structures.ViewPairing` from the ``data_samples`` of
    that call, and passes it as ``pairing=`` to every loss whose class sets
    ``requires_pairing = True`` (the subclasses of
    :class:`~mmkd_ccd.structures.PairAwareLoss`: ``CCDLoss``,
    ``DenseCCDLoss``, ``PairedLoss``). Other losses (``KLDivergence``,
    ``DKDLoss``, ...) see all rows alike, which is "that loss + JDA".

    The call is matched to the student's ``forward`` signature by name
    (mmengine's ``forward(inputs, data_samples, mode)``), so it does not
    matter whether the algorithm passes ``data_samples`` and ``mode`` by
    position or by keyword.

    The pair-aware losses report the confidence weights they applied
    (``last_weights``); their mean over every weighted view (or location) of
    every such loss is returned as ``ccd_weight``: a logged value, not a
    loss (its name has no ``loss`` in it).

    It is a drop-in for ``distiller=dict(type='ConfigurableDistiller', ...)``
    inside MMRazor's unmodified ``SingleTeacherDistill``; arguments are those
    of ``ConfigurableDistiller``.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._pairing: Optional[ViewPairing] = None
        self._pair_aware = {
            name
            for name, loss in self.distill_losses.items()
            if getattr(loss, 'requires_pairing', False)
        }

    def prepare_from_student(self, model: nn.Module) -> None:
        super().prepare_from_student(model)
        forward = signature(model.forward)
        missing = [p for p in _FORWARD_PARAMETERS
                   if p not in forward.parameters]
        if missing:
            raise TypeError(
                f'PairedDistiller: the student {type(model).__name__}.forward'
                f'{forward} has no {missing} parameter; it must follow '
                "mmengine's BaseModel.forward(inputs, data_samples, mode)")

        def record_pairing(module: nn.Module, args: Tuple,
                           kwargs: Dict[str, Any]) -> None:
            call = forward.bind(*args, **kwargs)
            call.apply_defaults()
            if call.arguments['mode'] != 'loss':
                return
            samples = call.arguments['data_samples']
            if samples is None:
                raise ValueError(
                    'PairedDistiller: the student was called in loss mode '
                    'without data samples, so the view pairing is unknown')
            self._pairing = ViewPairing.from_data_samples(samples)

        model.register_forward_pre_hook(record_pairing, with_kwargs=True)

    @property
    def pairing(self) -> ViewPairing:
        """The pairing of the batch the student saw last in loss mode."""
        if self._pairing is None:
            raise RuntimeError('PairedDistiller: no paired batch has been '
                               'seen yet; compute_distill_losses must follow '
                               "a student forward in 'loss' mode")
        return self._pairing

    def compute_distill_losses(self) -> Dict[str, torch.Tensor]:
        losses: Dict[str, torch.Tensor] = {}
        weights = []
        for name, mappings in self.loss_forward_mappings.items():
            kwargs = {
                key: self.get_record(**record)
                for key, record in mappings.items()
            }
            loss_module = self.distill_losses[name]
            if name in self._pair_aware:
                kwargs['pairing'] = self.pairing
            losses[name] = loss_module(**kwargs)
            applied = getattr(loss_module, 'last_weights', None)
            if name in self._pair_aware and applied is not None:
                weights.append(applied)
        if weights:
            losses['ccd_weight'] = torch.cat(weights).mean()
        return losses
