"""Box-aware JDA for mmdet pipelines.

:class:`DetJDA` is :class:`~mmkd_ccd.datasets.transforms.jda.JDA` (same op
table, policies, probability and validation) that also moves
``results['gt_bboxes']`` with every geometric op it applies, so that the
boxes still frame their objects in the augmented image.

Each geometric op of :data:`~mmkd_ccd.datasets.transforms.jda.OPS` is a PIL
affine warp; :data:`GEOMETRIC_OPS` holds its *forward* map (where an input
point ends up) as a 3x3 matrix in mmdet's box coordinates, where pixel ``i``
spans ``[i, i + 1)``. PIL samples the output pixel centred at
``(x + 0.5, y + 0.5)`` from the input point ``A @ (x + 0.5, y + 0.5, 1)``,
``A`` being the coefficients it is given, so in those coordinates the
forward map is exactly ``inv(A)``:

- ``shear_x(s)``: PIL ``A = (1, s, 0, 0, 1, 0)``: ``x' = x - s * y``;
- ``shear_y(s)``: ``y' = y - s * x``;
- ``translate_x(t)``: PIL samples ``x + t * W``, so the content moves *left*
  by ``t * W``; with nearest resampling it moves by the whole number of
  pixels ``floor(t * W + 0.5)``, which is what the box moves by;
- ``rotate(m)``: counter-clockwise on screen by ``m`` degrees about the
  image centre ``(W / 2, H / 2)``.

mmdet's own box-aware ``Rotate``/``ShearX``/``TranslateX``/... are not
reused: their image side is mmcv's cv2 warp, which differs from the PIL
ops JDA is defined by (``Rotate`` turns *clockwise* for a positive angle,
about ``((W - 1) / 2, (H - 1) / 2)``; ``ShearX(m)`` is PIL's ``shear_x(-m)``;
``TranslateX(t)`` moves the content *right*, truncating ``t * W`` to an
int; all of them round the magnitude to one decimal first; and cv2
resamples differently, see ``jda_ops.py``). Their box side,
``HorizontalBoxes.project_`` + ``clip_`` + ``is_inside`` (as in mmdet's
``RandomAffine``), is what :class:`DetJDA` uses, with the matrices above.
"""
from typing import Callable, Dict, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmdet.structures.bbox import autocast_box_type

from mmkd_ccd.registry import TRANSFORMS
from .jda import JDA

#: ``matrix(magnitude, sign, height, width)`` -> (3, 3) float32 forward map.
MatrixFunc = Callable[[float, int, int, int], np.ndarray]


def _rotate_matrix(magnitude: float, sign: int, height: int,
                   width: int) -> np.ndarray:
    # cv2's positive angle is counter-clockwise on screen, like PIL's; it is
    # also ``HorizontalBoxes.rotate_((W / 2, H / 2), -magnitude)``, whose
    # positive angle means clockwise.
    affine = cv2.getRotationMatrix2D((width / 2, height / 2), magnitude, 1.0)
    return np.vstack([affine, [0, 0, 1]]).astype(np.float32)


def _shear_x_matrix(magnitude: float, sign: int, height: int,
                    width: int) -> np.ndarray:
    return np.array([[1, -sign * magnitude, 0], [0, 1, 0], [0, 0, 1]],
                    np.float32)


def _shear_y_matrix(magnitude: float, sign: int, height: int,
                    width: int) -> np.ndarray:
    return np.array([[1, 0, 0], [-sign * magnitude, 1, 0], [0, 0, 1]],
                    np.float32)


def _pixel_shift(offset: float) -> float:
    """Whole pixels the content moves when PIL's nearest resampling samples
    ``offset`` pixels away: the content moves by minus the rounded offset."""
    return -float(np.floor(offset + 0.5))


def _translate_x_matrix(magnitude: float, sign: int, height: int,
                        width: int) -> np.ndarray:
    shift = _pixel_shift(sign * magnitude * width)
    return np.array([[1, 0, shift], [0, 1, 0], [0, 0, 1]], np.float32)


def _translate_y_matrix(magnitude: float, sign: int, height: int,
                        width: int) -> np.ndarray:
    shift = _pixel_shift(sign * magnitude * height)
    return np.array([[1, 0, 0], [0, 1, shift], [0, 0, 1]], np.float32)


#: The geometric ops of :data:`OPS` and their forward maps on box corners.
GEOMETRIC_OPS: Dict[str, MatrixFunc] = {
    'rotate': _rotate_matrix,
    'shear_x': _shear_x_matrix,
    'shear_y': _shear_y_matrix,
    'translate_x': _translate_x_matrix,
    'translate_y': _translate_y_matrix,
}

#: Annotations that a geometric op would have to warp and DetJDA does not.
_UNSUPPORTED_KEYS = ('gt_masks', 'gt_seg_map', 'gt_keypoints')

#: Per-box arrays that are filtered together with ``gt_bboxes``.
_PER_BOX_KEYS = ('gt_bboxes_labels', 'gt_ignore_flags')


@TRANSFORMS.register_module()
class DetJDA(JDA):
    """Joint Data Augmentation for detection: :class:`JDA` with boxes.

    From Li, Shao et al., "What Role Does Data Augmentation Play in Knowledge
    Distillation?", ACCV 2022. Same policies, op conventions, probability and
    randomness as :class:`JDA` (for the same seed and policy, the same ops
    fire with the same signs). Photometric ops leave the boxes alone; each
    geometric op ('rotate', 'shear_x', 'shear_y', 'translate_x',
    'translate_y') maps the four corners of every box with the op's forward
    map (:data:`GEOMETRIC_OPS`), takes their bounding box, clips it to the
    image and drops boxes left with no area inside the image, together with
    their ``gt_bboxes_labels`` and ``gt_ignore_flags`` (as mmdet's
    ``RandomAffine`` does). The image size does not change.

    Use it after ``LoadAnnotations`` and before ``Resize``. With
    ``photometric_only=True`` the geometric ops are left out of the chain,
    so two views of an image stay pixel-aligned (what a dense, per-location
    distillation of detector heads needs).

    Required keys: ``img`` ((H, W, 3) uint8); optional ``gt_bboxes``
    (``HorizontalBoxes`` or an (N, 4) array), ``gt_bboxes_labels``,
    ``gt_ignore_flags``. Modified keys: ``img``, ``gt_bboxes``,
    ``gt_bboxes_labels``, ``gt_ignore_flags``, ``homography_matrix`` (when a
    geometric op fires; composed with an earlier one, like mmdet's geometric
    transforms). Added keys: ``jda_ops`` (see :class:`JDA`).

    Args:
        policy (str | Sequence[dict]): As in :class:`JDA`. Defaults to
            'imagenet'.
        prob (float, optional): As in :class:`JDA`. Defaults to None.
        channel_order (str): As in :class:`JDA`. Defaults to 'bgr'.
        photometric_only (bool): Leave the geometric ops out of the policy.
            Defaults to False.
    """

    def __init__(self,
                 policy: Union[str, Sequence[dict]] = 'imagenet',
                 prob: Optional[float] = None,
                 channel_order: str = 'bgr',
                 photometric_only: bool = False) -> None:
        super().__init__(policy=policy, prob=prob, channel_order=channel_order)
        if not isinstance(photometric_only, bool):
            raise ValueError('DetJDA photometric_only must be True or False, '
                             f'got {photometric_only!r}')
        self.photometric_only = photometric_only
        if photometric_only:
            self.ops = tuple((name, magnitude) for name, magnitude in self.ops
                             if name not in GEOMETRIC_OPS)
            if not self.ops:
                raise ValueError(
                    f'DetJDA policy {self.policy_name!r} has only geometric '
                    'ops, so photometric_only=True leaves nothing to apply')

    @property
    def has_geometric_ops(self) -> bool:
        """Whether any op of the chain can move the boxes."""
        return any(name in GEOMETRIC_OPS for name, _ in self.ops)

    @autocast_box_type()
    def transform(self, results: dict) -> dict:
        """Apply the op chain to ``results['img']`` and its boxes.

        Args:
            results (dict): Needs ``img``, a (H, W, 3) uint8 array in
                ``channel_order``; may hold ``gt_bboxes``,
                ``gt_bboxes_labels`` and ``gt_ignore_flags``.

        Returns:
            dict: ``results`` with the augmented ``img`` (same channel order
            and size), the moved and filtered boxes, and ``jda_ops``.
        """
        if self.has_geometric_ops:
            # Checked on every call, not only when a geometric op fires, so
            # that the error does not depend on the random draws.
            present = [key for key in _UNSUPPORTED_KEYS if key in results]
            if present:
                raise ValueError(
                    f'DetJDA moves only boxes, but results has {present}; '
                    'use photometric_only=True or a policy without '
                    f'{sorted(GEOMETRIC_OPS)}')
        # JDA's chain, with the same draws in the same order, so that DetJDA
        # and JDA agree on which ops fire for one seed.
        return super().transform(results)

    def _after_op(self, results: dict, name: str, magnitude: Optional[float],
                  sign: int, image_shape: Tuple[int, int]) -> None:
        if name in GEOMETRIC_OPS:
            height, width = image_shape
            self._move_boxes(
                results, GEOMETRIC_OPS[name](magnitude, sign, height, width),
                (height, width))

    @staticmethod
    def _move_boxes(results: dict, matrix: np.ndarray,
                    img_shape: Tuple[int, int]) -> None:
        """Map the boxes with ``matrix``, clip them to ``img_shape`` (H, W)
        and drop those with no area left inside the image."""
        previous = results.get('homography_matrix')
        results['homography_matrix'] = (
            matrix if previous is None else matrix @ previous)
        boxes = results.get('gt_bboxes')
        if boxes is None:
            return
        boxes.project_(matrix)
        boxes.clip_(img_shape)
        # After clipping, a box that left the image is flat on its border.
        keep = boxes.is_inside(img_shape).numpy()
        results['gt_bboxes'] = boxes[keep]
        for key in _PER_BOX_KEYS:
            if results.get(key) is not None:
                if len(results[key]) != len(keep):
                    raise ValueError(
                        f'DetJDA: results[{key!r}] has {len(results[key])} '
                        f'entries but gt_bboxes has {len(keep)}')
                results[key] = results[key][keep]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(policy={self.policy_name!r}, '
                f'num_ops={len(self.ops)}, prob={self.prob}, '
                f'channel_order={self.channel_order!r}, '
                f'photometric_only={self.photometric_only})')
