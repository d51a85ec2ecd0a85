import math

import pytest
import torch

from mmkd_ccd.models.losses import CCDLoss, ccd_loss, ccd_weights
from mmkd_ccd.structures import ViewPairing


def full_pairing(num_images: int) -> ViewPairing:
    rows = torch.arange(num_images)
    return ViewPairing(rows, rows + num_images, rows)


def test_hand_computed_identical_views():
    # One image, C=2, T=1. Teacher [2, 0] on both views -> cos = 1, w = 2.
    # Student [0, 0]: KL([e^2, 1]/(e^2+1) || [1/2, 1/2]) = 0.3278133.
    teacher = torch.tensor([[2.0, 0.0], [2.0, 0.0]])
    student = torch.zeros(2, 2)
    kl = 0.32781332547273767
    loss, weights = ccd_loss(student, teacher, full_pairing(1), 1.0, 'cosine')
    assert weights.tolist() == pytest.approx([2.0])
    assert loss.item() == pytest.approx((kl + 2 * kl) / 2, abs=1e-6)
    loss, weights = ccd_loss(student, teacher, full_pairing(1), 1.0, 'none')
    assert weights is None
    assert loss.item() == pytest.approx(kl, abs=1e-6)


def _kl(t, s, temperature):
    """Scalar KL(softmax(t/T) || softmax(s/T)) written out by hand."""
    zt = sum(math.exp(v / temperature) for v in t)
    zs = sum(math.exp(v / temperature) for v in s)
    return sum(
        math.exp(a / temperature) / zt *
        (math.log(math.exp(a / temperature) / zt) -
         math.log(math.exp(b / temperature) / zs)) for a, b in zip(t, s))


def _cos(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def test_hand_computed_two_images_temperature_4():
    t_orig = [[3.0, 1.0, -2.0], [0.5, -1.0, 2.0]]
    t_aug = [[1.0, 2.0, 0.0], [-2.0, 1.0, 0.5]]
    s_orig = [[1.0, 0.0, 0.0], [0.0, 0.3, 1.0]]
    s_aug = [[0.2, 0.4, -0.1], [1.0, 1.0, -1.0]]
    T = 4.0
    weights = [1 + _cos(a, b) for a, b in zip(t_orig, t_aug)]
    l_orig = sum(_kl(t, s, T) for t, s in zip(t_orig, s_orig)) / 2
    l_aug = sum(w * _kl(t, s, T)
                for w, t, s in zip(weights, t_aug, s_aug)) / 2
    expected = T * T * (l_orig + l_aug) / 2
    expected_none = T * T * (l_orig + sum(
        _kl(t, s, T) for t, s in zip(t_aug, s_aug)) / 2) / 2

    teacher = torch.tensor(t_orig + t_aug)
    student = torch.tensor(s_orig + s_aug)
    loss, got_weights = ccd_loss(student, teacher, full_pairing(2), T)
    assert got_weights.tolist() == pytest.approx(weights, abs=1e-6)
    assert loss.item() == pytest.approx(expected, abs=1e-6)
    loss_none, _ = ccd_loss(student, teacher, full_pairing(2), T, 'none')
    assert loss_none.item() == pytest.approx(expected_none, abs=1e-6)
    assert loss.item() != pytest.approx(loss_none.item(), abs=1e-4)


def test_pairing_not_row_parity():
    # Rows interleaved: image 0 at rows 2 (orig) / 0 (aug), image 1 at 1 / 3.
    teacher = torch.randn(4, 5)
    student = torch.randn(4, 5)
    pairing = ViewPairing(
        original_rows=torch.tensor([2, 1]),
        augmented_rows=torch.tensor([0, 3]),
        partner_rows=torch.tensor([2, 1]))
    order = torch.tensor([2, 1, 0, 3])
    expected, _ = ccd_loss(student[order], teacher[order], full_pairing(2))
    got, _ = ccd_loss(student, teacher, pairing)
    assert got.item() == pytest.approx(expected.item(), abs=1e-6)


def test_gradient_only_into_student():
    teacher = torch.randn(6, 10, requires_grad=True)
    student = torch.randn(6, 10, requires_grad=True)
    loss, _ = ccd_loss(student, teacher.detach(), full_pairing(3))
    loss.backward()
    assert student.grad is not None and student.grad.abs().sum() > 0
    # The confidence weight itself never carries gradient, even if the
    # teacher logits do.
    weights = ccd_weights(teacher[:3], teacher[3:])
    assert not weights.requires_grad


def test_weight_range():
    torch.manual_seed(0)
    a, b = torch.randn(1000, 20), torch.randn(1000, 20)
    weights = ccd_weights(a, b)
    assert weights.min() >= 0 and weights.max() <= 2
    assert ccd_weights(a, -a).max().item() == pytest.approx(0.0, abs=1e-6)
    assert ccd_weights(a, 3 * a).min().item() == pytest.approx(2.0, abs=1e-6)


def test_fraction_of_augmented_views():
    # 4 images, only images 1 and 3 have augmented rows (rows 4, 5).
    teacher, student = torch.randn(6, 3), torch.randn(6, 3)
    pairing = ViewPairing(
        torch.arange(4), torch.tensor([4, 5]), torch.tensor([1, 3]))
    loss, weights = ccd_loss(student, teacher, pairing, 4.0)
    assert weights.shape == (2, )
    assert torch.isfinite(loss)


def test_errors():
    with pytest.raises(ValueError, match='differ in shape'):
        ccd_loss(torch.randn(4, 3), torch.randn(4, 5), full_pairing(2))
    with pytest.raises(ValueError, match='not a paired batch'):
        ccd_loss(torch.randn(5, 3), torch.randn(5, 3), full_pairing(2))
    with pytest.raises(ValueError, match="confidence"):
        CCDLoss(confidence='sigmoid')


def test_module_scales_and_records_weights():
    teacher = torch.tensor([[2.0, 0.0], [2.0, 0.0]])
    student = torch.zeros(2, 2)
    module = CCDLoss(tau=1.0, loss_weight=3.0)
    loss = module(student, teacher, pairing=full_pairing(1))
    assert loss.item() == pytest.approx(3 * 0.4917199882, abs=1e-6)
    assert module.last_weights.tolist() == pytest.approx([2.0])
