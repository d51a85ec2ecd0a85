"""Cosine Confidence Distillation (CCD) loss.

Li, Shao et al., "What Role Does Data Augmentation Play in Knowledge
Distillation?", ACCV 2022, and SPEC.md section 1.2.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmkd_ccd.registry import MODELS
from mmkd_ccd.structures import ViewPairing

CONFIDENCES = ('cosine', 'none')


def kl_per_sample(logits_student: torch.Tensor, logits_teacher: torch.Tensor,
                  temperature: float) -> torch.Tensor:
    """``KL(softmax(t/T) || softmax(s/T))`` per row.

    Args:
        logits_student: (N, C) student logits.
        logits_teacher: (N, C) teacher logits.
        temperature: softening temperature T.

    Returns:
        (N,) divergences, without the T^2 factor.
    """
    log_p_student = F.log_softmax(logits_student / temperature, dim=1)
    log_p_teacher = F.log_softmax(logits_teacher / temperature, dim=1)
    return (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(dim=1)


def ccd_weights(logits_teacher_original: torch.Tensor,
                logits_teacher_augmented: torch.Tensor) -> torch.Tensor:
    """``w = 1 + cos(t_original, t_augmented)`` per pair, in [0, 2].

    Computed on the teacher's raw logits (no temperature) and without
    gradient: the weight says how much the teacher trusts the augmented view,
    it is not something to optimise.

    Args:
        logits_teacher_original: (K, C) teacher logits of the original views.
        logits_teacher_augmented: (K, C) teacher logits of their augmented
            views, row k pairing with row k above.

    Returns:
        (K,) weights.
    """
    with torch.no_grad():
        return 1.0 + F.cosine_similarity(
            logits_teacher_original.float(),
            logits_teacher_augmented.float(),
            dim=1)


def ccd_loss(logits_student: torch.Tensor,
             logits_teacher: torch.Tensor,
             pairing: ViewPairing,
             temperature: float = 4.0,
             confidence: str = 'cosine'
             ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """The soft part of CCD: ``T^2 * (L_orig + L_aug) / 2``.

    ``L_orig`` is the mean KL over the original views; ``L_aug`` the mean over
    augmented views of ``w * KL`` with ``w`` from :func:`ccd_weights`
    (``confidence='cosine'``) or ``w = 1`` (``'none'``: the KD+JDA baseline).
    The student's cross-entropy on all views is the classifier's own loss and
    is not part of this function.

    Args:
        logits_student: (N, C) student logits of the whole paired batch.
        logits_teacher: (N, C) teacher logits of the same rows.
        pairing: which rows are original views and which augmented view pairs
            with which original (:class:`~mmkd_ccd.structures.ViewPairing`).
        temperature: T. Defaults to 4.0.
        confidence: ``'cosine'`` or ``'none'``. Defaults to ``'cosine'``.

    Returns:
        The loss (scalar) and the (K,) weights of the augmented views
        (``None`` for ``'none'``).
    """
    if confidence not in CONFIDENCES:
        raise ValueError(f'confidence must be one of {CONFIDENCES}, '
                         f'got {confidence!r}')
    if logits_student.shape != logits_teacher.shape:
        raise ValueError('student and teacher logits differ in shape: '
                         f'{tuple(logits_student.shape)} vs '
                         f'{tuple(logits_teacher.shape)}')
    if logits_student.dim() != 2:
        raise ValueError('expected (N, C) logits, got shape '
                         f'{tuple(logits_student.shape)}')
    pairing.check_rows(logits_student.shape[0])

    orig = pairing.original_rows.to(logits_student.device)
    loss_original = kl_per_sample(logits_student[orig], logits_teacher[orig],
                                  temperature).mean()

    aug = pairing.augmented_rows.to(logits_student.device)
    if aug.numel() == 0:
        # A batch without augmented views is plain KD on the originals.
        return temperature**2 * loss_original, None
    partner = pairing.partner_rows.to(logits_student.device)
    kl_augmented = kl_per_sample(logits_student[aug], logits_teacher[aug],
                                 temperature)
    weights = None
    if confidence == 'cosine':
        weights = ccd_weights(logits_teacher[partner], logits_teacher[aug])
        kl_augmented = weights.to(kl_augmented.dtype) * kl_augmented
    loss = temperature**2 * (loss_original + kl_augmented.mean()) / 2
    return loss, weights


@MODELS.register_module()
class CCDLoss(nn.Module):
    """Cosine Confidence Distillation loss (Li, Shao et al., ACCV 2022).

    A thin module around :func:`ccd_loss` for MMRazor's
    ``ConfigurableDistiller``; it needs the view pairing, so use it through
    :class:`~mmkd_ccd.models.distillers.PairedDistiller`, which passes
    ``pairing`` to every loss whose ``forward`` accepts it.

    With the reference settings (``tau=4``, ``loss_weight=1``) and the
    student's cross-entropy on all views at weight 1, the total loss is the
    paper's ``1.0 * CE + 1.0 * L_soft``.

    Args:
        tau (float): Temperature T. Defaults to 4.0.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        confidence (str): ``'cosine'`` weights each augmented view by
            ``1 + cos`` of the teacher's raw logits of its two views (CCD);
            ``'none'`` weights every view 1 (the KD+JDA baseline).
            Defaults to ``'cosine'``.

    Attributes:
        last_weights (Tensor | None): the (K,) weights of the latest call,
            detached, for logging.
    """

    def __init__(self,
                 tau: float = 4.0,
                 loss_weight: float = 1.0,
                 confidence: str = 'cosine') -> None:
        super().__init__()
        if confidence not in CONFIDENCES:
            raise ValueError(f'CCDLoss: confidence must be one of '
                             f'{CONFIDENCES}, got {confidence!r}')
        if tau <= 0:
            raise ValueError(f'CCDLoss: tau must be > 0, got {tau}')
        self.tau = tau
        self.loss_weight = loss_weight
        self.confidence = confidence
        self.last_weights: Optional[torch.Tensor] = None

    def forward(self, preds_S: torch.Tensor, preds_T: torch.Tensor,
                pairing: ViewPairing) -> torch.Tensor:
        """
        Args:
            preds_S: (N, C) student logits of the paired batch.
            preds_T: (N, C) teacher logits of the same rows.
            pairing: the batch's :class:`~mmkd_ccd.structures.ViewPairing`.

        Returns:
            The weighted loss (scalar).
        """
        loss, weights = ccd_loss(preds_S, preds_T, pairing, self.tau,
                                 self.confidence)
        self.last_weights = weights
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'tau={self.tau}, loss_weight={self.loss_weight}, '
                f'confidence={self.confidence!r}')
