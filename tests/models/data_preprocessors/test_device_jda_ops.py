"""The device JDA ops give the CPU ops' pixels (the CPU ops are PIL's)."""
from typing import List, Tuple

import numpy as np
import pytest
import torch
from sklearn.datasets import load_sample_image

from mmkd_ccd.datasets.transforms.jda import OPS, apply_op
from mmkd_ccd.models.data_preprocessors.device_jda_ops import (
    DEVICE_OPS, apply_device_op, channel_histograms, rotate_matrix)


def bins(name: str) -> List:
    """Magnitudes of the reference's 10-bin grid (k = 1, 5, 9) and the
    edge cases of each op."""
    k = np.array([1, 5, 9])
    table = {
        'posterize': [int(round(8 - 4 * i / 9)) for i in (0, 5, 9)] + [1],
        'solarize': [256 - 256 * i / 9 for i in (0, 5, 9)] + [128.0],
        'rotate': list(30 * k / 9) + [0.0, 90.0, 180.0, 270.0, 45.5],
        'shear_x': list(0.3 * k / 9),
        'shear_y': list(0.3 * k / 9),
        'translate_x': list(150 / 331 * k / 9) + [0.5],
        'translate_y': list(150 / 331 * k / 9) + [0.5],
    }
    if name in ('autocontrast', 'equalize', 'invert'):
        return [None]
    return table.get(name, list(0.9 * k / 9) + [0.0])


def middle_bin(name: str):
    values = bins(name)
    return values[1] if len(values) > 1 else None


def photo_crops() -> List[np.ndarray]:
    """RGB crops of scikit-learn's real photos in several sizes, and a
    flat (single-colour) image, which PIL's point ops leave alone."""
    china = load_sample_image('china.jpg')
    flower = load_sample_image('flower.jpg')
    flat = np.full((9, 11, 3), (30, 200, 90), np.uint8)
    return [china[100:196, 200:328], flower[150:211, 300:383],
            china[300:332, 40:72], flower[10:42, 500:532], china[:5, :7],
            flat]


def padded_batch(images: List[np.ndarray]) -> Tuple[torch.Tensor, list]:
    """Rows padded with noise to the largest size: no op may read it."""
    height = max(i.shape[0] for i in images)
    width = max(i.shape[1] for i in images)
    batch = torch.randint(0, 256, (len(images), 3, height, width),
                          dtype=torch.uint8,
                          generator=torch.Generator().manual_seed(0))
    for row, image in enumerate(images):
        batch[row, :, :image.shape[0], :image.shape[1]] = torch.tensor(
            image).permute(2, 0, 1)
    return batch, [i.shape[:2] for i in images]


def unpad(batch: torch.Tensor, row: int, size: tuple) -> np.ndarray:
    return batch[row, :, :size[0], :size[1]].permute(1, 2, 0).numpy()


def test_every_cpu_op_has_a_device_op():
    assert set(DEVICE_OPS) == set(OPS)


@pytest.mark.parametrize(
    'name, magnitude', [(n, m) for n in sorted(OPS) for m in bins(n)])
def test_device_op_equals_cpu_op_on_photo_crops(name, magnitude):
    crops = photo_crops()
    # Every crop with both signs, in one padded batch of mixed sizes.
    images = crops + crops
    signs = [1] * len(crops) + [-1] * len(crops)
    batch, sizes = padded_batch(images)
    out = apply_device_op(name, batch, sizes, magnitude, signs)
    for row, (image, sign) in enumerate(zip(images, signs)):
        expected = apply_op(name, image, magnitude, sign)
        got = unpad(out, row, sizes[row])
        assert np.array_equal(got, expected), (
            f'{name}({magnitude}, sign {sign}) on a {sizes[row]} image: '
            f'{np.count_nonzero(got != expected)} values differ, by up to '
            f'{np.abs(got.astype(int) - expected).max()}')


@pytest.mark.parametrize('name', sorted(OPS))
def test_device_op_equals_cpu_op_on_whole_photo(name):
    photo = load_sample_image('china.jpg')
    magnitude = middle_bin(name)
    batch, sizes = padded_batch([photo, photo])
    out = apply_device_op(name, batch, sizes, magnitude, [1, -1])
    for row, sign in enumerate((1, -1)):
        expected = apply_op(name, photo, magnitude, sign)
        assert np.array_equal(unpad(out, row, sizes[row]), expected), name


def test_ops_change_the_photo():
    """Guards the parity tests against ops that would all be identities."""
    # Levels 60..187, so that autocontrast has something to stretch.
    photo = photo_crops()[0] // 2 + 60
    batch, sizes = padded_batch([photo])
    for name in sorted(OPS):
        magnitude = middle_bin(name)
        out = apply_device_op(name, batch, sizes, magnitude, [1])
        assert not np.array_equal(unpad(out, 0, sizes[0]), photo), name


def test_histograms_count_the_valid_region_only():
    images = [np.full((3, 4, 3), 7, np.uint8),
              np.full((2, 2, 3), 9, np.uint8)]
    batch, sizes = padded_batch(images)
    hist = channel_histograms(batch, torch.tensor(sizes))
    assert hist.shape == (2, 3, 256)
    assert (hist[0, :, 7] == 12).all() and (hist[0].sum(-1) == 12).all()
    assert (hist[1, :, 9] == 4).all() and (hist[1].sum(-1) == 4).all()


def test_rotate_matrix_is_pils():
    from PIL import Image

    # PIL's rotate with an identity 'transform' check: rotating a gradient
    # by the matrix's inverse mapping reproduces Image.rotate.
    a, b, c, d, e, f = rotate_matrix(30.0, 10, 20)
    assert (a, b) == (round(np.cos(np.radians(-30)), 15),
                      round(np.sin(np.radians(-30)), 15))
    grad = np.arange(200, dtype=np.uint8).reshape(10, 20)
    image = Image.fromarray(grad)
    by_matrix = image.transform((20, 10), Image.Transform.AFFINE,
                                (a, b, c, d, e, f), Image.Resampling.NEAREST)
    assert np.array_equal(np.array(by_matrix), np.array(image.rotate(30.0)))


def test_rotate_of_an_image_beyond_fixed_point_range_is_refused():
    with pytest.raises(ValueError, match='fixed-point range'):
        DEVICE_OPS['rotate'].row_params(10.0, 1, 40000, 40000)
