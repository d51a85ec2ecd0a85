"""Cosine Confidence Distillation (CCD) loss, and the math every pair-aware
loss of this package shares.

From Li, Shao et al., "What Role Does Data Augmentation Play in Knowledge
Distillation?", ACCV 2022. For B images there are 2B views; with teacher
logits ``t`` and student logits ``s``, ``o(i)`` the original and ``a(i)``
the augmented view of image i, and temperature T::

    L_orig = 1/B sum_i KL(softmax(t_o(i) / T) || softmax(s_o(i) / T))
    w_i    = 1 + cos(t_o(i), t_a(i))          # raw logits, no gradient
    L_aug  = 1/B sum_i w_i KL(softmax(t_a(i) / T) || softmax(s_a(i) / T))
    L_soft = T^2 (L_orig + L_aug) / 2

The student's cross-entropy on all 2B views is the classifier's own loss.
With ``w_i = 1`` the same loss is KD+JDA, the paper's main baseline.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
import torch.nn.functional as F

from mmkd_ccd.registry import MODELS
from mmkd_ccd.structures import PairAwareLoss, ViewPairing

#: ``'cosine'``: CCD's confidence weight; ``'none'``: every view weighs 1.
CONFIDENCES = ('cosine', 'none')


def check_confidence(confidence: str, owner: str) -> None:
    """Raise unless ``confidence`` is one of :data:`CONFIDENCES`."""
    if confidence not in CONFIDENCES:
        raise ValueError(f'{owner}: confidence must be one of {CONFIDENCES}, '
                         f'got {confidence!r}')


def check_temperature(tau: float, owner: str) -> None:
    """Raise unless the temperature ``tau`` is a positive number."""
    if isinstance(tau, bool) or not isinstance(tau, (int, float)) or tau <= 0:
        raise ValueError(f'{owner}: tau must be a number > 0, got {tau!r}')


def kl_per_row(logits_student: torch.Tensor, logits_teacher: torch.Tensor,
               temperature: float) -> torch.Tensor:
    """``KL(softmax(t/T) || softmax(s/T))`` over the last dimension.

    Args:
        logits_student: (..., C) student logits.
        logits_teacher: (..., C) teacher logits.
        temperature: softening temperature T.

    Returns:
        (...) divergences, without the T^2 factor.
    """
    log_p_student = F.log_softmax(logits_student / temperature, dim=-1)
    log_p_teacher = F.log_softmax(logits_teacher / temperature, dim=-1)
    return (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(-1)


def ccd_weights(logits_teacher_original: torch.Tensor,
                logits_teacher_augmented: torch.Tensor,
                dim: int = -1) -> torch.Tensor:
    """``w = 1 + cos(t_original, t_augmented)`` along ``dim``, in [0, 2].

    Computed on the teacher's raw logits (no temperature) and without
    gradient: the weight says how much the teacher trusts the augmented view,
    it is not something to optimise.

    Args:
        logits_teacher_original: (K, ..., C) teacher logits of the original
            views.
        logits_teacher_augmented: the teacher logits of their augmented
            views, same shape, row k pairing with row k above.
        dim: the class dimension. Defaults to -1.

    Returns:
        The weights, shaped like the inputs without ``dim``.
    """
    with torch.no_grad():
        return 1.0 + F.cosine_similarity(logits_teacher_original.float(),
                                         logits_teacher_augmented.float(),
                                         dim=dim)


def combine_views(loss_original: torch.Tensor,
                  loss_augmented: Optional[torch.Tensor]) -> torch.Tensor:
    """``(L_orig + L_aug) / 2``: the original and augmented views as two
    halves; ``L_orig`` alone for a batch without augmented views."""
    if loss_augmented is None:
        return loss_original
    return (loss_original + loss_augmented) / 2


def paired_divergence(
        divergence: torch.Tensor, logits_teacher: torch.Tensor,
        pairing: ViewPairing,
        confidence: str) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """CCD's combination of per-row divergences: ``(L_orig + L_aug) / 2``.

    ``L_orig`` is the mean of ``divergence`` over the original rows, ``L_aug``
    the mean over the augmented rows of ``w * divergence``, with ``w`` from
    :func:`ccd_weights` of the teacher's logits of the two views
    (``'cosine'``) or 1 (``'none'``). Means run over every remaining
    dimension too (locations of a dense head).

    Args:
        divergence: (N, ...) teacher-to-student divergence per row (and
            location).
        logits_teacher: (N, ..., C) teacher logits of the same rows.
        pairing: the batch's :class:`~mmkd_ccd.structures.ViewPairing`.
        confidence: ``'cosine'`` or ``'none'``.

    Returns:
        The loss (scalar) and the weights of the augmented rows, (K, ...)
        (``None`` for ``'none'`` or without augmented views).
    """
    pairing.check_rows(divergence.shape[0])
    device = divergence.device
    loss_original = divergence[pairing.original_rows.to(device)].mean()
    if pairing.num_augmented == 0:
        return combine_views(loss_original, None), None
    aug = pairing.augmented_rows.to(device)
    divergence_augmented = divergence[aug]
    weights = None
    if confidence == 'cosine':
        partner = pairing.partner_rows.to(device)
        weights = ccd_weights(logits_teacher[partner], logits_teacher[aug])
        divergence_augmented = (weights.to(divergence_augmented.dtype) *
                                divergence_augmented)
    return combine_views(loss_original, divergence_augmented.mean()), weights


def ccd_loss(logits_student: torch.Tensor,
             logits_teacher: torch.Tensor,
             pairing: ViewPairing,
             temperature: float = 4.0,
             confidence: str = 'cosine'
             ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """The soft part of CCD: ``T^2 * (L_orig + L_aug) / 2``.

    Args:
        logits_student: (N, C) student logits of the whole paired batch.
        logits_teacher: (N, C) teacher logits of the same rows.
        pairing: which rows are original views and which augmented view pairs
            with which original (:class:`~mmkd_ccd.structures.ViewPairing`).
        temperature: T. Defaults to 4.0.
        confidence: ``'cosine'`` (CCD) or ``'none'`` (KD+JDA). Defaults to
            ``'cosine'``.

    Returns:
        The loss (scalar) and the (K,) weights of the augmented views
        (``None`` for ``'none'`` or without augmented views).
    """
    check_confidence(confidence, 'ccd_loss')
    if logits_student.shape != logits_teacher.shape:
        raise ValueError('student and teacher logits differ in shape: '
                         f'{tuple(logits_student.shape)} vs '
                         f'{tuple(logits_teacher.shape)}')
    if logits_student.dim() != 2:
        raise ValueError('expected (N, C) logits, got shape '
                         f'{tuple(logits_student.shape)}')
    divergence = kl_per_row(logits_student, logits_teacher, temperature)
    loss, weights = paired_divergence(divergence, logits_teacher, pairing,
                                      confidence)
    return temperature**2 * loss, weights


@MODELS.register_module()
class CCDLoss(PairAwareLoss):
    """Cosine Confidence Distillation loss (Li, Shao et al., ACCV 2022).

    A thin module around :func:`ccd_loss` for MMRazor's
    ``ConfigurableDistiller``; it needs the view pairing, so use it through
    :class:`~mmkd_ccd.models.distillers.PairedDistiller`.

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
        last_weights (Tensor | None): the (K,) weights of the latest call
            (see :class:`~mmkd_ccd.structures.PairAwareLoss`).
    """

    def __init__(self,
                 tau: float = 4.0,
                 loss_weight: float = 1.0,
                 confidence: str = 'cosine') -> None:
        super().__init__()
        check_confidence(confidence, 'CCDLoss')
        check_temperature(tau, 'CCDLoss')
        self.tau = tau
        self.loss_weight = loss_weight
        self.confidence = confidence

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
        self.report_weights(weights)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'tau={self.tau}, loss_weight={self.loss_weight}, '
                f'confidence={self.confidence!r}')
