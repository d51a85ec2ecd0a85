"""Tests of the JDA transform against PIL's reference semantics.

The reference functions below are written with PIL directly, as the paper's
reference code (DeepVoltaire-style AutoAugment ops) does. Every op is
compared pixel-exactly: ops that reuse mmcv prove here that mmcv gives
PIL's pixels, the others are implemented through PIL itself.
"""
from typing import Callable, Dict, Optional

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageOps
from sklearn.datasets import load_sample_image

from mmkd_ccd.datasets.transforms.jda import JDA, OPS, POLICIES, apply_op

GREY = (128, 128, 128)


def _ref_rotate(img: Image.Image, m: float) -> Image.Image:
    rot = img.convert('RGBA').rotate(m)
    grey = Image.new('RGBA', rot.size, (128, ) * 4)
    return Image.composite(rot, grey, rot).convert(img.mode)


def _ref_affine(img: Image.Image, coeffs: tuple,
                resample: int = Image.NEAREST) -> Image.Image:
    return img.transform(img.size, Image.AFFINE, coeffs, resample,
                         fillcolor=GREY)


REFERENCE: Dict[str, Callable[[Image.Image, Optional[float], int],
                              Image.Image]] = {
    'autocontrast': lambda img, m, s: ImageOps.autocontrast(img),
    'equalize': lambda img, m, s: ImageOps.equalize(img),
    'invert': lambda img, m, s: ImageOps.invert(img),
    'posterize': lambda img, m, s: ImageOps.posterize(img, m),
    'solarize': lambda img, m, s: ImageOps.solarize(img, m),
    'color': lambda img, m, s: ImageEnhance.Color(img).enhance(1 + m * s),
    'contrast':
    lambda img, m, s: ImageEnhance.Contrast(img).enhance(1 + m * s),
    'brightness':
    lambda img, m, s: ImageEnhance.Brightness(img).enhance(1 + m * s),
    'sharpness':
    lambda img, m, s: ImageEnhance.Sharpness(img).enhance(1 + m * s),
    'rotate': lambda img, m, s: _ref_rotate(img, m),
    'shear_x': lambda img, m, s: _ref_affine(img, (1, m * s, 0, 0, 1, 0),
                                             Image.BICUBIC),
    'shear_y': lambda img, m, s: _ref_affine(img, (1, 0, 0, m * s, 1, 0),
                                             Image.BICUBIC),
    'translate_x':
    lambda img, m, s: _ref_affine(img, (1, 0, m * img.size[0] * s, 0, 1, 0)),
    'translate_y':
    lambda img, m, s: _ref_affine(img, (1, 0, 0, 0, 1, m * img.size[1] * s)),
}

# The policies' magnitudes plus range ends.
MAGNITUDES: Dict[str, list] = {
    'autocontrast': [None],
    'equalize': [None],
    'invert': [None],
    'posterize': [1, 4, 5, 6, 8],
    'solarize': [0, 113.8, 142.2, 170.7, 199.1, 256],
    'color': [0.0, 0.3, 0.4, 0.8],
    'contrast': [0.3, 0.7],
    'brightness': [0.3, 0.6, 1.0],
    'sharpness': [0.5, 0.7, 0.9],
    'rotate': [0, 6.67, 10.0, 26.7, 30.0, 180.0],
    'shear_x': [0.167, 0.267],
    'shear_y': [0.0, 0.267],
    'translate_x': [0.05, 0.151],
    'translate_y': [0.151, 0.403],
}


@pytest.fixture(scope='module')
def photo() -> np.ndarray:
    """A real RGB photo, 96x128 to keep the tests fast."""
    img = Image.fromarray(load_sample_image('china.jpg'))
    return np.array(img.resize((128, 96), Image.BILINEAR))


@pytest.fixture(scope='module')
def dim_photo(photo: np.ndarray) -> np.ndarray:
    """The photo squeezed into [60, 187], so autocontrast/equalize act."""
    return (photo // 2 + 60).astype(np.uint8)


def _signs(name: str) -> list:
    return [1, -1] if OPS[name].signed else [1]


OP_CASES = [(name, m, s) for name in OPS for m in MAGNITUDES[name]
            for s in _signs(name)]


def test_every_op_has_reference_and_cases():
    assert set(REFERENCE) == set(OPS) == set(MAGNITUDES)


@pytest.mark.parametrize('image', ['photo', 'dim_photo'])
@pytest.mark.parametrize('name,magnitude,sign', OP_CASES)
def test_op_equals_pil_reference(name, magnitude, sign, image, request):
    img = request.getfixturevalue(image)
    expected = np.array(REFERENCE[name](Image.fromarray(img), magnitude, sign))
    out = apply_op(name, img, magnitude, sign)
    assert out.dtype == np.uint8 and out.shape == img.shape
    np.testing.assert_array_equal(out, expected)


def test_ops_on_constant_image_equal_pil():
    # One grey level: PIL's equalize/autocontrast fall back to the identity.
    img = np.full((8, 8, 3), 77, np.uint8)
    for name in ('autocontrast', 'equalize'):
        expected = np.array(REFERENCE[name](Image.fromarray(img), None, 1))
        np.testing.assert_array_equal(apply_op(name, img), expected)
        np.testing.assert_array_equal(apply_op(name, img), img)


def test_histogram_ops_are_not_vacuous(dim_photo):
    for name in ('autocontrast', 'equalize'):
        out = apply_op(name, dim_photo)
        assert out.min() == 0 and out.max() == 255


def test_rotate_is_counter_clockwise(photo):
    pil = Image.fromarray(photo)
    out = apply_op('rotate', photo, 30.0, sign=-1)
    np.testing.assert_array_equal(out, np.array(_ref_rotate(pil, 30.0)))
    assert not np.array_equal(out, np.array(_ref_rotate(pil, -30.0)))
    assert tuple(out[0, 0]) == GREY
    # Counter-clockwise on screen: a dot right of the centre moves above it.
    dot = np.zeros((65, 65, 3), np.uint8)
    dot[32, 60] = 255
    turned = apply_op('rotate', dot, 90.0)
    assert list(zip(*np.nonzero(turned[..., 0] == 255))) == [(4, 32)]

    transform = JDA(policy=[dict(type='rotate', magnitude=30.0)], prob=1.0)
    np.random.seed(0)
    recorded = {
        op
        for _ in range(50)
        for op in transform(dict(img=photo[:8, :8].copy()))['jda_ops']
    }
    assert recorded == {'rotate(30)'}


@pytest.mark.parametrize('name', ['color', 'contrast'])
def test_bgr_input_keeps_rgb_meaning(photo, name):
    bgr = np.ascontiguousarray(photo[..., ::-1])
    transform = JDA(policy=[dict(type=name, magnitude=0.8)], prob=1.0)
    np.random.seed(1)
    results = transform(dict(img=bgr.copy()))
    (fired, ) = results['jda_ops']
    sign = -1 if fired == f'{name}(-0.8)' else 1
    assert fired == f'{name}({sign * 0.8:g})'
    expected_rgb = np.array(REFERENCE[name](Image.fromarray(photo), 0.8, sign))
    np.testing.assert_array_equal(results['img'], expected_rgb[..., ::-1])
    # Treating the BGR array as RGB would weigh blue as red: different pixels.
    swapped = np.array(REFERENCE[name](Image.fromarray(bgr), 0.8, sign))
    assert not np.array_equal(results['img'], swapped)


def test_rgb_channel_order_is_left_as_is(photo):
    transform = JDA(policy=[dict(type='color', magnitude=0.4)], prob=1.0,
                    channel_order='rgb')
    np.random.seed(2)
    results = transform(dict(img=photo.copy()))
    sign = -1 if results['jda_ops'] == ['color(-0.4)'] else 1
    expected = np.array(REFERENCE['color'](Image.fromarray(photo), 0.4, sign))
    np.testing.assert_array_equal(results['img'], expected)


def test_firing_rate_matches_prob():
    transform = JDA(policy=[dict(type='invert')], prob=0.3)
    img = np.zeros((4, 4, 3), np.uint8)
    np.random.seed(3)
    fired = [bool(transform(dict(img=img))['jda_ops']) for _ in range(2000)]
    assert abs(np.mean(fired) - 0.3) < 0.03


def test_ops_fire_independently():
    transform = JDA(
        policy=[dict(type='invert'),
                dict(type='posterize', magnitude=4)],
        prob=0.5)
    img = np.zeros((4, 4, 3), np.uint8)
    np.random.seed(4)
    counts = {'first': 0, 'second': 0, 'both': 0}
    draws = 2000
    for _ in range(draws):
        ops = transform(dict(img=img))['jda_ops']
        counts['first'] += 'invert' in ops
        counts['second'] += 'posterize(4)' in ops
        counts['both'] += len(ops) == 2
    assert abs(counts['first'] / draws - 0.5) < 0.03
    assert abs(counts['second'] / draws - 0.5) < 0.03
    assert abs(counts['both'] / draws - 0.25) < 0.03


def test_sign_is_random_and_balanced():
    transform = JDA(policy=[dict(type='shear_x', magnitude=0.167)], prob=1.0)
    img = np.zeros((4, 4, 3), np.uint8)
    np.random.seed(5)
    ops = [transform(dict(img=img))['jda_ops'][0] for _ in range(1000)]
    assert set(ops) == {'shear_x(0.167)', 'shear_x(-0.167)'}
    assert abs(ops.count('shear_x(-0.167)') / 1000 - 0.5) < 0.05


@pytest.mark.parametrize('name,num_ops,prob', [('imagenet', 25, 0.2),
                                                ('cifar100', 14, 0.3),
                                                ('cifar10', 14, 0.5)])
def test_reference_policies(name, num_ops, prob):
    assert len(POLICIES[name].ops) == num_ops
    assert POLICIES[name].prob == prob
    transform = JDA(policy=name)
    assert transform.prob == prob and len(transform.ops) == num_ops
    # The built-in data passes the same validation as a user's list.
    as_dicts = [
        dict(type=op) if m is None else dict(type=op, magnitude=m)
        for op, m in POLICIES[name].ops
    ]
    assert JDA(policy=as_dicts, prob=prob).ops == POLICIES[name].ops


def test_reference_policy_entries():
    imagenet = POLICIES['imagenet'].ops
    assert imagenet[0] == ('posterize', 4)
    assert imagenet[1] == ('solarize', 113.8)
    assert imagenet[10] == ('rotate', 26.7)
    assert imagenet[18] == ('shear_x', 0.167)
    assert imagenet[19] == ('color', 0.0)
    assert imagenet[-1] == ('equalize', None)
    cifar100 = POLICIES['cifar100'].ops
    assert cifar100[0] == ('autocontrast', None)
    assert cifar100[4] == ('translate_y', 0.403)
    assert cifar100[7] == ('shear_y', 0.0)
    assert cifar100[8] == ('translate_x', 0.05)
    assert cifar100[-1] == ('rotate', 10.0)
    cifar10 = POLICIES['cifar10'].ops
    assert cifar10[0] == ('invert', None)
    assert cifar10[1] == ('rotate', 6.67)
    assert cifar10[11] == ('solarize', 199.1)
    assert cifar10[-1] == ('shear_x', 0.267)


def _ops(*op_cfgs: dict) -> dict:
    return dict(policy=list(op_cfgs), prob=0.5)


@pytest.mark.parametrize('kwargs,fragments', [
    (dict(policy='imagenet1k'), ["'imagenet1k'", "'cifar10'", "'imagenet'"]),
    (dict(policy=dict(type='rotate')), ['policy', "'rotate'"]),
    (_ops(), ['empty']),
    (_ops(dict(type='rotate', magnitude=10.0), dict(type='blur')),
     ["'blur'", 'policy[1]', "'shear_x'"]),
    (_ops(dict(magnitude=3)), ["'type'", 'policy[0]']),
    (_ops(dict(type='rotate', magnitude=10, p=0.3)), ["'p'", 'policy[0]']),
    (_ops(dict(type='posterize', magnitude=0)), ["'posterize'", '0',
                                                 '[1, 8]']),
    (_ops(dict(type='posterize', magnitude=9)), ["'posterize'", '9',
                                                 '[1, 8]']),
    (_ops(dict(type='posterize', magnitude=4.0)), ["'posterize'", '4.0']),
    (_ops(dict(type='solarize', magnitude=300)), ["'solarize'", '300',
                                                  '[0, 256]']),
    (_ops(dict(type='solarize', magnitude=-1)), ["'solarize'", '-1']),
    (_ops(dict(type='color', magnitude=1.5)), ["'color'", '1.5', '[0, 1]']),
    (_ops(dict(type='sharpness', magnitude=-0.1)), ["'sharpness'", '-0.1']),
    (_ops(dict(type='rotate', magnitude=360)), ["'rotate'", '360',
                                                '[0, 360)']),
    (_ops(dict(type='rotate', magnitude=-10)), ["'rotate'", '-10']),
    (_ops(dict(type='rotate')), ["'rotate'", 'None']),
    (_ops(dict(type='shear_x', magnitude=1.2)), ["'shear_x'", '1.2',
                                                 '[0, 1]']),
    (_ops(dict(type='translate_y', magnitude=0.5),
          dict(type='translate_x', magnitude=2)),
     ["'translate_x'", 'policy[1]', '2', '[0, 1]']),
    (_ops(dict(type='equalize', magnitude=5)), ["'equalize'", '5']),
    (_ops(dict(type='color', magnitude='0.4')), ["'color'", "'0.4'"]),
    (dict(policy=[dict(type='invert')]), ['prob']),
    (dict(policy='cifar10', prob=1.5), ['prob', '1.5', '[0, 1]']),
    (dict(policy='cifar10', prob=-0.1), ['prob', '-0.1']),
    (dict(policy='cifar10', prob='0.5'), ['prob', "'0.5'"]),
    (dict(policy='cifar10', channel_order='bgra'), ['channel_order',
                                                    "'bgra'"]),
])
def test_invalid_arguments_raise(kwargs, fragments):
    with pytest.raises(ValueError) as error:
        JDA(**kwargs)
    for fragment in fragments:
        assert fragment in str(error.value)


def test_non_uint8_image_raises():
    with pytest.raises(ValueError, match=r"results\['img'\]"):
        JDA(policy='cifar10')(dict(img=np.zeros((4, 4, 3), np.float32)))


def test_jda_ops_recorded_in_chain_order(photo):
    bgr = np.ascontiguousarray(photo[..., ::-1])
    transform = JDA(
        policy=[dict(type='invert'),
                dict(type='rotate', magnitude=10.0)],
        prob=1.0)
    results = transform(dict(img=bgr.copy()))
    assert results['jda_ops'] == ['invert', 'rotate(10)']
    expected = _ref_rotate(ImageOps.invert(Image.fromarray(photo)), 10.0)
    np.testing.assert_array_equal(results['img'],
                                  np.array(expected)[..., ::-1])


def test_prob_zero_leaves_image_unchanged(photo):
    results = JDA(policy='imagenet', prob=0.0)(dict(img=photo.copy()))
    assert results['jda_ops'] == []
    np.testing.assert_array_equal(results['img'], photo)


def test_seeded_numpy_rng_reproduces_chain(photo):

    def run(seed: int) -> list:
        np.random.seed(seed)
        transform = JDA(policy='imagenet')
        return [transform(dict(img=photo.copy())) for _ in range(5)]

    first, again, other = run(7), run(7), run(8)
    for a, b in zip(first, again):
        assert a['jda_ops'] == b['jda_ops']
        np.testing.assert_array_equal(a['img'], b['img'])
    assert [r['jda_ops'] for r in first] != [r['jda_ops'] for r in other]


def test_repr():
    assert repr(JDA(policy='cifar10')) == (
        "JDA(policy='cifar10', num_ops=14, prob=0.5, channel_order='bgr')")
    custom = JDA(policy=[dict(type='invert')], prob=0.25, channel_order='rgb')
    assert repr(custom) == (
        "JDA(policy='custom', num_ops=1, prob=0.25, channel_order='rgb')")


def test_builds_from_mmengine_root_registry():
    from mmengine.registry import TRANSFORMS
    transform = TRANSFORMS.build(dict(type='JDA', policy='cifar10'))
    assert isinstance(transform, JDA) and transform.prob == 0.5


def test_builds_from_mmpretrain_child_registry():
    from mmpretrain.registry import TRANSFORMS
    transform = TRANSFORMS.build(
        dict(type='JDA', policy=[dict(type='rotate', magnitude=10.0)],
             prob=0.3))
    assert isinstance(transform, JDA) and transform.ops == (('rotate', 10.0), )
