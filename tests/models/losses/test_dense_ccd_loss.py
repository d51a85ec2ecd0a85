"""DenseCCDLoss: CCD per location and anchor of a detection head's dense
class scores, checked against values computed by hand."""
import math

import pytest
import torch

from mmkd_ccd.models.losses import DenseCCDLoss, dense_ccd_loss
from mmkd_ccd.structures import ViewPairing

# row 0: the original view of image 0, row 1: its augmented view
PAIRING = ViewPairing(
    original_rows=torch.tensor([0]),
    augmented_rows=torch.tensor([1]),
    partner_rows=torch.tensor([0]))


def _scores(rows):
    """(N, C) nested lists -> one FPN level of (N, C, 1, 1) scores."""
    return [torch.tensor(rows, dtype=torch.float32)[:, :, None, None]]


def _sigmoid(x):
    return 1 / (1 + math.exp(-x))


def _binary_kl(teacher, student, temperature):
    total = 0.0
    for t, s in zip(teacher, student):
        p, q = _sigmoid(t / temperature), _sigmoid(s / temperature)
        total += p * math.log(p / q) + (1 - p) * math.log((1 - p) / (1 - q))
    return total


def _softmax_kl(teacher, student, temperature):
    def softmax(x):
        e = [math.exp(v / temperature) for v in x]
        return [v / sum(e) for v in e]

    p, q = softmax(teacher), softmax(student)
    return sum(a * math.log(a / b) for a, b in zip(p, q))


STUDENT = [[0.0, 0.5], [1.0, -1.0]]
TEACHER = [[1.0, 2.0], [2.0, 1.0]]
# 1 + cos([1, 2], [2, 1]) = 1 + 4 / 5
WEIGHT = 1.8


@pytest.mark.parametrize('activation,divergence', [
    ('sigmoid', _binary_kl),
    ('softmax', _softmax_kl),
])
@pytest.mark.parametrize('temperature', [1.0, 2.0])
def test_value_by_hand(activation, divergence, temperature):
    loss, weights = dense_ccd_loss(
        _scores(STUDENT), _scores(TEACHER), PAIRING, temperature,
        activation=activation)
    original = divergence(TEACHER[0], STUDENT[0], temperature)
    augmented = divergence(TEACHER[1], STUDENT[1], temperature)
    expected = temperature**2 * (original + WEIGHT * augmented) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    assert weights.flatten().tolist() == pytest.approx([WEIGHT])


def test_confidence_none_is_dense_kd():
    loss, weights = dense_ccd_loss(
        _scores(STUDENT), _scores(TEACHER), PAIRING, confidence='none')
    expected = (_binary_kl(TEACHER[0], STUDENT[0], 1.0) +
                _binary_kl(TEACHER[1], STUDENT[1], 1.0)) / 2
    assert weights is None
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_weight_is_per_anchor_and_mean_over_levels():
    # A = 2 anchors of C = 2 classes on a 1x1 level (channels a0c0, a0c1,
    # a1c0, a1c1) and a second level of one anchor: anchor 0 of level 0 is
    # the same in both views (w = 2), anchor 1 flips sign (w = 0), the
    # second level is orthogonal (w = 1).
    teacher = _scores([[1.0, 2.0, 1.0, 2.0], [1.0, 2.0, -1.0, -2.0]])
    teacher += _scores([[1.0, 0.0], [0.0, 1.0]])
    student = [torch.zeros_like(t) for t in teacher]
    loss_module = DenseCCDLoss(num_classes=2)
    loss_module(student, teacher, PAIRING)
    # one reported weight per augmented location and anchor
    assert loss_module.last_weights.tolist() == pytest.approx(
        [2.0, 0.0, 1.0], abs=1e-6)
    assert loss_module.last_weights.mean().item() == pytest.approx(1.0)
    _, weights = dense_ccd_loss(student, teacher, PAIRING, num_classes=2)
    assert weights.shape == (1, 3)
    assert weights.flatten().tolist() == pytest.approx([2.0, 0.0, 1.0],
                                                       abs=1e-6)


def test_identical_teacher_views_weigh_two_and_only_student_learns():
    teacher = _scores([[0.3, -1.2], [0.3, -1.2]])[0].requires_grad_()
    student = _scores(STUDENT)[0].requires_grad_()
    loss_module = DenseCCDLoss(tau=2.0, loss_weight=3.0)
    loss = loss_module([student], [teacher], PAIRING)
    assert loss_module.last_weights.item() == pytest.approx(2.0)
    loss.backward()
    assert student.grad is not None and student.grad.abs().sum() > 0
    assert teacher.grad is None


def test_student_equal_to_teacher_gives_zero():
    scores = _scores(TEACHER)
    loss, _ = dense_ccd_loss(scores, scores, PAIRING)
    assert loss.item() == pytest.approx(0.0, abs=1e-7)


def test_batch_of_two_images_uses_the_pairing():
    # originals are rows 0, 1; the augmented view of image 1 is row 2 and
    # of image 0 row 3
    pairing = ViewPairing(
        original_rows=torch.tensor([0, 1]),
        augmented_rows=torch.tensor([2, 3]),
        partner_rows=torch.tensor([1, 0]))
    teacher = _scores([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [-1.0, 0.0]])
    _, weights = dense_ccd_loss(
        [torch.zeros_like(teacher[0])], teacher, pairing)
    assert weights.flatten().tolist() == pytest.approx([2.0, 0.0], abs=1e-6)


@pytest.mark.parametrize('student,teacher,match', [
    (torch.zeros(2, 2, 1, 1), [torch.zeros(2, 2, 1, 1)], 'list'),
    ([torch.zeros(2, 2, 1, 1)], [], 'same, non-zero number'),
    ([torch.zeros(2, 2, 1, 1)], [torch.zeros(2, 3, 1, 1)], 'differ in shape'),
    ([torch.zeros(2, 2)], [torch.zeros(2, 2)], r'\(N, A\*C, H, W\)'),
    ([torch.zeros(2, 2, 1, 1), torch.zeros(3, 2, 1, 1)],
     [torch.zeros(2, 2, 1, 1), torch.zeros(3, 2, 1, 1)], 'rows'),
    ([torch.zeros(3, 2, 1, 1)], [torch.zeros(3, 2, 1, 1)], 'covers 2 rows'),
])
def test_shape_errors(student, teacher, match):
    with pytest.raises((TypeError, ValueError), match=match):
        dense_ccd_loss(student, teacher, PAIRING)


def test_channels_not_a_multiple_of_classes():
    scores = [torch.zeros(2, 5, 1, 1)]
    with pytest.raises(ValueError, match='num_classes=2'):
        dense_ccd_loss(scores, scores, PAIRING, num_classes=2)


@pytest.mark.parametrize('kwargs,match', [
    (dict(confidence='cos'), 'confidence'),
    (dict(activation='relu'), 'activation'),
    (dict(tau=0.0), 'tau'),
    (dict(num_classes=0), 'num_classes'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DenseCCDLoss(**kwargs)
