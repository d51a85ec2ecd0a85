"""JDA on the model's device: the views equal the CPU chain's, pixel for
pixel, and the preprocessor finishes only the augmented rows."""
from typing import List

import cv2
import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmengine.dataset import pseudo_collate
from mmengine.registry import MODELS, TRANSFORMS
from sklearn.datasets import load_sample_image

import mmkd_ccd  # noqa: F401
from mmkd_ccd.datasets.transforms.device_paired_views import PLAN_KEY
from mmkd_ccd.models.data_preprocessors.device_jda import (
    chunk_by_size, crop_resize_flip, finish_views)
from mmkd_ccd.structures import AUGMENTED, ORIGINAL

RRC_FLIP = [
    dict(type='mmpretrain.RandomResizedCrop', scale=48),
    dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal'),
]
PAD_CROP_FLIPS = [
    dict(type='mmpretrain.RandomCrop', crop_size=32, padding=4,
         pad_val=(10, 20, 30)),
    dict(type='mmpretrain.RandomFlip', prob=0.5,
         direction=['horizontal', 'vertical', 'diagonal']),
]
RESIZE = [dict(type='mmpretrain.Resize', scale=(40, 30))]


def photos() -> List[np.ndarray]:
    """BGR photos of three sizes (downscaled to keep the test fast)."""
    china = load_sample_image('china.jpg')[::4, ::4, ::-1]
    flower = load_sample_image('flower.jpg')[::5, ::4, ::-1]
    return [np.ascontiguousarray(i) for i in (china, flower, china[:70])]


def paired(kind: str, view_pipeline: list, policy='imagenet', prob=0.5,
           channel_order='bgr'):
    return TRANSFORMS.build(
        dict(type=kind, view_pipeline=view_pipeline,
             augment=[dict(type='JDA', policy=policy, prob=prob,
                           channel_order=channel_order)]))


@pytest.mark.parametrize('view_pipeline, policy, channel_order', [
    (RRC_FLIP, 'imagenet', 'bgr'),
    (PAD_CROP_FLIPS, 'cifar100', 'rgb'),
    (RESIZE, 'cifar10', 'bgr'),
])
def test_views_equal_the_cpu_chain(view_pipeline, policy, channel_order):
    cpu = paired('PairedViews', view_pipeline, policy, 0.5, channel_order)
    device = paired('DevicePairedViews', view_pipeline, policy, 0.5,
                    channel_order)
    expected, images, plans = [], [], []
    for seed in range(12):
        image = photos()[seed % 3]
        np.random.seed(seed)
        expected.append(cpu(dict(img=image.copy()))['img'][1])
        np.random.seed(seed)
        out = device(dict(img=image.copy()))
        images.append(out['img'][1])
        plans.append(out[PLAN_KEY])
    # All images in one call: several size chunks, per-row chains.
    views = finish_views(images, plans)
    assert sum(sum(map(abs, p['draws'])) for p in plans) > 30
    for row, (view, want) in enumerate(zip(views, expected)):
        got = view.permute(1, 2, 0).numpy()
        assert np.array_equal(got, want), (row, plans[row]['draws'])


def test_rows_where_nothing_fired_are_unchanged():
    # No crop: the view is the whole image, so a row is untouched exactly
    # when no op fired on it.
    device = paired('DevicePairedViews', [], [dict(type='invert')], 0.5)
    images, outs = [], []
    np.random.seed(0)
    for seed in range(12):
        images.append(photos()[seed % 3])
        outs.append(device(dict(img=images[-1])))
    views = finish_views([o['img'][1] for o in outs],
                         [o[PLAN_KEY] for o in outs])
    assert 0 < sum(bool(o['jda_ops']) for o in outs) < 12
    for image, out, view in zip(images, outs, views):
        want = 255 - image if out['jda_ops'] == ['invert'] else image
        assert np.array_equal(view.permute(1, 2, 0).numpy(), want)


def test_crop_resize_flip_is_cv2s_resize():
    image = photos()[0]
    height, width = image.shape[:2]
    rng = np.random.default_rng(0)
    batch = torch.from_numpy(image.transpose(2, 0, 1).copy())[None]
    for trial in range(40):
        crop_w = int(rng.integers(5, width + 1))
        crop_h = int(rng.integers(5, height + 1))
        left = int(rng.integers(0, width - crop_w + 1))
        top = int(rng.integers(0, height - crop_h + 1))
        out_h, out_w = [(48, 48), (17, 33), (crop_h, crop_w)][trial % 3]
        flip = (bool(trial % 2), bool(trial % 5 == 0))
        want = cv2.resize(image[top:top + crop_h, left:left + crop_w],
                          (out_w, out_h), interpolation=cv2.INTER_LINEAR)
        want = want[::-1 if flip[1] else 1, ::-1 if flip[0] else 1]
        plan = dict(crop=(left, top, crop_w, crop_h), size=(out_h, out_w),
                    flip=flip, pad_val=(0, 0, 0))
        got = crop_resize_flip(batch, [(height, width)], [plan])[0]
        assert np.array_equal(got.permute(1, 2, 0).numpy(), want), plan


def test_chunks_cover_every_image_with_bounded_padding():
    rng = np.random.default_rng(0)
    sizes = [(int(h), int(w)) for h, w in rng.integers(20, 500, (200, 2))]
    sizes += [(375, 500)] * 30 + [(500, 375)] * 30
    chunks = chunk_by_size(sizes, max_padding=0.25)
    assert sorted(i for c in chunks for i in c) == list(range(len(sizes)))
    for chunk in chunks:
        height = max(sizes[i][0] for i in chunk)
        width = max(sizes[i][1] for i in chunk)
        area = sum(sizes[i][0] * sizes[i][1] for i in chunk)
        assert area >= 0.75 * height * width * len(chunk)
    # Same-size images share a chunk.
    assert any(len(c) >= 30 for c in chunks)
    assert chunk_by_size([(10, 10)] * 5) == [[0, 1, 2, 3, 4]]


@pytest.mark.parametrize('op, magnitude', [('invert', None),
                                           ('brightness', 0.5)])
def test_each_row_fires_and_signs_on_its_own(op, magnitude):
    prob, num = 0.3, 600
    device = paired('DevicePairedViews', [], [dict(type=op,
                                                   magnitude=magnitude)],
                    prob)
    image = np.full((4, 4, 3), 100, np.uint8)
    np.random.seed(0)
    outs = [device(dict(img=image)) for _ in range(num)]
    views = finish_views([o['img'][1] for o in outs],
                         [o[PLAN_KEY] for o in outs])
    values = np.array([int(v[0, 0, 0]) for v in views])
    fired = values != 100
    assert abs(fired.sum() - num * prob) < 3 * np.sqrt(num * prob *
                                                       (1 - prob))
    # Each row's result follows its own draw.
    assert all((v != 100) == bool(o['jda_ops']) for v, o in zip(values, outs))
    if op == 'brightness':
        brighter = (values > 100).sum()
        assert abs(brighter - fired.sum() / 2) < 3 * np.sqrt(fired.sum() / 4)
        assert set(values[fired]) == {50, 150}


def test_one_batch_needs_one_chain():
    first = paired('DevicePairedViews', [], [dict(type='invert')], 1.0)
    second = paired('DevicePairedViews', [], [dict(type='equalize')], 1.0)
    image = photos()[2]
    plans = [first(dict(img=image))[PLAN_KEY],
             second(dict(img=image))[PLAN_KEY]]
    with pytest.raises(ValueError, match='share one JDA chain'):
        finish_views([torch.from_numpy(image)] * 2, plans)


def packed_batch(kind: str, seeds,
                 meta_keys=('sample_idx', 'jda_ops', PLAN_KEY)) -> dict:
    """A collated batch of photos through ``kind`` + PackInputs."""
    pipeline = Compose([
        paired(kind, RRC_FLIP, prob=0.5),
        dict(type='mmpretrain.PackInputs', meta_keys=meta_keys),
    ])
    items = []
    for seed in seeds:
        np.random.seed(seed)
        items.append(
            pipeline(dict(img=photos()[seed % 3], gt_label=seed % 4,
                          sample_idx=seed)))
    return pseudo_collate(items)


def preprocessor(**kwargs):
    return MODELS.build(
        dict(type='PairedDataPreprocessor', num_classes=4,
             mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
             to_rgb=True, **kwargs))


def test_preprocessor_finishes_augmented_rows_only():
    seeds = range(6)
    expected = preprocessor()(packed_batch('PairedViews', seeds), True)
    out = preprocessor()(packed_batch('DevicePairedViews', seeds), True)
    # Originals (rows 0-5) and augmented views (rows 6-11) both equal the
    # CPU chain's batch: originals untouched, augmented views finished.
    assert out['inputs'].shape == expected['inputs'].shape == (12, 3, 48, 48)
    assert torch.equal(out['inputs'], expected['inputs'])
    samples = out['data_samples']
    assert [s.view for s in samples] == [ORIGINAL] * 6 + [AUGMENTED] * 6
    for row in range(6, 12):
        assert samples[row].jda_ops == \
            expected['data_samples'][row].jda_ops
    assert any(s.jda_ops for s in samples[6:])


def test_preprocessor_finishes_only_the_chosen_augmented_views():
    torch.manual_seed(0)
    out = preprocessor(augmented_fraction=0.5)(
        packed_batch('DevicePairedViews', range(6)), True)
    assert out['inputs'].shape == (9, 3, 48, 48)
    assert [s.view for s in out['data_samples']].count(AUGMENTED) == 3


def test_plan_dropped_by_pack_inputs_is_named():
    batch = packed_batch('DevicePairedViews', range(2),
                         meta_keys=('sample_idx', 'jda_ops'))
    with pytest.raises(ValueError, match="list 'device_jda' in meta_keys"):
        preprocessor()(batch, True)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_views_equal_cpu_views():
    device = paired('DevicePairedViews', RRC_FLIP, prob=0.5)
    images, plans = [], []
    for seed in range(12):
        np.random.seed(seed)
        out = device(dict(img=photos()[seed % 3]))
        images.append(out['img'][1])
        plans.append(out[PLAN_KEY])
    on_cpu = finish_views(images, plans)
    on_cuda = finish_views([i.cuda() for i in images], plans)
    for want, got in zip(on_cpu, on_cuda):
        assert got.is_cuda and torch.equal(got.cpu(), want)
