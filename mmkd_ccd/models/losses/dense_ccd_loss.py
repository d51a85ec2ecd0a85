"""CCD for the dense classification outputs of a detection head.

Li, Shao et al., "What Role Does Data Augmentation Play in Knowledge
Distillation?", ACCV 2022, carried from one logit vector per image (see
:mod:`~mmkd_ccd.models.losses.ccd_loss`) to one per location and anchor of
every FPN level.

The two views of an image must be spatially aligned (``DetJDA`` with
``photometric_only=True`` and the geometric transforms before
``PairedViews``), so that a location of the augmented view sees the same
content as the same location of the original view: the CCD weight of an
augmented location is then ``1 + cos`` of the teacher's class logits at that
location in the two views.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from mmkd_ccd.registry import MODELS
from mmkd_ccd.structures import PairAwareLoss, ViewPairing

from .ccd_loss import (check_confidence, check_temperature, kl_per_row,
                       paired_divergence)

ACTIVATIONS = ('sigmoid', 'softmax')


def check_activation(activation: str, owner: str) -> None:
    """Raise unless ``activation`` is one of :data:`ACTIVATIONS`."""
    if activation not in ACTIVATIONS:
        raise ValueError(f'{owner}: activation must be one of {ACTIVATIONS},'
                         f' got {activation!r}')


def _locations(scores: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(N, A*C, H, W) -> (N, H*W*A, C): one row of C class logits per
    location and anchor, in the order of mmdet's anchor heads."""
    return scores.permute(0, 2, 3, 1).reshape(scores.shape[0], -1,
                                              num_classes)


def dense_divergence(scores_student: torch.Tensor,
                     scores_teacher: torch.Tensor, temperature: float,
                     activation: str) -> torch.Tensor:
    """Teacher-to-student divergence per location, without the T^2 factor.

    ``'softmax'``: ``KL(softmax(t/T) || softmax(s/T))`` over the C classes
    (:func:`~mmkd_ccd.models.losses.ccd_loss.kl_per_row`).
    ``'sigmoid'``: the sum over the C classes of the binary KL between
    ``sigmoid(t/T)`` and ``sigmoid(s/T)``. A sigmoid head (RetinaNet, FCOS,
    ...) scores each class independently against the background, so a
    softmax over its logits would compare distributions the head never
    produces; the binary KL is the head's own per-class Bernoulli
    distribution distilled class by class. It equals the BCE of the student
    against the teacher's soft targets minus the teacher's entropy, so it has
    the same gradient as that BCE and is 0 when the two agree.

    Args:
        scores_student: (..., C) student logits.
        scores_teacher: (..., C) teacher logits.
        temperature: softening temperature T.
        activation: ``'sigmoid'`` or ``'softmax'``.

    Returns:
        (...) divergences.
    """
    if activation == 'softmax':
        return kl_per_row(scores_student, scores_teacher, temperature)
    logit_s = scores_student / temperature
    logit_t = scores_teacher / temperature
    p_teacher = torch.sigmoid(logit_t)
    # log(1 - sigmoid(x)) = logsigmoid(-x), stable for large |x|.
    divergence = (
        p_teacher * (F.logsigmoid(logit_t) - F.logsigmoid(logit_s)) +
        (1 - p_teacher) * (F.logsigmoid(-logit_t) - F.logsigmoid(-logit_s)))
    return divergence.sum(dim=-1)


def _check_levels(student_scores: Sequence[torch.Tensor],
                  teacher_scores: Sequence[torch.Tensor],
                  num_classes: Optional[int]) -> None:
    for name, value in (('student_scores', student_scores),
                        ('teacher_scores', teacher_scores)):
        if isinstance(value, torch.Tensor) or not isinstance(
                value, (list, tuple)):
            raise TypeError(f'{name} must be a list of (N, A*C, H, W) '
                            f'tensors, one per FPN level, got {type(value)}')
    if len(student_scores) != len(teacher_scores) or not student_scores:
        raise ValueError(
            'student and teacher scores must list the same, non-zero number '
            f'of FPN levels, got {len(student_scores)} and '
            f'{len(teacher_scores)}')
    for level, (s, t) in enumerate(zip(student_scores, teacher_scores)):
        if s.shape != t.shape:
            raise ValueError(f'FPN level {level}: student scores '
                             f'{tuple(s.shape)} and teacher scores '
                             f'{tuple(t.shape)} differ in shape')
        if s.dim() != 4:
            raise ValueError(f'FPN level {level}: expected (N, A*C, H, W) '
                             f'scores, got shape {tuple(s.shape)}')
        if s.shape[0] != student_scores[0].shape[0]:
            raise ValueError(f'FPN level {level} has {s.shape[0]} rows, '
                             f'level 0 has {student_scores[0].shape[0]}')
        if num_classes is not None and s.shape[1] % num_classes:
            raise ValueError(f'FPN level {level}: {s.shape[1]} channels are '
                             f'not a multiple of num_classes={num_classes}')


def dense_ccd_loss(student_scores: Sequence[torch.Tensor],
                   teacher_scores: Sequence[torch.Tensor],
                   pairing: ViewPairing,
                   temperature: float = 1.0,
                   confidence: str = 'cosine',
                   activation: str = 'sigmoid',
                   num_classes: Optional[int] = None
                   ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """CCD on dense class scores: ``T^2 * (L_orig + L_aug) / 2``.

    ``L_orig`` is the mean over every location and anchor of every FPN level
    of the original views of :func:`dense_divergence`; ``L_aug`` the same mean
    over the augmented views of ``w * divergence``, where ``w = 1 +
    cos(t_original, t_augmented)`` of the teacher's raw class logits at the
    same location and anchor of the two views of an image (no temperature,
    no gradient, in [0, 2]), or ``w = 1`` for ``confidence='none'`` (dense
    KD + JDA).

    Args:
        student_scores: per FPN level, (N, A*C, H, W) student class logits of
            the paired batch (e.g. RetinaNet's ``cls_scores``).
        teacher_scores: per FPN level, the teacher's logits, same shapes.
        pairing: which rows are original views and which augmented view pairs
            with which original (:class:`~mmkd_ccd.structures.ViewPairing`).
        temperature: T. Defaults to 1.0.
        confidence: ``'cosine'`` or ``'none'``. Defaults to ``'cosine'``.
        activation: ``'sigmoid'`` (per-class binary KL, for sigmoid heads) or
            ``'softmax'`` (KL over the classes). Defaults to ``'sigmoid'``.
        num_classes: C. Defaults to None: A = 1, every channel a class.

    Returns:
        The loss (scalar) and the weights of the augmented locations, one
        ``(K, L_level)`` tensor per level concatenated to ``(K, L)``
        (``None`` for ``'none'`` or without augmented views).
    """
    check_confidence(confidence, 'dense_ccd_loss')
    check_activation(activation, 'dense_ccd_loss')
    _check_levels(student_scores, teacher_scores, num_classes)
    num_classes = num_classes or student_scores[0].shape[1]
    student = torch.cat(
        [_locations(s, num_classes) for s in student_scores], dim=1)
    # The teacher is the target: no gradient reaches it through the loss.
    teacher = torch.cat(
        [_locations(t, num_classes) for t in teacher_scores], dim=1).detach()
    divergence = dense_divergence(student, teacher, temperature, activation)

    loss, weights = paired_divergence(divergence, teacher, pairing,
                                      confidence)
    return temperature**2 * loss, weights


@MODELS.register_module()
class DenseCCDLoss(PairAwareLoss):
    """Cosine Confidence Distillation on a detection head's dense class
    scores (Li, Shao et al., ACCV 2022), see :func:`dense_ccd_loss`.

    Use it through :class:`~mmkd_ccd.models.distillers.PairedDistiller`
    (which passes ``pairing``) on paired batches of spatially aligned views:
    ``PairedViews`` after the geometric transforms, with
    ``DetJDA(photometric_only=True)`` as ``augment``.

    Args:
        tau (float): Temperature T. Defaults to 1.0.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        confidence (str): ``'cosine'`` weights each augmented location by
            ``1 + cos`` of the teacher's logits at that location of the two
            views (CCD); ``'none'`` weights every location 1 (KD + JDA).
            Defaults to ``'cosine'``.
        activation (str): ``'sigmoid'`` for sigmoid heads (RetinaNet),
            ``'softmax'`` for softmax heads. Defaults to ``'sigmoid'``.
        num_classes (int, optional): C, when a level has A > 1 anchors per
            location (``A*C`` channels); None treats every channel as a
            class. Defaults to None.

    Attributes:
        last_weights (Tensor | None): the (K * L,) weights of the augmented
            locations of the latest call (see
            :class:`~mmkd_ccd.structures.PairAwareLoss`).
    """

    def __init__(self,
                 tau: float = 1.0,
                 loss_weight: float = 1.0,
                 confidence: str = 'cosine',
                 activation: str = 'sigmoid',
                 num_classes: Optional[int] = None) -> None:
        super().__init__()
        check_confidence(confidence, 'DenseCCDLoss')
        check_activation(activation, 'DenseCCDLoss')
        check_temperature(tau, 'DenseCCDLoss')
        if num_classes is not None and num_classes < 1:
            raise ValueError('DenseCCDLoss: num_classes must be None or >= 1,'
                             f' got {num_classes!r}')
        self.tau = tau
        self.loss_weight = loss_weight
        self.confidence = confidence
        self.activation = activation
        self.num_classes = num_classes

    def forward(self, preds_S: List[torch.Tensor], preds_T: List[torch.Tensor],
                pairing: ViewPairing) -> torch.Tensor:
        """
        Args:
            preds_S: per FPN level, (N, A*C, H, W) student class logits of
                the paired batch, originals first.
            preds_T: the teacher's, same shapes.
            pairing: the batch's :class:`~mmkd_ccd.structures.ViewPairing`.

        Returns:
            The weighted loss (scalar).
        """
        loss, weights = dense_ccd_loss(preds_S, preds_T, pairing, self.tau,
                                       self.confidence, self.activation,
                                       self.num_classes)
        self.report_weights(weights)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'tau={self.tau}, loss_weight={self.loss_weight}, '
                f'confidence={self.confidence!r}, '
                f'activation={self.activation!r}, '
                f'num_classes={self.num_classes}')
