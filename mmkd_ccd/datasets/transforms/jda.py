"""JDA — Joint Data Augmentation (Li, Shao et al., ACCV 2022).

The augmented view of an image is made by a chain of photometric and
geometric ops applied to the decoded image. The ops live in
:mod:`.jda_ops` (:data:`OPS`, :func:`apply_op`), pixel-exact with the
reference's PIL ops; a policy is plain data: an ordered list of ``(op name,
magnitude)`` pairs (:data:`POLICIES`).
"""
import numbers
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform

from mmkd_ccd.registry import TRANSFORMS
from .jda_ops import FILL_RGB, OPS, Op, Step, apply_op, run_chain

__all__ = ['FILL_RGB', 'JDA', 'OPS', 'Op', 'POLICIES', 'Policy', 'apply_op']


class Policy(NamedTuple):
    """A built-in JDA policy: default firing probability and ordered ops."""
    prob: float
    ops: Tuple[Tuple[str, Optional[float]], ...]


# The reference code draws every magnitude as bin k (0..9) of ten evenly
# spaced values: shear 0.3 * k / 9, translate 150 / 331 * k / 9 of the side,
# rotate 30 * k / 9 degrees, enhance 0.9 * k / 9, solarize threshold
# 256 - 256 * k / 9, posterize round(8 - 4 * k / 9) bits. The policies hold
# those exact values (rounded ones move pixels: rotating a photo by 26.7
# degrees instead of 26.666... changes ~9% of them).

#: The reference policies of the paper, in chain order.
POLICIES: Dict[str, Policy] = {
    'imagenet': Policy(0.2, (
        ('posterize', round(8 - 4 * 8 / 9)),
        ('solarize', 256 - 256 * 5 / 9),
        ('equalize', None),
        ('posterize', round(8 - 4 * 7 / 9)),
        ('equalize', None),
        ('equalize', None),
        ('solarize', 256 - 256 * 3 / 9),
        ('posterize', round(8 - 4 * 5 / 9)),
        ('rotate', 30 * 3 / 9),
        ('equalize', None),
        ('rotate', 30 * 8 / 9),
        ('rotate', 30 * 9 / 9),
        ('equalize', None),
        ('invert', None),
        ('color', 0.9 * 4 / 9),
        ('rotate', 30 * 8 / 9),
        ('color', 0.9 * 8 / 9),
        ('sharpness', 0.9 * 7 / 9),
        ('shear_x', 0.3 * 5 / 9),
        ('color', 0.9 * 0 / 9),
        ('equalize', None),
        ('solarize', 256 - 256 * 5 / 9),
        ('invert', None),
        ('color', 0.9 * 4 / 9),
        ('equalize', None),
    )),
    'cifar100': Policy(0.3, (
        ('autocontrast', None),
        ('contrast', 0.9 * 3 / 9),
        ('posterize', round(8 - 4 * 0 / 9)),
        ('solarize', 256 - 256 * 4 / 9),
        ('translate_y', 150 / 331 * 8 / 9),
        ('shear_x', 0.3 * 5 / 9),
        ('brightness', 0.9 * 3 / 9),
        ('shear_y', 0.3 * 0 / 9),
        ('translate_x', 150 / 331 * 1 / 9),
        ('sharpness', 0.9 * 5 / 9),
        ('invert', None),
        ('color', 0.9 * 4 / 9),
        ('equalize', None),
        ('rotate', 30 * 3 / 9),
    )),
    'cifar10': Policy(0.5, (
        ('invert', None),
        ('rotate', 30 * 2 / 9),
        ('shear_y', 0.3 * 8 / 9),
        ('posterize', round(8 - 4 * 9 / 9)),
        ('autocontrast', None),
        ('color', 0.9 * 3 / 9),
        ('sharpness', 0.9 * 9 / 9),
        ('equalize', None),
        ('contrast', 0.9 * 7 / 9),
        ('translate_y', 150 / 331 * 3 / 9),
        ('brightness', 0.9 * 6 / 9),
        ('solarize', 256 - 256 * 2 / 9),
        ('translate_x', 150 / 331 * 3 / 9),
        ('shear_x', 0.3 * 8 / 9),
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


def describe_op(name: str, magnitude: Optional[float], sign: int) -> str:
    """How a fired op is recorded in ``jda_ops``: ``'equalize'``, or the
    magnitude with its sign, e.g. ``'shear_x(-0.166667)'``."""
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
      one rather than ignore it;
    - every op gives exactly the pixels of the reference's PIL op, and the
      built-in policies hold the reference's exact magnitudes.

    The chain converts the image once, and merges each run of point ops that
    fire next to each other into one lookup table (see :mod:`.jda_ops`).

    Randomness comes from numpy's global RNG (like mmcv's own random
    transforms), which mmengine's ``randomness=dict(seed=...)`` seeds and its
    ``worker_init_fn`` reseeds per dataloader worker and rank. One draw
    decides whether an op fires; a signed op that fires takes a second draw
    for its sign.

    Required keys: ``img`` ((H, W, 3) uint8). Modified keys: ``img``.
    Added keys: ``jda_ops``, the fired ops in chain order as strings such as
    ``'rotate(10)'`` or ``'shear_x(-0.166667)'`` (magnitude with the drawn
    sign, 6 significant digits).

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
        if not (isinstance(prob, numbers.Real) and not isinstance(prob, bool)
                and 0 <= prob <= 1):
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
        # All draws first, in the documented order; then the pixels, so the
        # chain can merge the point ops that fired next to each other.
        steps: List[Step] = []
        for name, magnitude in self.ops:
            if np.random.rand() >= self.prob:
                continue
            sign = 1
            if OPS[name].signed and np.random.rand() < 0.5:
                sign = -1
            steps.append((name, magnitude, sign))
            self._after_op(results, name, magnitude, sign, img.shape[:2])
        results['img'] = run_chain(img, steps, self.channel_order)
        results['jda_ops'] = [describe_op(*step) for step in steps]
        return results

    def _after_op(self, results: dict, name: str, magnitude: Optional[float],
                  sign: int, image_shape: Tuple[int, int]) -> None:
        """Called for each op that fires, in chain order, with the image
        shape before the chain (no op changes it); subclasses update
        annotations here (see ``DetJDA``)."""

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(policy={self.policy_name!r}, '
                f'num_ops={len(self.ops)}, prob={self.prob}, '
                f'channel_order={self.channel_order!r})')
