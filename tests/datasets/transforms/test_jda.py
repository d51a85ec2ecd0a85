"""Tests of the JDA ops and transform against the reference's PIL ops.

The reference functions below call PIL exactly as the paper's reference code
does; they are the oracle. Every op must give exactly their pixels, for
every magnitude bin of the reference and both signs, on real photos and on
32x32 crops; chains, where runs of point ops are merged into one lookup
table, must equal the ops applied one by one.
"""
from typing import Callable, Dict, List, Optional

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageOps
from sklearn.datasets import load_sample_image

from mmkd_ccd.datasets.transforms.jda import JDA, OPS, POLICIES, apply_op
from mmkd_ccd.datasets.transforms.jda_ops import RGBImage, run_chain

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


def _bin(name: str, k: int) -> Optional[float]:
    """Magnitude bin k (0..9) of the reference code, which takes every
    magnitude from ten evenly spaced values."""
    if name in ('shear_x', 'shear_y'):
        return 0.3 * k / 9
    if name in ('translate_x', 'translate_y'):
        return 150 / 331 * k / 9
    if name == 'rotate':
        return 30 * k / 9
    if name in ('color', 'contrast', 'brightness', 'sharpness'):
        return 0.9 * k / 9
    if name == 'solarize':
        return 256 - 256 * k / 9
    if name == 'posterize':
        return round(8 - 4 * k / 9)
    return None


def _photo(name: str) -> np.ndarray:
    return np.ascontiguousarray(load_sample_image(name))


# Real photos (427x640), 32x32 crops of them (a textured and a smooth one)
# and a dim crop on which autocontrast and equalize must act.
IMAGES: Dict[str, Callable[[], np.ndarray]] = {
    'china': lambda: _photo('china.jpg'),
    'flower': lambda: _photo('flower.jpg'),
    'china_32': lambda: _photo('china.jpg')[200:232, 300:332].copy(),
    'flower_32': lambda: _photo('flower.jpg')[40:72, 500:532].copy(),
    'dim_flower_32':
    lambda: (_photo('flower.jpg')[300:332, 100:132] // 2 + 60).astype(
        np.uint8),
}


@pytest.fixture(scope='module')
def images() -> Dict[str, np.ndarray]:
    return {name: make() for name, make in IMAGES.items()}


@pytest.fixture(scope='module')
def photo(images: Dict[str, np.ndarray]) -> np.ndarray:
    """A real RGB photo, 96x128, for the transform's own tests."""
    return np.array(Image.fromarray(images['china']).resize(
        (128, 96), Image.BILINEAR))


def _signs(name: str) -> list:
    return [1, -1] if OPS[name].signed else [1]


def _pil_chain(img: np.ndarray, steps: list) -> np.ndarray:
    """The oracle: the reference ops applied one after the other."""
    pil = Image.fromarray(img)
    for name, magnitude, sign in steps:
        pil = REFERENCE[name](pil, magnitude, sign)
    return np.array(pil)


def test_every_op_has_a_reference():
    assert set(REFERENCE) == set(OPS)


def test_op_func_applies_the_op_to_an_array(images):
    img = images['flower_32']
    for name, op in OPS.items():
        magnitude, sign = _bin(name, 4), _signs(name)[-1]
        np.testing.assert_array_equal(
            op.func(img, magnitude, sign),
            np.array(REFERENCE[name](Image.fromarray(img), magnitude, sign)))


@pytest.mark.parametrize('image', list(IMAGES))
@pytest.mark.parametrize('name', sorted(OPS))
def test_op_equals_pil_reference_for_every_bin(name, image, images):
    img = images[image]
    pil = Image.fromarray(img)
    for k in range(10):
        magnitude = _bin(name, k)
        for sign in _signs(name):
            expected = np.array(REFERENCE[name](pil, magnitude, sign))
            out = apply_op(name, img, magnitude, sign)
            assert out.dtype == np.uint8 and out.shape == img.shape
            np.testing.assert_array_equal(
                out, expected, err_msg=f'{name} bin {k} sign {sign}')


def test_histogram_ops_act_on_the_dim_crop(images):
    for name in ('autocontrast', 'equalize'):
        out = apply_op(name, images['dim_flower_32'])
        assert out.min() == 0 and out.max() == 255


@pytest.mark.parametrize('img', [
    np.full((8, 8, 3), 77, np.uint8),
    np.dstack([
        np.full((6, 5), 3, np.uint8),
        np.tile([0, 255], 15).reshape(6, 5).astype(np.uint8),
        np.arange(30, dtype=np.uint8).reshape(6, 5)
    ]),
    np.random.default_rng(0).integers(0, 2, (16, 16, 3), np.uint8) * 200,
],
                         ids=['one level', 'mixed', 'two levels'])
def test_histogram_corner_cases_equal_pil(img):
    # One level (identity), two levels, one pixel per level (equalize's step
    # of 0, identity) and levels past 255 that PIL clips.
    for name in ('autocontrast', 'equalize'):
        expected = np.array(REFERENCE[name](Image.fromarray(img), None, 1))
        np.testing.assert_array_equal(apply_op(name, img), expected)


def test_ops_on_read_only_and_strided_input(images):
    img = images['china'][::3, ::2]
    img.setflags(write=False)
    for name in ('sharpness', 'equalize', 'shear_x'):
        expected = np.array(REFERENCE[name](Image.fromarray(img), 0.5, 1))
        out = apply_op(name, img, None if name == 'equalize' else 0.5)
        np.testing.assert_array_equal(out, expected)
        assert out.flags.writeable and out.flags.c_contiguous


POINT_OPS = ['autocontrast', 'brightness', 'contrast', 'equalize', 'invert',
             'posterize', 'solarize']


def _random_steps(rng: np.random.Generator, names: List[str],
                  length: int) -> list:
    steps = []
    for name in rng.choice(names, length):
        sign = int(rng.choice(_signs(name)))
        steps.append((str(name), _bin(name, int(rng.integers(10))), sign))
    return steps


def _random_images(rng: np.random.Generator) -> List[np.ndarray]:
    return [
        rng.integers(0, 256, (23, 31, 3), np.uint8),
        # Few levels, so that equalize/autocontrast see sparse histograms.
        rng.choice(np.array([0, 17, 90, 91, 200], np.uint8), (20, 20, 3)),
        (rng.integers(0, 256, (40, 9, 3)) // 4 + 100).astype(np.uint8),
    ]


@pytest.mark.parametrize('seed', range(6))
def test_point_op_runs_equal_ops_one_by_one(seed, images):
    rng = np.random.default_rng(seed)
    imgs = _random_images(rng) + [images['flower_32'], images['china']]
    for img in imgs:
        for length in (2, 3, 6, 10):
            steps = _random_steps(rng, POINT_OPS, length)
            np.testing.assert_array_equal(run_chain(img, steps),
                                          _pil_chain(img, steps),
                                          err_msg=str(steps))


@pytest.mark.parametrize('seed', range(4))
def test_mixed_chains_equal_ops_one_by_one(seed, images):
    # Point-op runs broken by the other ops, whichever form (PIL or numpy)
    # each op leaves the image in.
    rng = np.random.default_rng(100 + seed)
    for img in _random_images(rng) + [images['flower_32']]:
        for length in (4, 8, 12):
            steps = _random_steps(rng, sorted(OPS), length)
            for channel_order in ('rgb', 'bgr'):
                source = img if channel_order == 'rgb' else img[..., ::-1]
                out = run_chain(source, steps, channel_order)
                if channel_order == 'bgr':
                    out = out[..., ::-1]
                np.testing.assert_array_equal(out, _pil_chain(img, steps),
                                              err_msg=str(steps))


def test_lookup_tables_merge_before_touching_pixels(images):
    img = images['flower_32']
    image = RGBImage(img)
    invert = np.tile(255 - np.arange(256), (3, 1)).astype(np.uint8)
    halve = np.tile(np.arange(256) // 2, (3, 1)).astype(np.uint8)
    mapped = image.point(invert).point(halve)
    # Still the input pixels: the two tables are one pending table.
    assert mapped._array is img
    expected = (255 - img) // 2
    expected_histogram = np.stack([
        np.bincount(expected[..., c].ravel(), minlength=256)
        for c in range(3)
    ])
    np.testing.assert_array_equal(mapped.histogram(), expected_histogram)
    np.testing.assert_array_equal(mapped.array, expected)
    np.testing.assert_array_equal(image.array, img)


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


# The reference code's policies as (op, bin) pairs, bins 0..9.
REFERENCE_BINS = {
    'imagenet': [('posterize', 8), ('solarize', 5), ('equalize', 8),
                 ('posterize', 7), ('equalize', 7), ('equalize', 4),
                 ('solarize', 3), ('posterize', 5), ('rotate', 3),
                 ('equalize', 8), ('rotate', 8), ('rotate', 9),
                 ('equalize', 7), ('invert', 4), ('color', 4), ('rotate', 8),
                 ('color', 8), ('sharpness', 7), ('shear_x', 5), ('color', 0),
                 ('equalize', 7), ('solarize', 5), ('invert', 4),
                 ('color', 4), ('equalize', 8)],
    'cifar100': [('autocontrast', 2), ('contrast', 3), ('posterize', 0),
                 ('solarize', 4), ('translate_y', 8), ('shear_x', 5),
                 ('brightness', 3), ('shear_y', 0), ('translate_x', 1),
                 ('sharpness', 5), ('invert', 4), ('color', 4),
                 ('equalize', 8), ('rotate', 3)],
    'cifar10': [('invert', 7), ('rotate', 2), ('shear_y', 8),
                ('posterize', 9), ('autocontrast', 8), ('color', 3),
                ('sharpness', 9), ('equalize', 5), ('contrast', 7),
                ('translate_y', 3), ('brightness', 6), ('solarize', 2),
                ('translate_x', 3), ('shear_x', 8)],
}


@pytest.mark.parametrize('policy', sorted(REFERENCE_BINS))
def test_policies_hold_the_exact_bin_values(policy):
    expected = tuple((name, _bin(name, k))
                     for name, k in REFERENCE_BINS[policy])
    assert POLICIES[policy].ops == expected


def test_exact_values_are_not_the_rounded_ones():
    imagenet = dict(enumerate(POLICIES['imagenet'].ops))
    assert imagenet[10] == ('rotate', 30 * 8 / 9) != ('rotate', 26.7)
    assert imagenet[18] == ('shear_x', 0.3 * 5 / 9) != ('shear_x', 0.167)
    assert imagenet[1] == ('solarize', 256 - 256 * 5 / 9)
    assert imagenet[0] == ('posterize', 4) and imagenet[7] == ('posterize', 6)
    assert POLICIES['cifar100'].ops[4] == ('translate_y', 150 / 331 * 8 / 9)
    assert POLICIES['cifar10'].ops[1] == ('rotate', 30 * 2 / 9)
    # Rounded magnitudes would change pixels: rotate 26.7 vs 26.666...
    china = _photo('china.jpg')
    moved = np.any(apply_op('rotate', china, 26.7) != apply_op(
        'rotate', china, 30 * 8 / 9), axis=-1).mean()
    assert moved > 0.05


def _expected_steps(policy: tuple, prob: float) -> list:
    """The documented draws, redone by hand: one numpy draw per op for
    firing, a second for the sign of a signed op that fired."""
    steps = []
    for name, magnitude in policy:
        if np.random.rand() < prob:
            sign = -1 if OPS[name].signed and np.random.rand() < 0.5 else 1
            steps.append((name, magnitude, sign))
    return steps


@pytest.mark.parametrize('policy,image,seeds', [
    ('imagenet', 'china', range(3)),
    ('cifar100', 'china_32', range(20)),
    ('cifar10', 'flower_32', range(20)),
])
def test_policy_chains_equal_the_reference_chain(policy, image, seeds,
                                                 images):
    img = images[image]
    transform = JDA(policy=policy, prob=0.5)
    for seed in seeds:
        np.random.seed(seed)
        steps = _expected_steps(POLICIES[policy].ops, 0.5)
        np.random.seed(seed)
        results = transform(dict(img=np.ascontiguousarray(img[..., ::-1])))
        assert results['jda_ops'] == [
            name if magnitude is None else f'{name}({sign * magnitude:g})'
            for name, magnitude, sign in steps
        ]
        np.testing.assert_array_equal(results['img'][..., ::-1],
                                      _pil_chain(img, steps),
                                      err_msg=f'seed {seed}: {steps}')


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
