import pytest
from mmpretrain.structures import DataSample

from mmkd_ccd.structures import ViewPairing


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
