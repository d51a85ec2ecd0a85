"""A ConfigurableDistiller that knows which rows are views of which image."""
from __future__ import annotations

from inspect import signature
from typing import Any, Dict, Optional, Tuple

import torch
import torch.nn as nn
from mmrazor.models.distillers import ConfigurableDistiller

from mmkd_ccd.registry import MODELS
from mmkd_ccd.structures import ViewPairing


@MODELS.register_module()
class PairedDistiller(ConfigurableDistiller):
    """MMRazor's ``ConfigurableDistiller`` for paired batches.

    Recorders, connectors and ``loss_forward_mappings`` work exactly as in
    ``ConfigurableDistiller``: teacher and student logits are recorded on the
    whole paired batch. In addition the distiller reads the
    :class:`~mmkd_ccd.structures.ViewPairing` from the data samples the
    student is trained on (a forward pre-hook on the student, installed by
    :meth:`prepare_from_student`) and passes it as ``pairing=`` to every loss
    whose ``forward`` has a ``pairing`` parameter (e.g. ``CCDLoss``). Other
    losses (``KLDivergence``, ``DKDLoss``, ...) see all rows alike, which is
    "that loss + JDA".

    For each loss that exposes ``last_weights`` (the CCD confidence of the
    augmented views) the batch mean is returned as ``ccd_weight`` (a logged
    value, not a loss: its name has no ``loss`` in it).

    It is a drop-in for ``distiller=dict(type='ConfigurableDistiller', ...)``
    inside MMRazor's unmodified ``SingleTeacherDistill``; arguments are those
    of ``ConfigurableDistiller``.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._pairing: Optional[ViewPairing] = None
        # Which losses take the pairing, decided once rather than per step.
        self._pair_aware = {
            name
            for name, loss in self.distill_losses.items()
            if 'pairing' in signature(loss.forward).parameters
        }

    def prepare_from_student(self, model: nn.Module) -> None:
        super().prepare_from_student(model)
        model.register_forward_pre_hook(self._record_pairing, with_kwargs=True)

    def _record_pairing(self, module: nn.Module, args: Tuple,
                        kwargs: Dict[str, Any]) -> None:
        mode = kwargs.get('mode', args[2] if len(args) > 2 else 'tensor')
        if mode != 'loss':
            return
        samples = kwargs.get('data_samples',
                             args[1] if len(args) > 1 else None)
        if samples is None:
            raise ValueError('PairedDistiller: the student was called in loss '
                             'mode without data samples, so the view pairing '
                             'is unknown')
        self._pairing = ViewPairing.from_data_samples(samples)

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
            last = getattr(loss_module, 'last_weights', None)
            if last is not None:
                weights.append(last.mean())
        if weights:
            losses['ccd_weight'] = torch.stack(weights).mean().detach()
        return losses
