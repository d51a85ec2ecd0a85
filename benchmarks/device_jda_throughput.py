"""Throughput of JDA on the model's device, against the CPU data path.

Usage:
    python benchmarks/device_jda_throughput.py [--seconds 2] [--rounds 3]
        [--batch 256] [--devices cpu cuda] [--out FILE]

Measured in one run, on real photos (scikit-learn's ``china.jpg`` and
``flower.jpg`` saved as JPEG files at ImageNet's usual sizes, 333-500 x
375-640), one process, one thread:

- *plain view*: LoadImageFromFile + RandomResizedCrop(224) + RandomFlip +
  PackInputs, the cost of an ordinary single-view sample;
- *CPU chain*: LoadImageFromFile + PairedViews(JDA 'imagenet') +
  PackInputs, the paper recipe's paired sample;
- *device path, CPU side*: LoadImageFromFile + DevicePairedViews +
  PackInputs, what the data-loading CPUs do when JDA runs on the device;
- *device path, device side*: ``finish_views`` (the ImageNet chain at
  p = 0.2, then crop, resize and flip) on a batch of ``--batch`` decoded
  images, on each device of ``--devices`` (CUDA rows only when present).

The CPU rows are measured in ``--rounds`` interleaved rounds and each keeps
its best round, so that other processes on the machine bias them alike.
Every CPU-side figure is printed in images/s and as its cost relative to a
plain view (1.0 = as cheap as one plain view); the device side in ms per
batch and images/s. The functions :func:`pipeline_rate` and
:func:`device_side_rate` are the building blocks other benchmarks reuse.
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import sys
import tempfile
import time
from typing import Callable, List, Sequence

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmcv.transforms import Compose  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from sklearn.datasets import load_sample_image  # noqa: E402

import mmkd_ccd  # noqa: E402,F401
from mmkd_ccd.datasets.transforms.device_paired_views import (  # noqa: E402
    PLAN_KEY)
from mmkd_ccd.models.data_preprocessors.device_jda import (  # noqa: E402
    MAX_PADDING, finish_views)

#: (height, width) of the benchmark photos: the common ImageNet shapes.
SIZES = ((427, 640), (375, 500), (500, 375), (333, 500), (500, 333))

VIEW = [
    dict(type='RandomResizedCrop', scale=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
]
JDA = [dict(type='JDA', policy='imagenet', prob=0.2)]
PACK = dict(
    type='PackInputs',
    meta_keys=('sample_idx', 'img_path', 'ori_shape', 'img_shape', 'flip',
               'flip_direction', 'jda_ops', PLAN_KEY))

PIPELINES = {
    'plain view': [dict(type='LoadImageFromFile'), *VIEW, PACK],
    'CPU chain (PairedViews + JDA)': [
        dict(type='LoadImageFromFile'),
        dict(type='PairedViews', view_pipeline=VIEW, augment=JDA), PACK
    ],
    'device path, CPU side (DevicePairedViews)': [
        dict(type='LoadImageFromFile'),
        dict(type='DevicePairedViews', view_pipeline=VIEW, augment=JDA), PACK
    ],
}


def write_photos(folder: str) -> List[str]:
    """JPEG files of the two photos at each of :data:`SIZES`."""
    paths = []
    for name in ('china.jpg', 'flower.jpg'):
        photo = load_sample_image(name)[..., ::-1]
        for height, width in SIZES:
            path = osp.join(folder, f'{name[:-4]}_{height}x{width}.jpg')
            cv2.imwrite(path, cv2.resize(photo, (width, height),
                                         interpolation=cv2.INTER_AREA),
                        [cv2.IMWRITE_JPEG_QUALITY, 95])
            paths.append(path)
    return paths


def timed_rate(step: Callable[[int], None], seconds: float) -> float:
    """Calls of ``step(i)`` per second over about ``seconds`` (after one
    warm-up call)."""
    step(0)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        count += 1
        step(count)
    return count / (time.perf_counter() - start)


def pipeline_rate(pipeline: Sequence[dict], paths: Sequence[str],
                  seconds: float) -> float:
    """Samples per second of ``pipeline`` on files ``paths`` (in turn)."""
    compose = Compose(list(pipeline))
    np.random.seed(0)

    def step(i: int) -> None:
        compose(dict(img_path=paths[i % len(paths)], sample_idx=i))

    return timed_rate(step, seconds)


def device_batch(paths: Sequence[str], batch: int) -> tuple:
    """``batch`` decoded images (3, H, W) and their plans, as
    DevicePairedViews ships them."""
    compose = Compose(PIPELINES['device path, CPU side (DevicePairedViews)'])
    np.random.seed(0)
    images, plans = [], []
    for i in range(batch):
        packed = compose(dict(img_path=paths[i % len(paths)], sample_idx=i))
        images.append(packed['inputs'][1])
        plans.append(packed['data_samples'].metainfo[PLAN_KEY])
    return images, plans


def device_side_rate(images: Sequence[torch.Tensor], plans: Sequence[dict],
                     device: str, seconds: float,
                     max_padding: float = MAX_PADDING) -> float:
    """Batches per second of :func:`finish_views` on ``device`` (images
    already there; one warm-up and at least one timed batch)."""
    on_device = [image.to(device) for image in images]
    sync = torch.cuda.synchronize if device.startswith('cuda') else (
        lambda: None)

    def step(i: int) -> None:
        finish_views(on_device, plans, max_padding)
        sync()

    return timed_rate(step, seconds)


def main(argv=None) -> List[str]:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seconds', type=float, default=2.0,
                        help='time per row and round (default: 2)')
    parser.add_argument('--rounds', type=int, default=3,
                        help='interleaved rounds of the CPU rows, best '
                        'kept; 0: device rows only (default: 3)')
    parser.add_argument('--batch', type=int, default=256,
                        help='images per device batch (default: 256)')
    parser.add_argument('--devices', nargs='+', default=['cpu', 'cuda'],
                        help='devices of the device-side rows; CUDA is '
                        'skipped with a message when absent')
    parser.add_argument('--max-padding', type=float, default=MAX_PADDING,
                        help='padding fraction allowed in a chunk of the '
                        f'device side (default: {MAX_PADDING})')
    parser.add_argument('--out', help='also write the lines to this file')
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    init_default_scope('mmpretrain')
    lines = [f'{len(SIZES) * 2} real photos, 333-500 x 375-640 px, one '
             'process, one thread; JDA policy imagenet, p = 0.2' +
             (f'; CPU rows: best of {args.rounds} rounds of {args.seconds:g}'
              ' s' if args.rounds else '')]
    with tempfile.TemporaryDirectory() as folder:
        paths = write_photos(folder)
        rates = {name: 0.0 for name in PIPELINES}
        for _ in range(args.rounds):
            for name, pipeline in PIPELINES.items():
                rates[name] = max(rates[name],
                                  pipeline_rate(pipeline, paths,
                                                args.seconds))
        for name, rate in rates.items():
            if args.rounds:
                lines.append(f'{name:45s} {rate:8.1f} images/s  cost '
                             f'{rates["plain view"] / rate:5.2f}x a plain '
                             'view')
        images, plans = device_batch(paths, args.batch)
    fired = sum(bool(d) for p in plans for d in p['draws']) / len(plans)
    for device in args.devices:
        if device.startswith('cuda') and not torch.cuda.is_available():
            lines.append(f'device path, device side ({device}): skipped, '
                         'no CUDA device')
            continue
        rate = device_side_rate(images, plans, device, args.seconds,
                                args.max_padding)
        lines.append(
            f'device path, device side ({device}), batch {args.batch}, '
            f'{fired:.1f} ops/image, max padding {args.max_padding:g}: '
            f'{1000 / rate:9.1f} ms/batch {rate * args.batch:8.1f} images/s')
    print('\n'.join(lines))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'a') as f:
            f.write('\n'.join(lines) + '\n')
    return lines


if __name__ == '__main__':
    main()
