import numpy as np
import pytest
from mmengine.registry import TRANSFORMS

import mmkd_ccd  # noqa: F401
from mmkd_ccd.datasets.transforms import SingleRotation


def results(height: int = 6, width: int = 10, seed: int = 0) -> dict:
    img = np.random.default_rng(seed).integers(0, 256, (height, width, 3),
                                               np.uint8)
    return dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2],
                gt_label=3)


@pytest.mark.parametrize('angle', [0, 90, 180, 270])
def test_rotation_is_np_rot90_counter_clockwise(angle):
    data = results()
    original = data['img'].copy()
    out = SingleRotation(angles=(angle, ))(data)
    expected = np.rot90(original, angle // 90)
    np.testing.assert_array_equal(out['img'], expected)
    assert out['img'].flags['C_CONTIGUOUS']
    assert out['jda_ops'] == [f'rot90({angle // 90})']
    if angle == 90:
        # Counter-clockwise: the top-right pixel moves to the top-left.
        np.testing.assert_array_equal(out['img'][0, 0], original[0, -1])


def test_default_draws_only_real_rotations_uniformly():
    np.random.seed(0)
    rotate = TRANSFORMS.build(dict(type='SingleRotation'))
    seen = [rotate(results())['jda_ops'][0] for _ in range(300)]
    counts = {op: seen.count(op) for op in set(seen)}
    assert set(counts) == {'rot90(1)', 'rot90(2)', 'rot90(3)'}
    assert min(counts.values()) > 60  # ~100 each


def test_four_way_rotation_includes_identity():
    np.random.seed(0)
    rotate = SingleRotation(angles=(0, 90, 180, 270))
    seen = {rotate(results())['jda_ops'][0] for _ in range(200)}
    assert seen == {'rot90(0)', 'rot90(1)', 'rot90(2)', 'rot90(3)'}


@pytest.mark.parametrize('angle,shape', [(90, (10, 6, 3)), (180, (6, 10, 3)),
                                         (270, (10, 6, 3))])
def test_non_square_image_shape_and_label(angle, shape):
    out = SingleRotation(angles=(angle, ))(results(height=6, width=10))
    assert out['img'].shape == shape
    assert out['img_shape'] == shape[:2]
    assert out['ori_shape'] == (6, 10)
    assert out['gt_label'] == 3


def test_greyscale_image():
    img = np.arange(12, dtype=np.uint8).reshape(3, 4)
    out = SingleRotation(angles=(90, ))(dict(img=img))
    np.testing.assert_array_equal(out['img'], np.rot90(img))


def test_drop_in_for_jda_inside_paired_views():
    views = TRANSFORMS.build(
        dict(type='PairedViews',
             view_pipeline=[dict(type='mmpretrain.CenterCrop', crop_size=6)],
             augment=[dict(type='SingleRotation', angles=(180, ))]))
    data = results(height=6, width=6)
    original, augmented = views(data)['img']
    np.testing.assert_array_equal(augmented, np.rot90(original, 2))
    assert views(results(height=6, width=6))['jda_ops'] == ['rot90(2)']


@pytest.mark.parametrize('angles', [(), (45, ), (90, 360), (-90, ), (True, ),
                                    (90, 90), ('90', ), 90, (90.5, )])
def test_bad_angles_are_rejected_at_init(angles):
    with pytest.raises(ValueError, match='angle'):
        SingleRotation(angles=angles)


def test_bad_angle_error_names_the_value():
    with pytest.raises(ValueError, match='45'):
        SingleRotation(angles=(90, 45))


def test_bad_inputs():
    rotate = SingleRotation()
    with pytest.raises(ValueError, match="results\\['img'\\]"):
        rotate(dict(img=np.zeros((2, 2, 2, 3), np.uint8)))
    data = results()
    data['gt_bboxes'] = np.zeros((1, 4), np.float32)
    with pytest.raises(ValueError, match='gt_bboxes'):
        rotate(data)
