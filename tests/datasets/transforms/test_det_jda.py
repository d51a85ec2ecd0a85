"""DetJDA: JDA's ops on detection samples, with boxes that follow the image.

Every geometric case draws a bright rectangle on a dark image and boxes it;
after the op, the box DetJDA computed must be the box of the bright pixels
that the (PIL) image op moved, to within one pixel.
"""
from typing import List, Optional, Tuple

import numpy as np
import pytest
import torch
from mmdet.structures.bbox import HorizontalBoxes

from mmkd_ccd.datasets.transforms.det_jda import GEOMETRIC_OPS, DetJDA
from mmkd_ccd.datasets.transforms.jda import JDA, OPS, POLICIES

SIZE = 64
DARK, BRIGHT = 20, 255
# Above centre and wider than tall, so that a rotation's direction and an
# x/y mix-up both show in the box.
OBJECT = (24, 20, 40, 30)

GEOMETRIC_CASES = [(name, magnitude, sign)
                   for name, magnitude in [('translate_x', 0.151),
                                           ('translate_x', 0.05),
                                           ('translate_y', 0.151),
                                           ('translate_y', 0.403),
                                           ('shear_x', 0.167),
                                           ('shear_x', 0.267),
                                           ('shear_y', 0.267)]
                   for sign in (1, -1)] + [('rotate', m, 1)
                                           for m in (6.67, 10.0, 30.0, 90.0)]
PHOTOMETRIC = {
    'autocontrast': None, 'equalize': None, 'invert': None, 'posterize': 4,
    'solarize': 128.0, 'color': 0.5, 'contrast': 0.5, 'brightness': 0.5,
    'sharpness': 0.5
}


def _seed_for_sign(sign: int) -> int:
    """A numpy seed under which an op with prob 1 fires with ``sign``: the
    first draw decides firing, the second draws -1 when below 0.5."""
    for seed in range(100):
        np.random.seed(seed)
        if (np.random.rand(2)[1] < 0.5) == (sign == -1):
            return seed
    raise AssertionError('no seed found')


def _sample(boxes: List[Tuple[float, float, float, float]],
            draw: Optional[Tuple[int, int, int, int]] = OBJECT) -> dict:
    img = np.full((SIZE, SIZE, 3), DARK, np.uint8)
    if draw is not None:
        x1, y1, x2, y2 = draw
        img[y1:y2, x1:x2] = BRIGHT
    return dict(
        img=img,
        img_shape=img.shape[:2],
        gt_bboxes=HorizontalBoxes(torch.tensor(boxes, dtype=torch.float32)),
        gt_bboxes_labels=np.arange(len(boxes), dtype=np.int64),
        gt_ignore_flags=np.array([i % 2 == 1 for i in range(len(boxes))]))


def _single_op(name: str, magnitude: Optional[float], sign: int = 1,
               **kwargs) -> DetJDA:
    transform = DetJDA(
        policy=[dict(type=name, magnitude=magnitude)], prob=1.0, **kwargs)
    np.random.seed(_seed_for_sign(sign))
    return transform


def _bright_box(img: np.ndarray) -> np.ndarray:
    """Box (pixel edges) of the pixels nearer the bright value than the dark
    one, i.e. more than half covered by the object after resampling."""
    ys, xs = np.nonzero((img.min(axis=-1) > (DARK + BRIGHT) / 2))
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])


def _rotated_corners_box(box, degrees: float) -> np.ndarray:
    """Box of the corners of ``box`` turned counter-clockwise on screen
    about the image centre (y points down)."""
    theta = np.deg2rad(degrees)
    x1, y1, x2, y2 = box
    corners = np.array([[x1, y1], [x2, y1], [x1, y2], [x2, y2]], float)
    d = corners - SIZE / 2
    turned = np.stack([d[:, 0] * np.cos(theta) + d[:, 1] * np.sin(theta),
                       -d[:, 0] * np.sin(theta) + d[:, 1] * np.cos(theta)],
                      axis=1) + SIZE / 2
    return np.concatenate([turned.min(0), turned.max(0)])


@pytest.mark.parametrize('name,magnitude,sign', GEOMETRIC_CASES)
def test_box_follows_the_object(name, magnitude, sign):
    results = _single_op(name, magnitude, sign)(_sample([OBJECT]))
    assert results['jda_ops'] == [f'{name}({sign * magnitude:g})']
    box = results['gt_bboxes'].tensor.numpy()[0]
    np.testing.assert_allclose(box, _bright_box(results['img']), atol=1.0)
    assert results['gt_bboxes_labels'].tolist() == [0]
    assert results['gt_ignore_flags'].tolist() == [False]
    assert results['homography_matrix'].shape == (3, 3)


@pytest.mark.parametrize('name,magnitude,sign', [
    ('translate_x', 0.151, 1), ('translate_x', 0.151, -1),
    ('translate_y', 0.403, 1), ('translate_y', 0.05, -1)
])
def test_translate_box_moves_by_the_content_shift_exactly(
        name, magnitude, sign):
    # PIL samples x + m*W*sign, so the content moves the other way, by the
    # rounded offset (nearest resampling).
    results = _single_op(name, magnitude, sign)(_sample([OBJECT]))
    box = results['gt_bboxes'].tensor.numpy()[0]
    np.testing.assert_array_equal(box, _bright_box(results['img']))
    # the far edge: translate_y(0.403) clips the near one to the border
    far_edge = 2 if name == 'translate_x' else 3
    shift = -np.floor(sign * magnitude * SIZE + 0.5)
    assert box[far_edge] == OBJECT[far_edge] + shift


@pytest.mark.parametrize('sign', [1, -1])
def test_shear_x_box_is_the_sheared_corners(sign):
    # PIL's AFFINE (1, s, 0, 0, 1, 0) samples (x + s*y, y): a point moves to
    # x - s*y, so for s > 0 the top edge of the object moves less to the left
    # than the bottom edge.
    s = 0.267 * sign
    results = _single_op('shear_x', 0.267, sign)(_sample([OBJECT]))
    x1, y1, x2, y2 = OBJECT
    xs = [x - s * y for x in (x1, x2) for y in (y1, y2)]
    np.testing.assert_allclose(results['gt_bboxes'].tensor.numpy()[0],
                               [min(xs), y1, max(xs), y2], atol=1e-4)


@pytest.mark.parametrize('degrees', [10.0, 30.0, 90.0])
def test_rotate_box_is_the_box_of_the_turned_corners(degrees):
    results = _single_op('rotate', degrees)(_sample([OBJECT]))
    expected = _rotated_corners_box(OBJECT, degrees)
    np.testing.assert_allclose(
        results['gt_bboxes'].tensor.numpy()[0], expected, atol=1e-4)
    # counter-clockwise: an object above the centre moves to the left
    assert expected[0] < OBJECT[0]


def test_rotate_matches_mmdet_rotate_box_with_negated_angle():
    # HorizontalBoxes.rotate_ takes positive angles as clockwise.
    boxes = HorizontalBoxes(torch.tensor([OBJECT], dtype=torch.float32))
    boxes.rotate_((SIZE / 2, SIZE / 2), -30.0)
    results = _single_op('rotate', 30.0)(_sample([OBJECT]))
    torch.testing.assert_close(results['gt_bboxes'].tensor, boxes.tensor)


@pytest.mark.parametrize('mmdet_cfg,name,magnitude,sign', [
    # mmdet's Rotate turns clockwise (about ((W-1)/2, (H-1)/2)): our
    # counter-clockwise 330 degrees.
    (dict(type='Rotate', min_mag=30.0, max_mag=30.0), 'rotate', 330.0, 1),
    # mmdet's ShearX(angle) moves a point to x + tan(angle)*y: PIL's
    # shear_x(-tan(angle)).
    (dict(type='ShearX', min_mag=15.0, max_mag=15.0), 'shear_x',
     float(np.tan(np.deg2rad(15.0))), -1),
    # mmdet's TranslateX(t) moves the content right by int(t*W): PIL's
    # translate_x(-t), up to rounding. (mmdet rounds every magnitude to one
    # decimal first, hence 0.1 here.)
    (dict(type='TranslateX', min_mag=0.1, max_mag=0.1), 'translate_x', 0.1,
     -1),
])
def test_mmdet_geometric_transforms_turn_the_other_way(
        mmdet_cfg, name, magnitude, sign):
    from mmdet.registry import TRANSFORMS
    from mmengine.registry import DefaultScope

    # reversal_prob=1.0 keeps mmdet's magnitude positive (it negates when a
    # draw exceeds reversal_prob). The scope is explicit: other tests leave
    # mmpretrain as the process-wide default scope.
    with DefaultScope.overwrite_default_scope('mmdet'):
        mmdet_op = TRANSFORMS.build(
            dict(mmdet_cfg, prob=1.0, level=10, reversal_prob=1.0))
    expected = mmdet_op(_sample([OBJECT]))['gt_bboxes'].tensor
    ours = _single_op(name, magnitude, sign)(_sample([OBJECT]))
    torch.testing.assert_close(
        ours['gt_bboxes'].tensor, expected, atol=1.0, rtol=0)


def test_boxes_leaving_the_image_are_dropped_with_their_labels():
    # translate_x(-0.151): the content moves right by 10 px
    inside, partly_out, leaving = ((4, 4, 20, 20), (44, 30, 60, 40),
                                   (56, 50, 63, 60))
    results = _single_op('translate_x', 0.151, -1)(
        _sample([inside, partly_out, leaving], draw=None))
    np.testing.assert_array_equal(results['gt_bboxes'].tensor.numpy(),
                                  [[14, 4, 30, 20], [54, 30, 64, 40]])
    assert results['gt_bboxes_labels'].tolist() == [0, 1]
    assert results['gt_ignore_flags'].tolist() == [False, True]


def test_rotation_drops_a_corner_box():
    # 45 degrees counter-clockwise swings the top-left corner out to the left
    results = _single_op('rotate', 45.0)(
        _sample([(0, 0, 6, 6), OBJECT], draw=None))
    assert len(results['gt_bboxes']) == 1
    assert results['gt_bboxes_labels'].tolist() == [1]
    assert results['gt_ignore_flags'].tolist() == [True]


def test_geometric_ops_compose_and_record_the_homography():
    np.random.seed(0)
    transform = DetJDA(
        policy=[dict(type='rotate', magnitude=10.0),
                dict(type='translate_y', magnitude=0.1)],
        prob=1.0)
    results = transform(_sample([OBJECT]))
    assert [op.split('(')[0] for op in results['jda_ops']] == [
        'rotate', 'translate_y']
    corners = np.array([[24, 20, 1], [40, 20, 1], [24, 30, 1], [40, 30, 1]])
    moved = corners @ results['homography_matrix'].T
    expected = np.concatenate([moved[:, :2].min(0), moved[:, :2].max(0)])
    np.testing.assert_allclose(
        results['gt_bboxes'].tensor.numpy()[0], expected, atol=1e-3)


def test_every_op_is_geometric_or_photometric():
    assert set(GEOMETRIC_OPS) | set(PHOTOMETRIC) == set(OPS)
    assert not set(GEOMETRIC_OPS) & set(PHOTOMETRIC)


@pytest.mark.parametrize('name,magnitude', sorted(PHOTOMETRIC.items()))
def test_photometric_ops_leave_boxes_untouched(name, magnitude):
    sample = _sample([OBJECT, (0, 0, 64, 64)])
    before = sample['gt_bboxes'].tensor.clone()
    results = _single_op(name, magnitude)(sample)
    assert len(results['jda_ops']) == 1
    assert torch.equal(results['gt_bboxes'].tensor, before)
    assert results['gt_bboxes_labels'].tolist() == [0, 1]
    assert 'homography_matrix' not in results


def test_photometric_only_skips_the_geometric_ops():
    transform = DetJDA(policy='cifar10', prob=1.0, photometric_only=True)
    assert not transform.has_geometric_ops
    assert len(transform.ops) == len(POLICIES['cifar10'].ops) - 5
    sample = _sample([OBJECT])
    results = transform(sample)
    fired = {op.split('(')[0] for op in results['jda_ops']}
    assert fired and not fired & set(GEOMETRIC_OPS)
    np.testing.assert_array_equal(results['gt_bboxes'].tensor.numpy(),
                                  [OBJECT])
    assert 'photometric_only=True' in repr(transform)


def test_same_draws_as_jda():
    """For one seed and policy, DetJDA fires the same ops, with the same
    signs and pixels, as the classification JDA."""
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (SIZE, SIZE, 3), np.uint8)
    for seed in range(3):
        np.random.seed(seed)
        expected = JDA(policy='cifar10')(dict(img=img.copy()))
        np.random.seed(seed)
        results = DetJDA(policy='cifar10')(dict(img=img.copy()))
        assert results['jda_ops'] == expected['jda_ops']
        np.testing.assert_array_equal(results['img'], expected['img'])


def test_numpy_boxes_and_empty_boxes():
    sample = _sample([OBJECT])
    sample['gt_bboxes'] = sample['gt_bboxes'].numpy()
    results = _single_op('translate_x', 0.151, 1)(sample)
    assert isinstance(results['gt_bboxes'], np.ndarray)
    np.testing.assert_array_equal(results['gt_bboxes'], [[14, 20, 30, 30]])

    empty = _sample([])
    empty['gt_bboxes'] = HorizontalBoxes(torch.zeros((0, 4)))
    results = _single_op('rotate', 30.0)(empty)
    assert len(results['gt_bboxes']) == 0
    assert len(results['gt_bboxes_labels']) == 0


def test_builds_from_the_mmdet_registry():
    from mmdet.registry import TRANSFORMS

    transform = TRANSFORMS.build(dict(type='DetJDA', policy='imagenet'))
    assert isinstance(transform, DetJDA) and transform.prob == 0.2
    assert transform.has_geometric_ops


@pytest.mark.parametrize('kwargs,fragments', [
    (dict(policy=[dict(type='zoom', magnitude=1.0)], prob=0.5),
     ["'zoom'", 'policy[0]']),
    (dict(policy='cifar10', prob=1.5), ['prob', '1.5']),
    (dict(policy='coco'), ["'coco'"]),
    (dict(policy='cifar10', photometric_only='yes'),
     ['photometric_only', "'yes'"]),
    (dict(policy=[dict(type='rotate', magnitude=10.0),
                  dict(type='shear_x', magnitude=0.1)], prob=0.5,
          photometric_only=True), ['photometric_only', 'only geometric']),
])
def test_invalid_arguments_raise(kwargs, fragments):
    with pytest.raises(ValueError) as error:
        DetJDA(**kwargs)
    for fragment in fragments:
        assert fragment in str(error.value)


def test_masks_with_geometric_ops_raise():
    sample = _sample([OBJECT])
    sample['gt_masks'] = object()
    with pytest.raises(ValueError, match=r"\['gt_masks'\].*photometric_only"):
        DetJDA(policy='cifar10', prob=0.0)(sample)
    # without geometric ops, masks need no moving
    DetJDA(policy='cifar10', prob=1.0, photometric_only=True)(sample)


def test_mismatched_labels_raise():
    sample = _sample([OBJECT])
    sample['gt_bboxes_labels'] = np.zeros(2, np.int64)
    with pytest.raises(ValueError, match='gt_bboxes_labels.*2 entries'):
        _single_op('rotate', 10.0)(sample)


def test_non_uint8_image_raises():
    with pytest.raises(ValueError, match=r"DetJDA needs results\['img'\]"):
        DetJDA(policy='cifar10')(dict(img=np.zeros((4, 4, 3), np.float32)))
