"""JDA on the model's device: the augmented views' op chain, crop and flip.

:class:`~mmkd_ccd.datasets.transforms.DevicePairedViews` leaves the
augmented view of each image as the decoded image plus a plan (which JDA ops
fire with which sign, the crop/resize box and the flip, all drawn on the
CPU). :func:`finish_device_views`, called by
:class:`~mmkd_ccd.models.data_preprocessors.PairedDataPreprocessor` after
the batch reaches its device, executes the plans in the paper's order (Li,
Shao et al., ACCV 2022): the ops on each whole image, every op tried in
chain order with each image's own firing and sign, then the view's crop,
resize and flip. The ops are those of
:mod:`~mmkd_ccd.models.data_preprocessors.device_jda_ops`; the crop/resize
reproduces mmpretrain's ``RandomResizedCrop``/mmcv's ``Resize`` (cv2's
bilinear ``resize`` in its fixed-point arithmetic) and ``RandomCrop``'s
constant padding.

Images of different sizes are batched by sorting them by size into chunks
whose padding stays below :data:`MAX_PADDING` of their pixels; each op runs
once per chunk on the images that fire it.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from mmkd_ccd.datasets.transforms.device_paired_views import (PLAN_KEY,
                                                             describe_chain)
from mmkd_ccd.structures import AUGMENTED, PAIR_INDEX_KEY, VIEW_KEY
from .device_jda_ops import apply_device_op, host_to_device

#: A chunk of images padded to a common size may hold at most this fraction
#: of padding pixels (beyond that a new chunk starts).
MAX_PADDING = 0.25

# cv2's resize weights are fixed point with 11 fractional bits.
_COEF_BITS = 11
_COEF_SCALE = 1 << _COEF_BITS


def chunk_by_size(sizes: Sequence[Tuple[int, int]],
                  max_padding: float = MAX_PADDING) -> List[List[int]]:
    """Group images into chunks to pad to a common size.

    Images are sorted by (height, width); a chunk grows while padding all of
    its images to its largest height and width keeps the padding at most
    ``max_padding`` of the padded pixels.

    Args:
        sizes (Sequence[tuple[int, int]]): (h, w) of each image.
        max_padding (float): Largest fraction of padding pixels in a chunk.
            Defaults to :data:`MAX_PADDING`.

    Returns:
        list[list[int]]: Indices into ``sizes``, every index exactly once.
    """
    order = sorted(range(len(sizes)), key=lambda i: sizes[i])
    chunks: List[List[int]] = []
    height = width = area = 0
    for index in order:
        h, w = sizes[index]
        if chunks:
            new_h, new_w = max(height, h), max(width, w)
            padded = new_h * new_w * (len(chunks[-1]) + 1)
            if area + h * w >= (1 - max_padding) * padded:
                chunks[-1].append(index)
                height, width, area = new_h, new_w, area + h * w
                continue
        chunks.append([index])
        height, width, area = h, w, h * w
    return chunks


def resize_taps(start: int, length: int, out_length: int, flip: bool,
                limit: int,
                horizontal: bool) -> Tuple[np.ndarray, np.ndarray]:
    """Source taps and weights of cv2's bilinear resize along one axis.

    The view takes ``length`` source pixels from ``start`` (which may lie
    outside ``[0, limit)``: padding) and resizes them to ``out_length``
    with ``cv2.resize(..., interpolation=cv2.INTER_LINEAR)``'s coordinate
    mapping and 11-bit weights; ``flip`` reverses the output. cv2 zeroes
    the fraction of a column beyond the edge but only clamps a row.

    Returns:
        tuple[np.ndarray, np.ndarray]: (2, out_length) int64 source indices
        (-1 where the source is padding) and (2, out_length) int64 weights
        summing to 2048.
    """
    out = np.arange(out_length)
    if length == out_length:
        # cv2 copies a same-size image.
        first = out.copy()
        weights = np.stack([np.full(out_length, _COEF_SCALE),
                            np.zeros(out_length, np.int64)])
        second = first
    else:
        scale = 1.0 / (out_length / length)
        position = ((out + 0.5) * scale - 0.5).astype(np.float32)
        first = np.floor(position).astype(np.int64)
        frac = position - first.astype(np.float32)
        if horizontal:
            frac[(first < 0) | (first >= length - 1)] = 0
        second = np.clip(first + 1, 0, length - 1)
        first = np.clip(first, 0, length - 1)
        weights = np.stack([
            np.rint((np.float32(1) - frac) * np.float32(_COEF_SCALE)),
            np.rint(frac * np.float32(_COEF_SCALE))
        ]).astype(np.int64)
    taps = np.stack([first, second]) + start
    taps[(taps < 0) | (taps >= limit)] = -1
    if flip:
        taps, weights = taps[:, ::-1], weights[:, ::-1]
    return np.ascontiguousarray(taps), np.ascontiguousarray(weights)


def crop_resize_flip(images: Tensor, sizes: Sequence[Tuple[int, int]],
                     plans: Sequence[dict]) -> Tensor:
    """Each row's view: crop its box, resize bilinear as cv2, flip.

    Args:
        images (Tensor): (N, 3, H, W) uint8, row i valid in ``sizes[i]``.
        sizes (Sequence[tuple[int, int]]): (h, w) of each row.
        plans (Sequence[dict]): Each row's plan (``crop``, ``size``,
            ``flip``, ``pad_val``); every ``size`` must be equal.

    Returns:
        Tensor: (N, 3, h_out, w_out) uint8.
    """
    num, channels, _, width = images.shape
    tables = []
    for (h, w), plan in zip(sizes, plans):
        left, top, crop_w, crop_h = plan['crop']
        out_h, out_w = plan['size']
        flip_h, flip_v = plan['flip']
        tables.append(
            resize_taps(top, crop_h, out_h, flip_v, h, horizontal=False) +
            resize_taps(left, crop_w, out_w, flip_h, w, horizontal=True))
    out_h, out_w = plans[0]['size']
    device = images.device

    def stacked(part: int) -> Tensor:
        # Taps index (int64), weights multiply int32 pixels.
        return host_to_device(np.stack([t[part] for t in tables]),
                              torch.int32 if part % 2 else torch.long,
                              device)

    row_taps, row_weights, col_taps, col_weights = (stacked(i)
                                                    for i in range(4))
    pad_val = host_to_device([plan['pad_val'] for plan in plans],
                             torch.int32, device).view(num, 3, 1, 1)
    pixels = images.int()
    mixed = []
    for k in range(2):
        rows = row_taps[:, k].clamp(min=0).view(num, 1, out_h, 1)
        picked = pixels.gather(2, rows.expand(num, channels, out_h, width))
        cols = col_taps.clamp(min=0).view(num, 1, 1, 2 * out_w)
        picked = picked.gather(3, cols.expand(num, channels, out_h, -1))
        picked = picked.view(num, channels, out_h, 2, out_w)
        # cv2's horizontal pass, exact in integers.
        mixed.append(picked[:, :, :, 0] * col_weights[:, None, None, 0] +
                     picked[:, :, :, 1] * col_weights[:, None, None, 1])
    # cv2's vertical pass for 8-bit images (its SIMD kernel): products of
    # the 16-bit high halves, then a rounding shift by 2.
    beta = row_weights.view(num, 1, 2, out_h, 1)
    value = (((mixed[0] >> 4) * beta[:, :, 0]) >> 16) + \
        (((mixed[1] >> 4) * beta[:, :, 1]) >> 16)
    value = ((value + 2) >> 2).clamp(0, 255)
    padding = ((row_taps[:, 0] < 0)[:, :, None]
               | (col_taps[:, 0] < 0)[:, None, :])[:, None]
    return torch.where(padding, pad_val, value).to(torch.uint8)


def _check_plans(plans: Sequence[dict]) -> None:
    """Raise unless all plans share one op chain and channel order (the
    chain runs op by op over the whole batch)."""
    first = plans[0]
    for row, plan in enumerate(plans):
        if (plan['ops'] != first['ops']
                or plan['channel_order'] != first['channel_order']):
            raise ValueError(
                'device JDA: the augmented views of one batch must share one '
                f'JDA chain and channel order; view 0 has '
                f"{first['channel_order']} {first['ops']}, view {row} has "
                f"{plan['channel_order']} {plan['ops']}")


def run_chain(images: Tensor, sizes: Sequence[Tuple[int, int]],
              plans: Sequence[dict]) -> Tensor:
    """Apply each row's JDA chain to a padded chunk.

    Args:
        images (Tensor): (N, 3, H, W) uint8 RGB, row i valid in
            ``sizes[i]``.
        sizes (Sequence[tuple[int, int]]): (h, w) of each row.
        plans (Sequence[dict]): Each row's plan (``ops``, ``draws``).

    Returns:
        Tensor: (N, 3, H, W) uint8 RGB.
    """
    device = images.device
    for step, (name, magnitude) in enumerate(plans[0]['ops']):
        fired = [row for row, plan in enumerate(plans) if plan['draws'][step]]
        if not fired:
            continue
        signs = [plans[row]['draws'][step] for row in fired]
        if len(fired) == len(plans):
            images = apply_device_op(name, images, sizes, magnitude, signs)
            continue
        index = host_to_device(fired, torch.long, device)
        result = apply_device_op(name, images[index],
                                 [sizes[row] for row in fired], magnitude,
                                 signs)
        images = images.index_copy(0, index, result)
    return images


def finish_views(images: Sequence[Tensor],
                 plans: Sequence[dict],
                 max_padding: float = MAX_PADDING) -> List[Tensor]:
    """Execute the plans of augmented views on the images' device.

    Args:
        images (Sequence[Tensor]): (H_i, W_i, 3) uint8 decoded images in the
            plans' channel order, all on one device.
        plans (Sequence[dict]): One plan per image, as
            :class:`~mmkd_ccd.datasets.transforms.DevicePairedViews` writes
            them; all with the same ``ops`` and ``channel_order``.
        max_padding (float): Largest fraction of padding pixels in a chunk
            of images processed together (fewer, larger chunks launch fewer
            kernels). Defaults to :data:`MAX_PADDING`.

    Returns:
        list[Tensor]: The (3, h, w) uint8 views, same channel order.
    """
    _check_plans(plans)
    to_rgb = plans[0]['channel_order'] == 'bgr'
    sizes = [tuple(image.shape[:2]) for image in images]
    views: List[Optional[Tensor]] = [None] * len(images)
    for chunk in chunk_by_size(sizes, max_padding):
        height = max(sizes[i][0] for i in chunk)
        width = max(sizes[i][1] for i in chunk)
        padded = images[chunk[0]].new_zeros((len(chunk), 3, height, width))
        for row, i in enumerate(chunk):
            padded[row, :, :sizes[i][0], :sizes[i][1]] = images[i].permute(
                2, 0, 1)
        chunk_sizes = [sizes[i] for i in chunk]
        chunk_plans = [plans[i] for i in chunk]
        if to_rgb:
            padded = padded.flip(1)
        padded = run_chain(padded, chunk_sizes, chunk_plans)
        if to_rgb:
            padded = padded.flip(1)
        by_size: Dict[tuple, List[int]] = {}
        for row, plan in enumerate(chunk_plans):
            by_size.setdefault(tuple(plan['size']), []).append(row)
        for rows in by_size.values():
            group = padded
            if len(rows) < len(chunk):
                group = padded[host_to_device(rows, torch.long,
                                              padded.device)]
            out = crop_resize_flip(group, [chunk_sizes[r] for r in rows],
                                   [chunk_plans[r] for r in rows])
            for row, view in zip(rows, out):
                views[chunk[row]] = view
    return views


def finish_device_views(data: dict) -> dict:
    """Finish the augmented views that the pipeline left to the device.

    Called by ``PairedDataPreprocessor`` on a flattened batch already on its
    device. Rows whose data sample has ``view == 'augmented'`` and a
    ``device_jda`` plan get their view computed by :func:`finish_views` and
    the fired ops recorded as ``jda_ops`` metainfo; all other rows (the
    original views, and every row of a CPU-JDA batch) are left as they are.

    Args:
        data (dict): ``inputs`` (list of image tensors: (3, H, W) views, and
            (H, W, 3) decoded images where a plan is to be executed) and
            ``data_samples`` (one per input).

    Returns:
        dict: ``data`` with the finished views in ``inputs``.
    """
    samples = data['data_samples']
    rows = []
    for row, sample in enumerate(samples):
        if sample.metainfo.get(VIEW_KEY) != AUGMENTED:
            continue
        if PLAN_KEY in sample.metainfo:
            rows.append(row)
            continue
        original = data['inputs'][sample.metainfo[PAIR_INDEX_KEY]]
        if data['inputs'][row].shape != original.shape:
            raise ValueError(
                f'the augmented view of image {sample.metainfo[PAIR_INDEX_KEY]}'
                f' has shape {tuple(data["inputs"][row].shape)}, its original '
                f'view {tuple(original.shape)}, and it carries no '
                f'{PLAN_KEY!r} plan: with DevicePairedViews in the pipeline, '
                f"PackInputs must list {PLAN_KEY!r} in meta_keys")
    if not rows:
        return data
    plans = [samples[row].metainfo[PLAN_KEY] for row in rows]
    views = finish_views([data['inputs'][row] for row in rows], plans)
    inputs = list(data['inputs'])
    for row, view, plan in zip(rows, views, plans):
        inputs[row] = view
        samples[row].set_metainfo(
            dict(jda_ops=describe_chain(plan['ops'], plan['draws'])))
    return dict(data, inputs=inputs)


def finish_view_array(image: np.ndarray, plan: dict) -> np.ndarray:
    """One augmented view computed on the CPU, for tools that show views.

    Args:
        image (Tensor | np.ndarray): (H, W, 3) uint8 decoded image in the
            plan's channel order (``results['img'][1]`` of
            ``DevicePairedViews``).
        plan (dict): Its ``device_jda`` plan.

    Returns:
        np.ndarray: (h, w, 3) uint8 view, same channel order.
    """
    view = finish_views([torch.as_tensor(image)], [plan])[0]
    return view.permute(1, 2, 0).numpy()
