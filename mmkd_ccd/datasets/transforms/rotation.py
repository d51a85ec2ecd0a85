"""Single rotation: SSKD / HSAKD's augmented view, to compare with JDA.

Li, Shao et al., "What Role Does Data Augmentation Play in Knowledge
Distillation?", ACCV 2022, compare JDA with the 4-way ``rot90`` rotation that
SSKD (Xu et al., ECCV 2020) and HSAKD (Yang et al., IJCAI 2021) use as their
extra view (the paper's analysis a). Used as
``PairedViews(augment=[dict(type='SingleRotation')])`` it replaces the JDA
chain by one rotation, everything else unchanged.
"""
from __future__ import annotations

import numbers
from typing import Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from mmkd_ccd.registry import TRANSFORMS

#: Annotations a rotated image would leave misaligned; this transform only
#: serves classification, so it refuses them rather than ignoring them.
GEOMETRIC_KEYS = ('gt_bboxes', 'gt_masks', 'gt_seg_map', 'gt_keypoints')


def _parse_angles(angles: Sequence[int]) -> Tuple[int, ...]:
    if isinstance(angles, (str, bytes)) or not isinstance(angles, Sequence):
        raise ValueError('SingleRotation angles must be a sequence of '
                         f'multiples of 90 in [0, 360), got {angles!r}')
    if len(angles) == 0:
        raise ValueError('SingleRotation angles is empty; give at least one '
                         'of 0, 90, 180, 270')
    parsed = []
    for angle in angles:
        valid = (isinstance(angle, numbers.Real)
                 and not isinstance(angle, bool) and angle == int(angle)
                 and int(angle) % 90 == 0 and 0 <= angle < 360)
        if not valid:
            raise ValueError(f'SingleRotation angle {angle!r} is not one of '
                             '0, 90, 180, 270 (multiples of 90 in [0, 360))')
        parsed.append(int(angle))
    if len(set(parsed)) != len(parsed):
        # A repeated angle would silently make it more likely than the others.
        raise ValueError(f'SingleRotation angles {tuple(angles)!r} repeat an '
                         'angle; each angle is drawn with equal probability')
    return tuple(parsed)


@TRANSFORMS.register_module()
class SingleRotation(BaseTransform):
    """Rotate the image counter-clockwise by a random multiple of 90 degrees.

    The "single rotation" augmented view of the paper's analysis (a), after
    SSKD / HSAKD. Those methods feed all four rotations (0, 90, 180, 270) of
    an image; as the *augmented view* of a pair a 0 degree rotation would be
    the original view again (no augmentation), so the default draws from
    (90, 180, 270) only. ``angles=(0, 90, 180, 270)`` gives the full 4-way
    draw. Rotation is lossless (``np.rot90``): no interpolation, no fill, and
    a non-square (H, W) image becomes (W, H) for 90 and 270 degrees.

    The angle is drawn uniformly from ``angles`` with numpy's global RNG,
    like :class:`~mmkd_ccd.datasets.transforms.JDA`, so mmengine's
    ``randomness`` seed and per-worker reseeding apply.

    Required keys: ``img`` ((H, W) or (H, W, C) array).
    Modified keys: ``img``, ``img_shape``. The label is kept.
    Added keys: ``jda_ops``, ``['rot90(k)']`` with k the number of quarter
    turns (0..3), in the place where JDA records its fired ops, so
    :class:`~mmkd_ccd.datasets.transforms.PairedViews` reports it alike.

    Args:
        angles (Sequence[int]): Angles in degrees to draw from, multiples of
            90 in [0, 360), no repeats. Defaults to (90, 180, 270).
    """

    def __init__(self, angles: Sequence[int] = (90, 180, 270)) -> None:
        self.angles = _parse_angles(angles)

    def transform(self, results: dict) -> dict:
        """Rotate ``results['img']``.

        Args:
            results (dict): Needs ``img``, an (H, W) or (H, W, C) array.

        Returns:
            dict: ``results`` with the rotated ``img``, its ``img_shape`` and
            ``jda_ops``.
        """
        img = results['img']
        if not isinstance(img, np.ndarray) or img.ndim not in (2, 3):
            raise ValueError(
                "SingleRotation needs results['img'] as an (H, W) or "
                f'(H, W, C) array, got {type(img).__name__} of shape '
                f'{getattr(img, "shape", None)}')
        present = [key for key in GEOMETRIC_KEYS if key in results]
        if present:
            raise ValueError(f'SingleRotation does not rotate {present}; it '
                             'is a classification transform')
        quarter_turns = self.angles[np.random.randint(len(self.angles))] // 90
        # np.rot90 returns a negative-stride view; torch.from_numpy in the
        # packing transform needs a contiguous array.
        results['img'] = np.ascontiguousarray(np.rot90(img, quarter_turns))
        results['img_shape'] = results['img'].shape[:2]
        results['jda_ops'] = [f'rot90({quarter_turns})']
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(angles={self.angles})'
