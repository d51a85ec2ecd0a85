import math

import pytest
import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper
from mmengine.registry import MODELS, DefaultScope
from mmrazor.models.losses import WSLD, DISTLoss, DKDLoss, KLDivergence

import mmkd_ccd  # noqa: F401
from mmkd_ccd.models.losses import CCDLoss, PairedLoss, ccd_weights
from mmkd_ccd.structures import ViewPairing
from tests.models.distillers.test_paired_distiller import (classifier,
                                                           paired_batch)

NUM_CLASSES = 5

# 4 images, 2 augmented views, rows interleaved: original views at rows
# 0, 2, 4, 5; augmented views of images 0 and 2 at rows 1 and 3.
PAIRING = ViewPairing(original_rows=torch.tensor([0, 2, 4, 5]),
                      augmented_rows=torch.tensor([1, 3]),
                      partner_rows=torch.tensor([0, 4]))


def logits(seed: int = 0, rows: int = 6):
    gen = torch.Generator().manual_seed(seed)
    student = torch.randn(rows, NUM_CLASSES, generator=gen) * 3
    teacher = torch.randn(rows, NUM_CLASSES, generator=gen) * 3
    labels = torch.randint(0, NUM_CLASSES, (rows, ), generator=gen)
    return student.requires_grad_(), teacher, labels


def full_pairing(num_images: int) -> ViewPairing:
    rows = torch.arange(num_images)
    return ViewPairing(rows, rows + num_images, rows)


@pytest.mark.parametrize('pairing', [PAIRING, full_pairing(3)])
def test_kl_divergence_with_cosine_equals_ccd_loss(pairing):
    student, teacher, _ = logits()
    paired = PairedLoss(dict(type='KLDivergence', tau=4.0))
    ccd = CCDLoss(tau=4.0)
    for _ in range(2):  # the second call takes the vectorised path
        loss = paired(student, teacher, pairing)
        assert loss.item() == pytest.approx(
            ccd(student, teacher, pairing).item(), rel=1e-6)
        torch.testing.assert_close(paired.last_weights, ccd.last_weights)
    assert paired._vectorised is True


def test_kl_divergence_is_tau_squared_times_mean_kl():
    # The identity above rests on MMRazor's KLDivergence scaling by tau^2.
    student, teacher, _ = logits()
    expected = sum(
        torch.nn.functional.kl_div(
            torch.log_softmax(student[i] / 4, 0),
            torch.softmax(teacher[i] / 4, 0), reduction='sum')
        for i in range(6)) / 6 * 16
    assert KLDivergence(tau=4.0)(student, teacher).item() == pytest.approx(
        expected.item(), rel=1e-6)


def hand_loop(inner: nn.Module, student, teacher, labels,
              reduce_rows) -> torch.Tensor:
    """(L_orig + reduce_k w_k * inner(row a_k)) / 2 for PAIRING."""
    orig, aug = PAIRING.original_rows, PAIRING.augmented_rows
    weights = ccd_weights(teacher[PAIRING.partner_rows], teacher[aug])
    per_row = [
        w * inner(student[a:a + 1], teacher[a:a + 1], labels[a:a + 1])
        for w, a in zip(weights, aug.tolist())
    ]
    loss_orig = inner(student[orig], teacher[orig], labels[orig])
    return (loss_orig + reduce_rows(torch.stack(per_row))) / 2


@pytest.mark.parametrize('cfg,inner,reduce_rows', [
    # MMRazor's DKDLoss sums over rows whatever its `reduction`
    # (F.kl_div with size_average=False), so the weighted rows are summed.
    (dict(type='DKDLoss', tau=2.0, beta=0.5, reduction='mean'),
     DKDLoss(tau=2.0, beta=0.5, reduction='mean'), torch.sum),
    (dict(type='WSLD', tau=2.0, num_classes=NUM_CLASSES),
     WSLD(tau=2.0, num_classes=NUM_CLASSES), torch.mean),
])
def test_per_row_weighting_matches_a_hand_loop(cfg, inner, reduce_rows):
    student, teacher, labels = logits()
    paired = PairedLoss(cfg)
    for _ in range(2):  # the second call uses the learnt row reduction
        loss = paired(student, teacher, PAIRING, gt_labels=labels)
        expected = hand_loop(inner, student, teacher, labels, reduce_rows)
        assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert paired._vectorised is False
    loss.backward()
    assert student.grad is not None and student.grad.abs().sum() > 0


def test_row_reduction_follows_the_inner_loss():
    # Teacher views that agree (cos = 1) weigh 2: L_aug = 2 * inner(aug).
    student, teacher, labels = logits()
    teacher[PAIRING.augmented_rows] = 3 * teacher[PAIRING.partner_rows]
    orig, aug = PAIRING.original_rows, PAIRING.augmented_rows
    dkd = DKDLoss(tau=2.0)
    expected = (dkd(student[orig], teacher[orig], labels[orig]) +
                2 * dkd(student[aug], teacher[aug], labels[aug])) / 2
    loss = PairedLoss(dict(type='DKDLoss', tau=2.0))(
        student, teacher, PAIRING, gt_labels=labels)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.parametrize('cfg', [
    dict(type='KLDivergence', tau=4.0),
    dict(type='DKDLoss', tau=1.0),
    dict(type='WSLD', tau=2.0, num_classes=NUM_CLASSES),
    dict(type='DISTLoss', tau=1.0),
])
def test_confidence_none_averages_the_two_halves(cfg):
    student, teacher, labels = logits()
    paired = PairedLoss(cfg, confidence='none')
    extra = {} if cfg['type'] in ('KLDivergence', 'DISTLoss') else dict(
        gt_labels=labels)
    loss = paired(student, teacher, PAIRING, **extra)
    inner = paired.loss

    def on(rows):
        rows_extra = {key: value[rows] for key, value in extra.items()}
        return inner(student[rows], teacher[rows], **rows_extra)

    expected = (on(PAIRING.original_rows) + on(PAIRING.augmented_rows)) / 2
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    assert paired.last_weights is None


def test_without_augmented_views_it_is_the_inner_loss():
    student, teacher, _ = logits(rows=3)
    no_aug = ViewPairing(torch.arange(3), torch.zeros(0, dtype=torch.long),
                         torch.zeros(0, dtype=torch.long))
    paired = PairedLoss(dict(type='KLDivergence', tau=4.0))
    assert paired(student, teacher, no_aug).item() == pytest.approx(
        KLDivergence(tau=4.0)(student, teacher).item())
    assert paired.last_weights is None


@pytest.mark.parametrize('name', ['DISTLoss', 'DistanceWiseRKD',
                                  'AngleWiseRKD'])
def test_batch_relational_loss_with_cosine_is_rejected(name):
    with pytest.raises(ValueError, match=f"{name}.*confidence='none'"):
        PairedLoss(dict(type=name))
    assert isinstance(PairedLoss(dict(type=name), confidence='none'),
                      PairedLoss)


def test_non_decomposable_custom_loss_is_caught_on_first_call():

    class BatchMax(nn.Module):

        def forward(self, preds_S, preds_T):
            return (preds_S - preds_T).pow(2).sum(1).max()

    student, teacher, _ = logits()
    with pytest.raises(ValueError, match='BatchMax.*neither the sum'):
        PairedLoss(BatchMax())(student, teacher, PAIRING)


def test_builds_mmrazor_losses_from_an_mmpretrain_scope():
    # mmrazor's registry alone would look the type up in mmpretrain's scope.
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        paired = MODELS.build(dict(type='PairedLoss',
                                   loss=dict(type='KLDivergence', tau=4.0)))
    assert isinstance(paired.loss, KLDivergence)


def test_bad_arguments():
    with pytest.raises(ValueError, match='confidence'):
        PairedLoss(dict(type='KLDivergence'), confidence='cos')
    with pytest.raises(TypeError, match='loss'):
        PairedLoss('KLDivergence')
    student, teacher, _ = logits()
    with pytest.raises(ValueError, match="DKDLoss needs \\['gt_labels'\\]"):
        PairedLoss(dict(type='DKDLoss'))(student, teacher, PAIRING)
    with pytest.raises(ValueError, match='gt_labels has shape \\(4,\\)'):
        PairedLoss(dict(type='DKDLoss'))(student, teacher, PAIRING,
                                         gt_labels=torch.zeros(4).long())
    with pytest.raises(ValueError, match='not a paired batch'):
        PairedLoss(dict(type='KLDivergence'))(student, teacher,
                                              full_pairing(2))
    with pytest.raises(ValueError, match='logits'):
        PairedLoss(dict(type='KLDivergence'))(student, teacher[:, :3],
                                              PAIRING)


# --- real iterations on paired batches -------------------------------------

FC = dict(type='ModuleOutputs', source='head.fc')
# As in MMRazor's DKD / WSLD configs: the labels are the second input of the
# student head's loss module, one per row of the paired batch.
GT_LABELS_RECORDER = dict(type='ModuleInputs', source='head.loss_module')
GT_LABELS = dict(recorder='gt_labels', from_student=True, data_idx=1)


def distill(loss: dict, student_key: str = 'preds_S',
            teacher_key: str = 'preds_T', labels: bool = False) -> nn.Module:
    """A tiny SingleTeacherDistill with one distill loss ``loss_distill``."""
    mapping = {student_key: dict(from_student=True, recorder='fc'),
               teacher_key: dict(from_student=False, recorder='fc')}
    student_recorders = dict(fc=FC)
    if labels:
        mapping['gt_labels'] = GT_LABELS
        student_recorders['gt_labels'] = GT_LABELS_RECORDER
    cfg = dict(
        _scope_='mmrazor',
        type='SingleTeacherDistill',
        data_preprocessor=dict(type='PairedDataPreprocessor',
                               mean=[128.] * 3, std=[64.] * 3),
        architecture=classifier(8),
        teacher=classifier(16),
        distiller=dict(type='PairedDistiller',
                       student_recorders=student_recorders,
                       teacher_recorders=dict(fc=FC),
                       distill_losses=dict(loss_distill=loss),
                       loss_forward_mappings=dict(loss_distill=mapping)))
    with DefaultScope.overwrite_default_scope('mmrazor'):
        return MODELS.build(cfg)


def train(model: nn.Module, steps: int) -> list:
    torch.manual_seed(0)
    optim_wrapper = OptimWrapper(
        torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))
    before = [p.detach().clone() for p in model.student.parameters()]
    teacher_before = [p.detach().clone() for p in model.teacher.parameters()]
    logs = [model.train_step(paired_batch(), optim_wrapper)
            for _ in range(steps)]
    for log in logs:
        assert 'distill.loss_distill' in log
        assert all(torch.isfinite(value).all() for value in log.values())
    assert any(not torch.equal(b, p.detach())
               for b, p in zip(before, model.student.parameters()))
    assert all(torch.equal(b, p.detach())
               for b, p in zip(teacher_before, model.teacher.parameters()))
    return logs


@pytest.mark.parametrize('inner', [
    dict(type='DKDLoss', tau=1.0, beta=0.5),
    dict(type='WSLD', tau=2.0, num_classes=NUM_CLASSES),
])
def test_paired_loss_trains_inside_single_teacher_distill(inner):
    model = distill(dict(type='PairedLoss', loss=inner), labels=True)
    for log in train(model, steps=3):
        assert 0 <= float(log['distill.ccd_weight']) <= 2


@pytest.mark.parametrize('loss,keys,labels', [
    (dict(type='KLDivergence', tau=4.0), ('preds_S', 'preds_T'), False),
    (dict(type='DKDLoss', tau=1.0, beta=0.5), ('preds_S', 'preds_T'), True),
    (dict(type='DISTLoss', tau=1.0), ('logits_S', 'logits_T'), False),
    (dict(type='WSLD', tau=2.0, num_classes=NUM_CLASSES),
     ('student', 'teacher'), True),
])
def test_mmrazor_losses_train_on_paired_batches(loss, keys, labels):
    # "That loss + JDA": the loss sees every view of the paired batch.
    train(distill(loss, *keys, labels=labels), steps=2)
