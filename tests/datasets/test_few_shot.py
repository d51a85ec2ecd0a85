from collections import Counter

import numpy as np
import pytest
from mmengine.registry import DATASETS, DefaultScope
from mmpretrain.datasets import CustomDataset

import mmkd_ccd  # noqa: F401
from mmkd_ccd.datasets import FewShotDataset, toy_data


@pytest.fixture(scope='module')
def train_root(tmp_path_factory) -> str:
    """4 classes x 8 images in CustomDataset layout; returns ``train/``."""
    root = tmp_path_factory.mktemp('few_shot')
    toy_data.write_custom_dataset(
        str(root), {'train': toy_data.make_shapes(4, 8, size=8)})
    return str(root / 'train')


@pytest.fixture(scope='module')
def full(train_root) -> CustomDataset:
    # Wrapping does not change the wrapped dataset, so tests can share it.
    return CustomDataset(data_root=train_root, pipeline=[])


def test_quarter_of_each_class(full):
    few = FewShotDataset(full, fraction=0.25)
    assert len(few) == 8
    assert Counter(few.get_gt_labels().tolist()) == {0: 2, 1: 2, 2: 2, 3: 2}
    assert few.indices == sorted(few.indices)
    # Labels are preserved: each kept sample is the wrapped sample.
    labels = full.get_gt_labels()
    for idx, original in enumerate(few.indices):
        assert few.get_data_info(idx) == full.get_data_info(original)
        assert few.get_cat_ids(idx) == [labels[original]]
        assert few[idx]['gt_label'] == labels[original]
    assert few.metainfo == full.metainfo


def test_same_seed_same_subset_other_seed_other_subset(train_root, full):
    first = FewShotDataset(full, fraction=0.25, seed=3)
    again = FewShotDataset(dict(type='mmpretrain.CustomDataset',
                                data_root=train_root, pipeline=[]),
                           fraction=0.25, seed=3)
    other = FewShotDataset(full, fraction=0.25, seed=4)
    assert first.indices == again.indices
    assert first.indices != other.indices


def test_every_class_keeps_at_least_one(full):
    few = FewShotDataset(full, fraction=0.01)
    assert Counter(few.get_gt_labels().tolist()) == {0: 1, 1: 1, 2: 1, 3: 1}
    assert len(FewShotDataset(full, fraction=1.0)) == 32


def test_lazy_init(full):
    few = FewShotDataset(full, fraction=0.5, lazy_init=True)
    assert not few._fully_initialized
    few.full_init()
    assert len(few) == 16


def test_built_from_config_under_mmpretrain_scope(train_root):
    cfg = dict(type='FewShotDataset',
               dataset=dict(type='CustomDataset', data_root=train_root,
                            pipeline=[dict(type='LoadImageFromFile'),
                                       dict(type='PackInputs')]),
               fraction=0.5)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        few = DATASETS.build(cfg)
    assert isinstance(few, FewShotDataset)
    assert isinstance(few.dataset, CustomDataset)
    assert Counter(few.get_gt_labels().tolist()) == {0: 4, 1: 4, 2: 4, 3: 4}
    sample = few[0]
    assert tuple(sample['inputs'].shape) == (3, 8, 8)
    assert sample['data_samples'].gt_label.item() == few.get_cat_ids(0)[0]


@pytest.mark.parametrize('fraction', [0, -0.5, 1.5, '0.5', None, True])
def test_bad_fraction(full, fraction):
    with pytest.raises(ValueError, match='fraction'):
        FewShotDataset(full, fraction=fraction)


def test_bad_dataset():
    with pytest.raises(TypeError, match='dataset'):
        FewShotDataset([1, 2, 3], fraction=0.5)


def test_multi_label_dataset_is_rejected(train_root):
    class MultiLabel(CustomDataset):

        def get_gt_labels(self):
            return np.array([[0, 1]] * len(self))

    with pytest.raises(ValueError, match='one integer label'):
        FewShotDataset(MultiLabel(data_root=train_root, pipeline=[]),
                       fraction=0.5)
