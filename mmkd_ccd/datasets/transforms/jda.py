"""JDA — Joint Data Augmentation (Li, Shao et al., ACCV 2022).

The augmented view of an image is made by a chain of photometric and
geometric ops applied to the decoded image. Each op is a small function
``op(img_rgb, magnitude, sign) -> img_rgb`` in :data:`OPS`; a policy is plain
data: an ordered list of ``(op name, magnitude)`` pairs (:data:`POLICIES`).
"""
import numbers
from typing import (Callable, Dict, List, NamedTuple, Optional, Sequence,
                    Tuple, Union)

import numpy as np
from mmcv.image import auto_contrast, imequalize, iminvert, posterize, solarize
from mmcv.transforms import BaseTransform
from PIL import Image, ImageEnhance

from mmkd_ccd.registry import TRANSFORMS

#: Fill colour of the area a geometric op uncovers, as in the reference.
FILL_RGB = (128, 128, 128)

OpFunc = Callable[[np.ndarray, Optional[float], int], np.ndarray]

# The LUT ops reuse mmcv: they build the same per-channel lookup tables as
# PIL's ImageOps, pixel for pixel (tests/datasets/transforms/test_jda.py).


def _autocontrast(img: np.ndarray, magnitude: Optional[float],
                  sign: int) -> np.ndarray:
    return auto_contrast(img)


def _equalize(img: np.ndarray, magnitude: Optional[float],
              sign: int) -> np.ndarray:
    return imequalize(img)


def _invert(img: np.ndarray, magnitude: Optional[float],
            sign: int) -> np.ndarray:
    return iminvert(img)


def _posterize(img: np.ndarray, magnitude: int, sign: int) -> np.ndarray:
    return posterize(img, magnitude)


def _solarize(img: np.ndarray, magnitude: float, sign: int) -> np.ndarray:
    return solarize(img, magnitude)


def _enhance(enhancer: type) -> OpFunc:
    # PIL itself: mmcv's cv2 versions are off by 1 (float32 blend, cv2's grey
    # conversion) and its sharpness also filters the 1-pixel border that PIL
    # leaves alone; mmcv's 'pillow' backend expects BGR input.
    def op(img: np.ndarray, magnitude: float, sign: int) -> np.ndarray:
        pil = enhancer(Image.fromarray(img)).enhance(1 + sign * magnitude)
        return np.array(pil)

    return op


def _affine(img: np.ndarray, coeffs: Tuple[float, ...],
            resample: Image.Resampling) -> np.ndarray:
    # PIL itself: cv2.warpAffine (behind mmcv.imshear/imtranslate) takes the
    # inverse matrix, samples at integer positions instead of pixel centres,
    # quantises coordinates to 1/1024 px and has another bicubic kernel.
    height, width = img.shape[:2]
    pil = Image.fromarray(img).transform((width, height),
                                         Image.Transform.AFFINE,
                                         coeffs,
                                         resample,
                                         fillcolor=FILL_RGB)
    return np.array(pil)


def _rotate(img: np.ndarray, magnitude: float, sign: int) -> np.ndarray:
    # PIL itself: mmcv.imrotate (cv2) picks other nearest pixels for 8-17% of
    # the image at 10-30 degrees. With nearest resampling, a grey fillcolor
    # equals the reference's RGBA composite onto grey.
    pil = Image.fromarray(img).rotate(
        magnitude, resample=Image.Resampling.NEAREST, fillcolor=FILL_RGB)
    return np.array(pil)


def _shear_x(img: np.ndarray, magnitude: float, sign: int) -> np.ndarray:
    return _affine(img, (1, sign * magnitude, 0, 0, 1, 0),
                   Image.Resampling.BICUBIC)


def _shear_y(img: np.ndarray, magnitude: float, sign: int) -> np.ndarray:
    return _affine(img, (1, 0, 0, sign * magnitude, 1, 0),
                   Image.Resampling.BICUBIC)


def _translate_x(img: np.ndarray, magnitude: float, sign: int) -> np.ndarray:
    offset = sign * magnitude * img.shape[1]
    return _affine(img, (1, 0, offset, 0, 1, 0), Image.Resampling.NEAREST)


def _translate_y(img: np.ndarray, magnitude: float, sign: int) -> np.ndarray:
    offset = sign * magnitude * img.shape[0]
    return _affine(img, (1, 0, 0, 0, 1, offset), Image.Resampling.NEAREST)


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_bits(value: object) -> bool:
    return (isinstance(value, numbers.Integral)
            and not isinstance(value, bool) and 1 <= value <= 8)


def _is_threshold(value: object) -> bool:
    return _is_real(value) and 0 <= value <= 256


def _is_unit(value: object) -> bool:
    return _is_real(value) and 0 <= value <= 1


def _is_angle(value: object) -> bool:
    return _is_real(value) and 0 <= value < 360


class Op(NamedTuple):
    """One entry of :data:`OPS`.

    Attributes:
        func: ``func(img_rgb, magnitude, sign)``; deterministic, HxWx3 uint8
            RGB in and out.
        signed: Whether the transform draws a random sign (+1/-1) for the
            magnitude; unsigned ops always get ``sign=1``.
        allowed: Human-readable magnitude range, or None for ops that take no
            magnitude.
        is_valid: Predicate for a magnitude; None for ops that take none.
    """
    func: OpFunc
    signed: bool
    allowed: Optional[str]
    is_valid: Optional[Callable[[object], bool]]


_UNIT = 'a number in [0, 1]'

#: Every JDA op by name. Enhance ops use factor ``1 + sign * m``; shear and
#: translate use ``sign * m`` (translate: a fraction of width/height); rotate
#: is always counter-clockwise by ``m`` degrees.
OPS: Dict[str, Op] = {
    'autocontrast': Op(_autocontrast, False, None, None),
    'equalize': Op(_equalize, False, None, None),
    'invert': Op(_invert, False, None, None),
    'posterize': Op(_posterize, False, 'an int in [1, 8] (bits)', _is_bits),
    'solarize': Op(_solarize, False, 'a number in [0, 256]', _is_threshold),
    'color': Op(_enhance(ImageEnhance.Color), True, _UNIT, _is_unit),
    'contrast': Op(_enhance(ImageEnhance.Contrast), True, _UNIT, _is_unit),
    'brightness': Op(_enhance(ImageEnhance.Brightness), True, _UNIT, _is_unit),
    'sharpness': Op(_enhance(ImageEnhance.Sharpness), True, _UNIT, _is_unit),
    'rotate': Op(_rotate, False, 'a number in [0, 360) (degrees)', _is_angle),
    'shear_x': Op(_shear_x, True, _UNIT, _is_unit),
    'shear_y': Op(_shear_y, True, _UNIT, _is_unit),
    'translate_x': Op(_translate_x, True, _UNIT + ' (fraction of width)',
                      _is_unit),
    'translate_y': Op(_translate_y, True, _UNIT + ' (fraction of height)',
                      _is_unit),
}


def apply_op(name: str, img_rgb: np.ndarray, magnitude: Optional[float] = None,
             sign: int = 1) -> np.ndarray:
    """Apply one JDA op deterministically.

    Args:
        name (str): A key of :data:`OPS`.
        img_rgb (np.ndarray): (H, W, 3) uint8 image in RGB order.
        magnitude (float, optional): The op's magnitude; None for
            'autocontrast', 'equalize' and 'invert'. Defaults to None.
        sign (int): +1 or -1, the sign of the magnitude for signed ops;
            ignored by unsigned ones. Defaults to 1.

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB image.
    """
    if name not in OPS:
        raise ValueError(f'Unknown JDA op {name!r}; allowed: {sorted(OPS)}')
    if sign not in (1, -1):
        raise ValueError(f'sign must be +1 or -1, got {sign!r}')
    return OPS[name].func(img_rgb, magnitude, sign)


class Policy(NamedTuple):
    """A built-in JDA policy: default firing probability and ordered ops."""
    prob: float
    ops: Tuple[Tuple[str, Optional[float]], ...]


#: The reference policies of the paper (SPEC §1.1), in chain order.
POLICIES: Dict[str, Policy] = {
    'imagenet': Policy(0.2, (
        ('posterize', 4), ('solarize', 113.8), ('equalize', None),
        ('posterize', 5), ('equalize', None), ('equalize', None),
        ('solarize', 170.7), ('posterize', 6), ('rotate', 10.0),
        ('equalize', None), ('rotate', 26.7), ('rotate', 30.0),
        ('equalize', None), ('invert', None), ('color', 0.4),
        ('rotate', 26.7), ('color', 0.8), ('sharpness', 0.7),
        ('shear_x', 0.167), ('color', 0.0), ('equalize', None),
        ('solarize', 113.8), ('invert', None), ('color', 0.4),
        ('equalize', None),
    )),
    'cifar100': Policy(0.3, (
        ('autocontrast', None), ('contrast', 0.3), ('posterize', 8),
        ('solarize', 142.2), ('translate_y', 0.403), ('shear_x', 0.167),
        ('brightness', 0.3), ('shear_y', 0.0), ('translate_x', 0.050),
        ('sharpness', 0.5), ('invert', None), ('color', 0.4),
        ('equalize', None), ('rotate', 10.0),
    )),
    'cifar10': Policy(0.5, (
        ('invert', None), ('rotate', 6.67), ('shear_y', 0.267),
        ('posterize', 4), ('autocontrast', None), ('color', 0.3),
        ('sharpness', 0.9), ('equalize', None), ('contrast', 0.7),
        ('translate_y', 0.151), ('brightness', 0.6), ('solarize', 199.1),
        ('translate_x', 0.151), ('shear_x', 0.267),
    )),
}


def _parse_op(index: int, op_cfg: object) -> Tuple[str, Optional[float]]:
    """Check one user op dict and return it as ``(name, magnitude)``."""
    if not isinstance(op_cfg, dict):
        raise ValueError(f'JDA policy[{index}] must be a dict like '
                         "dict(type='rotate', magnitude=10.0), got "
                         f'{op_cfg!r}')
    if 'type' not in op_cfg:
        raise ValueError(f"JDA policy[{index}] = {op_cfg!r} has no 'type' key")
    unknown_keys = set(op_cfg) - {'type', 'magnitude'}
    if unknown_keys:
        raise ValueError(f'JDA policy[{index}] has unknown keys '
                         f"{sorted(unknown_keys)}; allowed: ['magnitude', "
                         "'type']")
    name = op_cfg['type']
    if name not in OPS:
        raise ValueError(f'Unknown JDA op {name!r} at policy[{index}]; '
                         f'allowed: {sorted(OPS)}')
    magnitude = op_cfg.get('magnitude')
    op = OPS[name]
    if op.is_valid is None:
        if magnitude is not None:
            raise ValueError(f'JDA op {name!r} at policy[{index}] takes no '
                             f'magnitude, got {magnitude!r}')
    elif not op.is_valid(magnitude):
        raise ValueError(f'JDA op {name!r} at policy[{index}]: magnitude '
                         f'{magnitude!r} is not {op.allowed}')
    return name, magnitude


def _describe(name: str, magnitude: Optional[float], sign: int) -> str:
    if magnitude is None:
        return name
    return f'{name}({sign * magnitude:g})'


@TRANSFORMS.register_module()
class JDA(BaseTransform):
    """Joint Data Augmentation: the op chain that makes the augmented view.

    From Li, Shao et al., "What Role Does Data Augmentation Play in Knowledge
    Distillation?", ACCV 2022. Every op of the policy is tried in order and
    fires independently with probability ``prob`` (unlike AutoAugment, which
    picks one sub-policy).

    Conventions (those of the paper's reference code):

    - ops work on RGB: the image is converted from ``channel_order`` to RGB
      before the chain and back after it, so colour ops keep PIL's
      ImageEnhance meaning (luminance weights) on mmcv's BGR images;
    - enhance ops ('color', 'contrast', 'brightness', 'sharpness') use the
      factor ``1 ± m``, shear uses ``±m`` and translate ``±m·W`` / ``±m·H``,
      each sign drawn at random; rotate is always counter-clockwise by ``m``
      degrees;
    - geometric ops fill uncovered pixels with grey (128, 128, 128); shear
      resamples bicubic, rotate and translate nearest;
    - ops without a magnitude ('autocontrast', 'equalize', 'invert') reject
      one rather than ignore it.

    Randomness comes from numpy's global RNG (like mmcv's own random
    transforms), which mmengine's ``randomness=dict(seed=...)`` seeds and its
    ``worker_init_fn`` reseeds per dataloader worker and rank. One draw
    decides whether an op fires; a signed op that fires takes a second draw
    for its sign.

    Required keys: ``img`` ((H, W, 3) uint8). Modified keys: ``img``.
    Added keys: ``jda_ops``, the fired ops in chain order as strings such as
    ``'rotate(10)'`` or ``'shear_x(-0.167)'`` (magnitude with the drawn sign).

    Args:
        policy (str | Sequence[dict]): A built-in policy name ('imagenet',
            'cifar100', 'cifar10'; see :data:`POLICIES`) or an ordered list
            of op dicts such as ``dict(type='rotate', magnitude=10.0)`` with
            ``type`` a key of :data:`OPS`. Defaults to 'imagenet'.
        prob (float, optional): Probability in [0, 1] with which each op
            fires. None takes the built-in policy's own (0.2 for 'imagenet',
            0.3 for 'cifar100', 0.5 for 'cifar10'); required for a list
            policy. Defaults to None.
        channel_order (str): Channel order of ``results['img']``, 'bgr'
            (mmcv's decoding) or 'rgb'. Defaults to 'bgr'.
    """

    def __init__(self,
                 policy: Union[str, Sequence[dict]] = 'imagenet',
                 prob: Optional[float] = None,
                 channel_order: str = 'bgr') -> None:
        if isinstance(policy, str):
            if policy not in POLICIES:
                raise ValueError(f'Unknown JDA policy {policy!r}; allowed: '
                                 f'{sorted(POLICIES)} or a list of op dicts')
            self.policy_name = policy
            self.ops = POLICIES[policy].ops
            if prob is None:
                prob = POLICIES[policy].prob
        elif isinstance(policy, Sequence):
            if not policy:
                raise ValueError('JDA policy is an empty list; give at least '
                                 'one op dict')
            if prob is None:
                raise ValueError('JDA prob is required when policy is a list '
                                 'of op dicts; give a number in [0, 1]')
            self.policy_name = 'custom'
            self.ops = tuple(
                _parse_op(i, op_cfg) for i, op_cfg in enumerate(policy))
        else:
            raise ValueError('JDA policy must be a policy name '
                             f'{sorted(POLICIES)} or a list of op dicts, got '
                             f'{policy!r}')
        if not (_is_real(prob) and 0 <= prob <= 1):
            raise ValueError(f'JDA prob must be a number in [0, 1], got '
                             f'{prob!r}')
        if channel_order not in ('bgr', 'rgb'):
            raise ValueError(f"JDA channel_order must be 'bgr' or 'rgb', got "
                             f'{channel_order!r}')
        self.prob = float(prob)
        self.channel_order = channel_order

    def transform(self, results: dict) -> dict:
        """Apply the op chain to ``results['img']``.

        Args:
            results (dict): Needs ``img``, a (H, W, 3) uint8 array in
                ``channel_order``.

        Returns:
            dict: ``results`` with the augmented ``img`` (same channel order)
            and ``jda_ops``.
        """
        img = results['img']
        if (not isinstance(img, np.ndarray) or img.dtype != np.uint8
                or img.ndim != 3 or img.shape[2] != 3):
            raise ValueError(
                f"{type(self).__name__} needs results['img'] as an (H, W, 3) "
                f'uint8 array, got {getattr(img, "dtype", type(img))} of '
                f'shape {getattr(img, "shape", None)}')
        to_rgb = self.channel_order == 'bgr'
        rgb = img[..., ::-1] if to_rgb else img
        fired: List[str] = []
        for name, magnitude in self.ops:
            if np.random.rand() >= self.prob:
                continue
            sign = 1
            if OPS[name].signed and np.random.rand() < 0.5:
                sign = -1
            rgb = OPS[name].func(rgb, magnitude, sign)
            self._after_op(results, name, magnitude, sign, img.shape[:2])
            fired.append(_describe(name, magnitude, sign))
        results['img'] = np.ascontiguousarray(
            rgb[..., ::-1] if to_rgb else rgb)
        results['jda_ops'] = fired
        return results

    def _after_op(self, results: dict, name: str, magnitude: Optional[float],
                  sign: int, image_shape: Tuple[int, int]) -> None:
        """Called after each op that fired, with the image shape before the
        chain; subclasses update annotations here (see ``DetJDA``)."""

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(policy={self.policy_name!r}, '
                f'num_ops={len(self.ops)}, prob={self.prob}, '
                f'channel_order={self.channel_order!r})')
