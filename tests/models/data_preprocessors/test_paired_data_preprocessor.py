import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmpretrain.structures import DataSample

from mmkd_ccd.models.data_preprocessors import PairedDataPreprocessor
from mmkd_ccd.structures import ViewPairing


def paired_batch(num_images: int):
    """What PairedViews + PackInputs + pseudo_collate give: per image
    [original, augmented] uint8 CHW tensors; original filled with 10*i,
    augmented with 10*i + 5, so rows can be traced."""
    items = []
    for i in range(num_images):
        views = [torch.full((3, 4, 4), 10 * i, dtype=torch.uint8),
                 torch.full((3, 4, 4), 10 * i + 5, dtype=torch.uint8)]
        items.append(dict(inputs=views,
                          data_samples=DataSample().set_gt_label(i % 3)))
    return pseudo_collate(items)


def test_layout_labels_and_pairing():
    pre = PairedDataPreprocessor(mean=[0, 0, 0], std=[1, 1, 1])
    out = pre(paired_batch(3), training=True)
    inputs, samples = out['inputs'], out['data_samples']
    assert inputs.shape == (6, 3, 4, 4)
    assert inputs[:, 0, 0, 0].tolist() == [0, 10, 20, 5, 15, 25]
    assert [s.gt_label.item() for s in samples] == [0, 1, 2, 0, 1, 2]
    assert [s.view for s in samples] == ['original'] * 3 + ['augmented'] * 3
    assert [s.pair_index for s in samples] == [0, 1, 2, 0, 1, 2]
    pairing = ViewPairing.from_data_samples(samples)
    assert pairing.partner_rows.tolist() == [0, 1, 2]
    assert pairing.augmented_rows.tolist() == [3, 4, 5]


def test_normalisation_and_rgb():
    pre = PairedDataPreprocessor(mean=[1, 2, 3], std=[2, 2, 2], to_rgb=True)
    batch = paired_batch(1)
    batch['inputs'][0][0][0] = 10  # channel 0 (B in BGR) of the original
    out = pre(batch, training=True)['inputs']
    # to_rgb flips channels: BGR channel 0 becomes RGB channel 2 (mean 3).
    assert out[0, 2, 0, 0].item() == pytest.approx((10 - 3) / 2)
    assert out[1, 0, 0, 0].item() == pytest.approx((5 - 1) / 2)


@pytest.mark.parametrize('fraction, expected', [(0.25, 2), (0.5, 4),
                                                (0.75, 6), (1.0, 8)])
def test_fraction_of_augmented_views(fraction, expected):
    torch.manual_seed(0)
    pre = PairedDataPreprocessor(augmented_fraction=fraction)
    out = pre(paired_batch(8), training=True)
    samples = out['data_samples']
    assert out['inputs'].shape[0] == 8 + expected
    augmented = [s for s in samples if s.view == 'augmented']
    assert len(augmented) == expected
    # Every augmented row is the augmented view of the image it claims.
    for row, sample in enumerate(samples[8:], start=8):
        assert out['inputs'][row, 0, 0, 0] == 10 * sample.pair_index + 5


def test_single_view_batches_pass_through():
    pre = PairedDataPreprocessor()
    batch = pseudo_collate([
        dict(inputs=torch.zeros(3, 4, 4, dtype=torch.uint8),
             data_samples=DataSample().set_gt_label(0)) for _ in range(2)
    ])
    out = pre(batch, training=False)
    assert out['inputs'].shape == (2, 3, 4, 4)
    assert 'view' not in out['data_samples'][0]


def test_bad_configuration():
    with pytest.raises(ValueError, match='batch_augments'):
        PairedDataPreprocessor(
            batch_augments=dict(augments=dict(type='Mixup', alpha=0.2)))
    with pytest.raises(ValueError, match='augmented_fraction'):
        PairedDataPreprocessor(augmented_fraction=0)
    with pytest.raises(ValueError, match='exactly\\s+two views'):
        items = [dict(inputs=[torch.zeros(3, 2, 2)] * 3,
                      data_samples=DataSample())]
        PairedDataPreprocessor()(pseudo_collate(items), training=True)
