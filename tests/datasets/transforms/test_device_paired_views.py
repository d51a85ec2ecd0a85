"""DevicePairedViews: the original view as PairedViews, the augmented
view's randomness drawn on the CPU as PairedViews + JDA draw it."""
import numpy as np
import pytest
from mmcv.transforms import Compose
from mmengine.registry import TRANSFORMS
from sklearn.datasets import load_sample_image

import mmkd_ccd  # noqa: F401
from mmkd_ccd.datasets.transforms.device_paired_views import (
    PLAN_KEY, describe_chain, draw_chain)
from mmkd_ccd.datasets.transforms.jda import OPS, POLICIES

RRC_FLIP = [
    dict(type='mmpretrain.RandomResizedCrop', scale=64),
    dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal'),
]


def views(kind: str, view_pipeline: list, policy='imagenet', prob=None,
          channel_order='bgr'):
    return TRANSFORMS.build(
        dict(type=kind, view_pipeline=view_pipeline,
             augment=[dict(type='JDA', policy=policy, prob=prob,
                           channel_order=channel_order)]))


def photo_results() -> dict:
    img = np.ascontiguousarray(load_sample_image('flower.jpg')[::3, ::3,
                                                                 ::-1])
    return dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])


@pytest.mark.parametrize('view_pipeline, policy', [
    (RRC_FLIP, 'imagenet'),
    ([dict(type='mmpretrain.RandomCrop', crop_size=48, padding=4),
      dict(type='mmpretrain.RandomFlip', prob=0.5,
           direction=['horizontal', 'vertical'])], 'cifar100'),
    ([dict(type='mmpretrain.Resize', scale=(40, 30))], 'cifar10'),
])
def test_same_draws_as_paired_views(view_pipeline, policy):
    cpu = views('PairedViews', view_pipeline, policy, prob=0.5)
    device = views('DevicePairedViews', view_pipeline, policy, prob=0.5)
    fired = 0
    for seed in range(20):
        np.random.seed(seed)
        expected = cpu(photo_results())
        next_draw = np.random.rand()
        np.random.seed(seed)
        out = device(photo_results())
        assert np.array_equal(out['img'][0], expected['img'][0])
        assert out['jda_ops'] == expected['jda_ops']
        # The augmented view is shipped as the decoded image, a tensor.
        assert np.array_equal(out['img'][1].numpy(), photo_results()['img'])
        # Both consumed the same numbers.
        assert np.random.rand() == next_draw
        fired += len(out['jda_ops'])
    assert fired > 20


def test_plan_describes_the_view():
    device = views('DevicePairedViews', [
        dict(type='mmpretrain.RandomCrop', crop_size=(30, 20), padding=4,
             pad_val=(1, 2, 3)),
        dict(type='mmpretrain.RandomFlip', prob=1.0, direction='vertical'),
        dict(type='mmpretrain.RandomFlip', prob=1.0, direction='diagonal'),
    ], policy=[dict(type='invert'), dict(type='shear_x', magnitude=0.2)],
                   prob=1.0)
    results = photo_results()
    height, width = results['img'].shape[:2]
    plan = device(results)[PLAN_KEY]
    assert plan['ops'] == (('invert', None), ('shear_x', 0.2))
    assert plan['draws'][0] == 1 and plan['draws'][1] in (1, -1)
    assert plan['channel_order'] == 'bgr'
    left, top, crop_w, crop_h = plan['crop']
    assert (crop_w, crop_h) == (20, 30) and plan['size'] == (30, 20)
    # A 4-pixel padding lets the crop start up to 4 pixels outside.
    assert -4 <= left <= width + 4 - 20 and -4 <= top <= height + 4 - 30
    # vertical then diagonal = horizontal.
    assert plan['flip'] == (True, False)
    assert plan['pad_val'] == (1, 2, 3)


def test_packed_for_the_preprocessor():
    pipeline = Compose([
        views('DevicePairedViews', RRC_FLIP),
        dict(type='mmpretrain.PackInputs', meta_keys=('jda_ops', PLAN_KEY)),
    ])
    results = photo_results()
    packed = pipeline(dict(results, gt_label=3))
    original, augmented = packed['inputs']
    assert tuple(original.shape) == (3, 64, 64)
    # Left channel-last: the device, not the data loader, transposes it.
    assert tuple(augmented.shape) == results['img'].shape
    sample = packed['data_samples']
    plan = sample.metainfo[PLAN_KEY]
    assert plan['size'] == (64, 64)
    assert sample.jda_ops == describe_chain(plan['ops'], plan['draws'])
    assert sample.gt_label.item() == 3


@pytest.mark.parametrize('policy', sorted(POLICIES))
def test_firing_rate_and_signs(policy):
    ops, prob = POLICIES[policy].ops, POLICIES[policy].prob
    np.random.seed(0)
    num = 4000
    draws = np.array([draw_chain(ops, prob) for _ in range(num)])
    sigma = np.sqrt(num * prob * (1 - prob))
    for step, (name, _) in enumerate(ops):
        fired = np.count_nonzero(draws[:, step])
        assert abs(fired - num * prob) < 3 * sigma, (policy, step, name)
        negative = np.count_nonzero(draws[:, step] < 0)
        if OPS[name].signed:
            assert abs(negative - fired / 2) < 3 * np.sqrt(fired / 4), name
        else:
            assert negative == 0, name


@pytest.mark.parametrize('view_pipeline, augment, match', [
    ([dict(type='mmpretrain.CenterCrop', crop_size=8)], None, 'CenterCrop'),
    ([dict(type='mmpretrain.RandomResizedCrop', scale=8),
      dict(type='mmpretrain.Resize', scale=(4, 4))], None, 'second crop'),
    ([dict(type='mmpretrain.RandomFlip', prob=0.5),
      dict(type='mmpretrain.RandomResizedCrop', scale=8)], None,
     'flips before'),
    ([dict(type='mmpretrain.RandomResizedCrop', scale=8,
           interpolation='bicubic')], None, "interpolation='bilinear'"),
    ([dict(type='mmpretrain.Resize', scale=(8, 8), keep_ratio=True)], None,
     'keep_ratio=False'),
    ([dict(type='mmpretrain.RandomCrop', crop_size=8,
           pad_if_needed=True)], None, 'pad_if_needed'),
    ([], [dict(type='SingleRotation')], 'must be JDA'),
    ([], [dict(type='JDA'), dict(type='JDA')], 'exactly one'),
])
def test_unsupported_pipelines_are_refused(view_pipeline, augment, match):
    with pytest.raises(ValueError, match=match):
        TRANSFORMS.build(
            dict(type='DevicePairedViews', view_pipeline=view_pipeline,
                 augment=augment or [dict(type='JDA')]))


def test_non_uint8_image_is_refused():
    device = views('DevicePairedViews', RRC_FLIP)
    with pytest.raises(ValueError, match=r'\(H, W, 3\) uint8'):
        device(dict(img=np.zeros((8, 8, 3), np.float32)))
