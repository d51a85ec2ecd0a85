import pytest
import torch
from mmpretrain.structures import DataSample

from mmkd_ccd.structures import (AUGMENTED, ORIGINAL, PAIR_INDEX_KEY,
                                 VIEW_KEY, PairAwareLoss, ViewPairing,
                                 flatten_paired_batch, is_paired_batch)


def samples(spec):
    return [DataSample(metainfo=dict(view=v, pair_index=i)) for v, i in spec]


def test_from_data_samples():
    pairing = ViewPairing.from_data_samples(
        samples([('original', 0), ('original', 1), ('original', 2),
                 ('augmented', 2), ('augmented', 0)]))
    assert pairing.original_rows.tolist() == [0, 1, 2]
    assert pairing.augmented_rows.tolist() == [4, 3]
    assert pairing.partner_rows.tolist() == [0, 2]


@pytest.mark.parametrize('spec, message', [
    ([('original', 0), ('original', 0)], 'two original views'),
    ([('original', 0), ('augmented', 1)], 'no original view'),
    ([('original', 1)], 'pair_index 0..B-1'),
    ([('teacher', 0)], "view='teacher'"),
])
def test_unpaired_batches_are_rejected(spec, message):
    with pytest.raises(ValueError, match=message):
        ViewPairing.from_data_samples(samples(spec))


def test_missing_metainfo_is_rejected():
    with pytest.raises(ValueError, match='PairedDataPreprocessor'):
        ViewPairing.from_data_samples([DataSample()])


def paired_data(num_images: int, jda_ops=('rotate(10)', )) -> dict:
    """What PairedViews + PackInputs + pseudo_collate give for
    ``num_images`` images: one sample per image, carrying the augmented
    view's ``jda_ops``."""
    samples = [
        DataSample(metainfo=dict(jda_ops=list(jda_ops), sample_idx=i))
        for i in range(num_images)
    ]
    return dict(inputs=[[f'o{i}' for i in range(num_images)],
                        [f'a{i}' for i in range(num_images)]],
                data_samples=samples)


def test_writer_layout_and_reader_round_trip():
    out = flatten_paired_batch(paired_data(4), chosen=[1, 3])
    assert out['inputs'] == ['o0', 'o1', 'o2', 'o3', 'a1', 'a3']
    rows = out['data_samples']
    assert [s.metainfo[VIEW_KEY] for s in rows] == [ORIGINAL] * 4 + [
        AUGMENTED
    ] * 2
    assert [s.metainfo[PAIR_INDEX_KEY] for s in rows] == [0, 1, 2, 3, 1, 3]
    assert [s.sample_idx for s in rows] == [0, 1, 2, 3, 1, 3]
    pairing = ViewPairing.from_data_samples(rows)
    assert pairing.original_rows.tolist() == [0, 1, 2, 3]
    assert pairing.augmented_rows.tolist() == [4, 5]
    assert pairing.partner_rows.tolist() == [1, 3]


def test_augmented_view_metainfo_stays_on_the_augmented_row():
    rows = flatten_paired_batch(paired_data(2))['data_samples']
    assert [s.jda_ops for s in rows] == [[], [], ['rotate(10)'],
                                         ['rotate(10)']]


def test_writer_needs_one_sample_per_image():
    data = paired_data(3)
    data['data_samples'] = data['data_samples'][:2]
    with pytest.raises(ValueError, match='one data sample per image'):
        flatten_paired_batch(data)


@pytest.mark.parametrize('inputs, paired', [
    ([torch.zeros(3, 2, 2)], False),
    (torch.zeros(2, 3, 2, 2), False),
    ([[torch.zeros(3, 2, 2)], [torch.zeros(3, 2, 2)]], True),
])
def test_is_paired_batch(inputs, paired):
    assert is_paired_batch(inputs) is paired


def test_pair_aware_loss_reports_flat_detached_weights():
    loss = PairAwareLoss()
    weights = torch.ones(2, 3, requires_grad=True) * 1.5
    loss.report_weights(weights)
    assert loss.last_weights.shape == (6, )
    assert not loss.last_weights.requires_grad
    loss.report_weights(None)
    assert loss.last_weights is None
