import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import MODELS, DefaultScope
from mmpretrain.structures import DataSample

from mmkd_ccd.models.losses import ccd_loss
from mmkd_ccd.structures import PairAwareLoss, ViewPairing


def classifier(channels: int) -> dict:
    return dict(
        type='mmpretrain.ImageClassifier',
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor'),
        backbone=dict(type='mmpretrain.ResNet', depth=18, stem_channels=8,
                      base_channels=channels, out_indices=(3, )),
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(type='mmpretrain.LinearClsHead', num_classes=5,
                  in_channels=channels * 8,
                  loss=dict(type='mmpretrain.CrossEntropyLoss')))


def algorithm(distill_losses: dict,
              teacher_ckpt: str = None) -> torch.nn.Module:
    fc = dict(type='ModuleOutputs', source='head.fc')
    cfg = dict(
        _scope_='mmrazor',
        type='SingleTeacherDistill',
        data_preprocessor=dict(type='PairedDataPreprocessor',
                               mean=[128.] * 3, std=[64.] * 3),
        architecture=classifier(8),
        teacher=classifier(16),
        teacher_ckpt=teacher_ckpt,
        distiller=dict(
            type='PairedDistiller',
            student_recorders=dict(fc=fc),
            teacher_recorders=dict(fc=fc),
            distill_losses=distill_losses,
            loss_forward_mappings={
                name: dict(preds_S=dict(from_student=True, recorder='fc'),
                           preds_T=dict(from_student=False, recorder='fc'))
                for name in distill_losses
            }))
    with DefaultScope.overwrite_default_scope('mmrazor'):
        return MODELS.build(cfg)


def paired_batch(num_images: int = 4):
    gen = torch.Generator().manual_seed(0)
    return pseudo_collate([
        dict(inputs=[torch.randint(0, 256, (3, 32, 32), generator=gen,
                                   dtype=torch.uint8) for _ in range(2)],
             data_samples=DataSample().set_gt_label(i % 5))
        for i in range(num_images)
    ])


def test_ccd_loss_inside_single_teacher_distill():
    torch.manual_seed(0)
    model = algorithm(dict(loss_ccd=dict(type='CCDLoss', tau=4.0)))
    model.eval()  # BN in eval: a second forward gives the same logits
    data = model.data_preprocessor(paired_batch(), True)
    losses = model(**data, mode='loss')
    assert set(losses) >= {'student.loss', 'distill.loss_ccd',
                           'distill.ccd_weight'}
    pairing = ViewPairing.from_data_samples(data['data_samples'])
    with torch.no_grad():
        student = model.student(data['inputs'], mode='tensor')
        teacher = model.teacher(data['inputs'], mode='tensor')
    expected, weights = ccd_loss(student, teacher, pairing, 4.0)
    assert losses['distill.loss_ccd'].item() == pytest.approx(
        expected.item(), rel=1e-4)
    assert losses['distill.ccd_weight'].item() == pytest.approx(
        weights.mean().item(), rel=1e-4)
    assert 0 <= losses['distill.ccd_weight'].item() <= 2
    losses['distill.loss_ccd'].backward()
    assert all(p.grad is None for p in model.teacher.parameters())
    assert any(p.grad is not None for p in model.student.parameters())


def test_pairing_unaware_loss_sees_every_view():
    # MMRazor's KLDivergence over all 2B views equals CCD without the
    # confidence: KD + JDA is "any logit loss on the paired batch".
    torch.manual_seed(0)
    model = algorithm(dict(
        loss_kl=dict(type='KLDivergence', tau=4.0, loss_weight=1.0),
        loss_none=dict(type='CCDLoss', tau=4.0, confidence='none')))
    model.eval()
    losses = model(**model.data_preprocessor(paired_batch(), True),
                   mode='loss')
    assert losses['distill.loss_kl'].item() == pytest.approx(
        losses["distill.loss_none"].item(), rel=1e-4)
    assert 'distill.ccd_weight' not in losses


def test_unpaired_batch_is_rejected():
    model = algorithm(dict(loss_ccd=dict(type='CCDLoss')))
    single_view = pseudo_collate([
        dict(inputs=torch.zeros(3, 32, 32, dtype=torch.uint8),
             data_samples=DataSample().set_gt_label(0)) for _ in range(2)
    ])
    with pytest.raises(ValueError, match='PairedViews'):
        model(**model.data_preprocessor(single_view, True), mode='loss')


class FixedWeights(PairAwareLoss):
    """A pair-aware loss that reports ``count`` weights of ``value``."""

    def __init__(self, count: int, value: float) -> None:
        super().__init__()
        self.count, self.value = count, value

    def forward(self, preds_S, preds_T, pairing):
        self.report_weights(torch.full((self.count, ), self.value))
        return (preds_S - preds_T).abs().mean() * 0


class DeclaresPairing(torch.nn.Module):
    """Not a PairAwareLoss: declares the need by the class attribute."""
    requires_pairing = True

    def forward(self, preds_S, preds_T, pairing):
        self.seen = pairing
        return preds_S.sum() * 0


def test_ccd_weight_is_the_mean_over_every_weighted_view():
    # 3 weights of 0 and 1 weight of 2: the weighted mean is 0.5, the mean
    # of the two losses' means would be 1.0.
    model = algorithm(dict(
        loss_many=dict(type=FixedWeights, count=3, value=0.0),
        loss_one=dict(type=FixedWeights, count=1, value=2.0),
        loss_plain=dict(type=DeclaresPairing)))
    losses = model(**model.data_preprocessor(paired_batch(2), True),
                   mode='loss')
    assert losses['distill.ccd_weight'].item() == pytest.approx(0.5)
    assert model.distiller.distill_losses['loss_plain'].seen.num_augmented == 2


def test_losses_declare_pairing_by_class_attribute():
    model = algorithm(dict(loss_ccd=dict(type='CCDLoss'),
                           loss_kl=dict(type='KLDivergence')))
    assert model.distiller._pair_aware == {'loss_ccd'}


@pytest.mark.parametrize('call', ['positional', 'keyword'])
def test_pairing_is_read_by_parameter_name(call):
    model = algorithm(dict(loss_ccd=dict(type='CCDLoss')))
    data = model.data_preprocessor(paired_batch(3), True)
    if call == 'positional':
        model.student(data['inputs'], data['data_samples'], 'loss')
    else:
        model.student(mode='loss', data_samples=data['data_samples'],
                      inputs=data['inputs'])
    assert model.distiller.pairing.augmented_rows.tolist() == [3, 4, 5]
    # tensor/predict calls leave the pairing of the last loss call alone
    model.student(data['inputs'][:2], mode='tensor')
    assert model.distiller.pairing.num_images == 3
