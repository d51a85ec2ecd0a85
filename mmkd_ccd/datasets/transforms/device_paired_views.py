"""Paired views whose augmented view is finished on the model's device."""
from __future__ import annotations

import numbers
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmcv.transforms import BaseTransform, Compose, RandomFlip, Resize
from mmpretrain.datasets.transforms import RandomCrop, RandomResizedCrop

from mmkd_ccd.registry import TRANSFORMS
from .jda import JDA, OPS, describe_op

#: Results key (and data-sample metainfo key, through ``PackInputs``'
#: ``meta_keys``) of the plan the device executes.
PLAN_KEY = 'device_jda'

_SIZING = (RandomResizedCrop, RandomCrop, Resize)


def draw_chain(ops: Sequence[Tuple[str, Optional[float]]],
               prob: float) -> Tuple[int, ...]:
    """Draw which ops of a JDA chain fire, and their signs.

    The draws of :class:`~mmkd_ccd.datasets.transforms.JDA`, in its order:
    one ``np.random.rand()`` per op decides whether it fires (``< prob``); a
    signed op that fires takes a second draw for its sign (``< 0.5``: -1).

    Returns:
        tuple[int]: One entry per op: 0 (not fired), +1 or -1 (fired, with
        that sign; unsigned ops fire with +1).
    """
    draws = []
    for name, _ in ops:
        if np.random.rand() >= prob:
            draws.append(0)
            continue
        sign = 1
        if OPS[name].signed and np.random.rand() < 0.5:
            sign = -1
        draws.append(sign)
    return tuple(draws)


def describe_chain(ops: Sequence[Tuple[str, Optional[float]]],
                   draws: Sequence[int]) -> List[str]:
    """The fired ops as :class:`JDA` records them in ``jda_ops``."""
    return [
        describe_op(name, magnitude, sign)
        for (name, magnitude), sign in zip(ops, draws) if sign
    ]


def _padding(transform: RandomCrop) -> Tuple[int, int, int, int]:
    """(left, top, right, bottom) padding of mmpretrain's RandomCrop, as
    ``mmcv.impad`` reads its ``padding``."""
    padding = transform.padding
    if padding is None:
        return (0, 0, 0, 0)
    if isinstance(padding, numbers.Integral):
        return (padding, ) * 4
    if len(padding) == 2:
        return (padding[0], padding[1], padding[0], padding[1])
    return tuple(padding)


def _check_view_step(index: int, transform: object, seen_sizing: bool) -> None:
    """Raise unless the device can replay ``transform`` at this position."""
    where = f'DevicePairedViews: view_pipeline[{index}]'
    name = type(transform).__name__
    if type(transform) is RandomFlip:
        return
    if type(transform) not in _SIZING:
        raise ValueError(
            f'{where} is {name}, which the device cannot replay; supported: '
            'one of RandomResizedCrop, RandomCrop, Resize, then any '
            'RandomFlip. Use PairedViews (the CPU chain) for other view '
            'pipelines.')
    if seen_sizing:
        raise ValueError(f'{where} is a second crop/resize ({name}); the '
                         'device replays one crop/resize per view')
    if getattr(transform, 'interpolation', 'bilinear') != 'bilinear' or \
            getattr(transform, 'backend', 'cv2') != 'cv2':
        raise ValueError(
            f"{where} ({name}) must use interpolation='bilinear' and "
            f"backend='cv2' (got {transform.interpolation!r}, "
            f'{transform.backend!r}): the device resizes as cv2 does')
    if type(transform) is Resize and (transform.keep_ratio
                                      or transform.scale is None):
        raise ValueError(f'{where}: Resize must have a fixed scale and '
                         'keep_ratio=False to be replayed on the device')
    if type(transform) is RandomCrop:
        if transform.pad_if_needed:
            raise ValueError(f'{where}: RandomCrop(pad_if_needed=True) is '
                             'not supported on the device')
        pad_val = transform.pad_val
        if not isinstance(pad_val, numbers.Real) and len(pad_val) != 3:
            raise ValueError(f'{where}: RandomCrop pad_val must be a number '
                             f'or 3 numbers, got {pad_val!r}')


@TRANSFORMS.register_module()
class DevicePairedViews(BaseTransform):
    """Original view on the CPU; augmented view's JDA chain on the device.

    The opt-in fast path of JDA (Li, Shao et al., ACCV 2022): like
    :class:`PairedViews` with ``augment=[dict(type='JDA', ...)]``, in the
    paper's order (JDA's ops on the whole decoded image, then the augmented
    view's own crop and flip), but the data-loading CPU only draws the
    randomness. The original view is ``view_pipeline`` applied here, as in
    :class:`PairedViews`. For the augmented view this transform draws which
    ops fire and their signs (the draws of :class:`JDA`), then the crop and
    flip of ``view_pipeline`` (with the same transforms' own random
    methods), and ships the decoded image with that plan;
    :class:`~mmkd_ccd.models.data_preprocessors.PairedDataPreprocessor`
    executes it on the batch's device
    (:mod:`~mmkd_ccd.models.data_preprocessors.device_jda`). With the same
    seed both transforms draw the same numbers in the same order, so they
    fire the same ops and crops.

    ``view_pipeline`` may hold one of mmpretrain's ``RandomResizedCrop``,
    ``RandomCrop`` (constant padding) or mmcv's ``Resize`` (fixed scale),
    bilinear with the cv2 backend, followed by any ``RandomFlip``; anything
    else is refused here, naming the transform.

    Required keys: ``img`` ((H, W, 3) uint8, in ``JDA``'s ``channel_order``).
    Modified keys: ``img`` (``[original view, decoded image]``, the decoded
    image as an (H, W, 3) uint8 tensor sharing the array's memory, which
    ``PackInputs`` passes through: the device turns it channel-first, not
    the data-loading CPU), ``img_shape`` and the view pipeline's keys (from
    the original view).
    Added keys: ``jda_ops`` (as :class:`JDA`) and ``device_jda`` (the plan;
    ``PackInputs`` must keep it: list it in ``meta_keys``).

    Args:
        view_pipeline (list[dict]): The ordinary train pipeline applied to
            both views, starting after image loading, stopping before
            packing.
        augment (list[dict]): Exactly one ``JDA`` transform config.
    """

    def __init__(self, view_pipeline: List[dict], augment: List[dict]) -> None:
        if not isinstance(view_pipeline, (list, tuple)):
            raise TypeError('DevicePairedViews: view_pipeline must be a list '
                            f'of transform configs, got {type(view_pipeline)}')
        if not isinstance(augment, (list, tuple)) or len(augment) != 1:
            raise ValueError('DevicePairedViews: augment must be a list of '
                             "exactly one dict(type='JDA', ...), got "
                             f'{augment!r}')
        jda = TRANSFORMS.build(augment[0]) if isinstance(
            augment[0], dict) else augment[0]
        if type(jda) is not JDA:
            raise ValueError(
                'DevicePairedViews: augment[0] must be JDA, got '
                f'{type(jda).__name__}; only the JDA chain runs on the device')
        self.jda = jda
        self.original_pipeline = Compose(list(view_pipeline))
        seen_sizing = False
        for index, transform in enumerate(self.original_pipeline.transforms):
            _check_view_step(index, transform, seen_sizing)
            if type(transform) is RandomFlip and not seen_sizing and any(
                    type(t) in _SIZING
                    for t in self.original_pipeline.transforms[index:]):
                raise ValueError(
                    f'DevicePairedViews: view_pipeline[{index}] flips before '
                    'the crop/resize; put RandomFlip after it')
            seen_sizing = seen_sizing or type(transform) in _SIZING

    def transform(self, results: dict) -> Optional[dict]:
        image = results['img']
        if (not isinstance(image, np.ndarray) or image.dtype != np.uint8
                or image.ndim != 3 or image.shape[2] != 3):
            raise ValueError(
                "DevicePairedViews needs results['img'] as an (H, W, 3) uint8 "
                f'array, got {getattr(image, "dtype", type(image))} of shape '
                f'{getattr(image, "shape", None)}')
        # The view pipeline's transforms replace keys rather than mutate
        # values, so a shallow copy keeps ``results`` intact.
        original = self.original_pipeline(dict(results))
        if original is None:
            return None
        draws = draw_chain(self.jda.ops, self.jda.prob)
        plan = dict(
            ops=self.jda.ops,
            draws=draws,
            channel_order=self.jda.channel_order,
            **self._draw_view(image))
        original['img'] = [
            original['img'],
            torch.from_numpy(np.ascontiguousarray(image))
        ]
        original['jda_ops'] = describe_chain(self.jda.ops, draws)
        original[PLAN_KEY] = plan
        return original

    def _draw_view(self, image: np.ndarray) -> dict:
        """Draw the augmented view's crop/resize and flip with the view
        pipeline's own transforms.

        Returns:
            dict: ``crop`` (x, y, w, h) box in the decoded image (it may
            reach beyond it: padding), ``size`` (h, w) of the view,
            ``flip`` (horizontal, vertical) and ``pad_val`` (3 numbers in
            the image's channel order).
        """
        height, width = image.shape[:2]
        crop = (0, 0, width, height)
        size = (height, width)
        pad_val: Tuple[float, ...] = (0, 0, 0)
        flip_h = flip_v = False
        for transform in self.original_pipeline.transforms:
            kind = type(transform)
            if kind is RandomResizedCrop:
                top, left, crop_h, crop_w = transform.rand_crop_params(image)
                crop = (left, top, crop_w, crop_h)
                size = tuple(transform.scale)
            elif kind is RandomCrop:
                left, top, right, bottom = _padding(transform)
                # Only the padded image's shape is read.
                padded = np.broadcast_to(
                    np.uint8(0), (height + top + bottom, width + left + right))
                off_h, off_w, crop_h, crop_w = transform.rand_crop_params(
                    padded)
                crop = (off_w - left, off_h - top, crop_w, crop_h)
                size = (crop_h, crop_w)
                value = transform.pad_val
                pad_val = ((value, ) * 3 if isinstance(value, numbers.Real)
                           else tuple(value))
            elif kind is Resize:
                size = (transform.scale[1], transform.scale[0])
            else:
                direction = transform._choose_direction()
                flip_h ^= direction in ('horizontal', 'diagonal')
                flip_v ^= direction in ('vertical', 'diagonal')
        return dict(
            crop=tuple(int(v) for v in crop),
            size=tuple(int(v) for v in size),
            flip=(bool(flip_h), bool(flip_v)),
            pad_val=tuple(float(v) for v in pad_val))

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(original='
                f'{self.original_pipeline}, augment={self.jda})')
