import numpy as np
import pytest
from mmengine.registry import TRANSFORMS

import mmkd_ccd  # noqa: F401


def results(seed: int = 0):
    img = np.random.default_rng(seed).integers(0, 256, (40, 48, 3), np.uint8)
    return dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])


def test_two_views_with_independent_randomness():
    views = TRANSFORMS.build(
        dict(
            type='PairedViews',
            view_pipeline=[dict(type='mmpretrain.RandomResizedCrop',
                                scale=16)],
            augment=[dict(type='JDA', policy=[dict(type='invert')],
                          prob=1.0)]))
    out = views(results())
    original, augmented = out['img']
    assert original.shape == augmented.shape == (16, 16, 3)
    assert out['jda_ops'] == ['invert']
    # The two views take different crops: the augmented view is not simply
    # the inverted original.
    assert not np.array_equal(255 - original, augmented)


def test_same_crop_shows_the_augmentation():
    views = TRANSFORMS.build(
        dict(
            type='PairedViews',
            view_pipeline=[dict(type='mmpretrain.CenterCrop', crop_size=16)],
            augment=[dict(type='JDA', policy=[dict(type='invert')],
                          prob=1.0)]))
    original, augmented = views(results())['img']
    np.testing.assert_array_equal(255 - original, augmented)


def test_packed_views():
    pipeline = [
        dict(type='PairedViews',
             view_pipeline=[dict(type='mmpretrain.Resize', scale=(8, 8))],
             augment=[dict(type='JDA', policy='cifar10')]),
        dict(type='mmpretrain.PackInputs',
             meta_keys=('img_shape', 'jda_ops')),
    ]
    from mmcv.transforms import Compose
    packed = Compose(pipeline)(dict(results(), gt_label=3))
    assert [tuple(t.shape) for t in packed['inputs']] == [(3, 8, 8)] * 2
    assert isinstance(packed['data_samples'].jda_ops, list)
    assert packed['data_samples'].gt_label.item() == 3


def test_empty_augment_is_rejected():
    with pytest.raises(ValueError, match='augment is empty'):
        TRANSFORMS.build(dict(type='PairedViews', view_pipeline=[],
                              augment=[]))


def _add_one_in_place(results: dict) -> dict:
    """A view transform that writes to the image and the metainfo in place."""
    results['img'] += 1
    results['seen'].append(len(results['seen']))
    return results


def test_views_do_not_share_what_transforms_change_in_place():
    views = TRANSFORMS.build(
        dict(type='PairedViews',
             view_pipeline=[_add_one_in_place],
             augment=[dict(type='JDA', policy=[dict(type='invert')],
                           prob=1.0)]))
    source = results()
    img = source['img'].copy()
    source['seen'] = []
    out = views(source)
    original, augmented = out['img']
    np.testing.assert_array_equal(original, img + 1)
    np.testing.assert_array_equal(augmented, (255 - img) + 1)
    # Each view got its own copy of the metainfo.
    assert out['seen'] == [0] and source['seen'] == []
    # JDA made a new array, so the caller's image is left as it was.
    np.testing.assert_array_equal(source['img'], img)
