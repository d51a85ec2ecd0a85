"""Bad input from a user's data names the file or folder at fault (SPEC 2).
The other cases -- unknown JDA op, prob outside [0, 1], unpaired views, a
teacher checkpoint that does not fit -- are tested beside their components."""
import pytest
from mmcv.transforms import Compose
from mmengine.registry import DATASETS, DefaultScope

from mmkd_ccd.datasets import toy_data


def test_missing_dataset_folder_is_named(tmp_path):
    missing = str(tmp_path / 'no_such_dataset')
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        with pytest.raises(FileNotFoundError, match='no_such_dataset'):
            DATASETS.build(
                dict(type='CustomDataset', data_root=missing,
                     data_prefix='train', pipeline=[]))


def test_missing_cifar_folder_is_named_and_not_downloaded(tmp_path):
    missing = str(tmp_path / 'cifar100')
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        with pytest.raises(RuntimeError, match='cifar100'):
            DATASETS.build(
                dict(type='CIFAR100', data_root=missing, split='train',
                     download=False, pipeline=[]))


def test_corrupt_image_is_named(tmp_path):
    root = tmp_path / 'data'
    toy_data.write_custom_dataset(
        str(root), {'train': toy_data.make_shapes(2, 1)})
    corrupt = root / 'train' / 'class_0' / '00000.png'
    corrupt.write_bytes(b'not an image')
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        pipeline = Compose([dict(type='LoadImageFromFile')])
        with pytest.raises(Exception, match='00000.png'):
            pipeline(dict(img_path=str(corrupt)))
