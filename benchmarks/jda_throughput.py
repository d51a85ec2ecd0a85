"""Images per second of the JDA data path against the reference code's.

Usage:
    python benchmarks/jda_throughput.py [--images 1000] [--size 224]
        [--batch 256] [--devices cpu cuda] [--max-padding 0.25]
        [--out FILE]

Times, in one process on one thread (OpenCV and torch fixed to 1), the
train pipeline per image file of real photos (scikit-learn's ``china.jpg``
and ``flower.jpg``, written as JPEG files at 427x640 and at four more of
ImageNet's usual sizes, 333-500 x 375-640):

- *plain view*: LoadImageFromFile + the paper recipe's view pipeline
  (RandomResizedCrop + RandomFlip) + PackInputs, one view;
- *paired, CPU chain*: the paper recipe's train pipeline
  (configs/_base_/jda_imagenet.py): LoadImageFromFile + PairedViews(JDA
  'imagenet' at p = 0.2 on the decoded image, then crop + flip for each
  view) + PackInputs;
- *reference style*: the paper's reference code, written out below: PIL
  decode, its PIL op chain (every op tried with p = 0.2, its per-op PIL calls
  and random signs, its RGBA-composite rotate), then torchvision
  RandomResizedCrop + RandomHorizontalFlip for each of the two views. Each
  view ends as a uint8 CHW tensor (PILToTensor), as PackInputs gives, so
  both sides leave normalisation to the batch;
- *device path, CPU side*: the same recipe with JDA on the model's device
  (``jda_device_train_pipeline``): LoadImageFromFile +
  DevicePairedViews (the original view; for the augmented view only the
  draws of the chain, crop and flip) + PackInputs;
- *device path, device side*: what ``PairedDataPreprocessor`` then does on
  the batch's device -- the chain on the full images, crop, resize, flip --
  for a batch of ``--batch`` images made by the row above, on each device of
  ``--devices`` (CUDA only when present), by wall time per batch.

Every row is printed as images/s -- by the process's CPU time, i.e. per
core, which stays meaningful when other jobs share the cores, and by wall
time -- and as ratios to the reference style and to the plain view. The
rows take turns image by image (each with its own random streams), so that
a change in the machine's load hits them alike. More rows (another data
path) are one more entry of ``PIPELINES``.
"""
from __future__ import annotations

import argparse
import os.path as osp
import random
import tempfile
import time
from typing import Callable, Dict, List, NamedTuple, Sequence, Tuple

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from PIL import Image, ImageEnhance, ImageOps
from sklearn.datasets import load_sample_image
from torchvision import transforms as tv

import mmkd_ccd  # noqa: F401
from mmkd_ccd.datasets.transforms.device_paired_views import (
    PLAN_KEY)
from mmkd_ccd.datasets.transforms.jda import POLICIES
from mmkd_ccd.models.data_preprocessors.device_jda import (
    MAX_PADDING, finish_views)

JDA_BASE = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs', '_base_',
    'jda_imagenet.py')

# ---------------------------------------------------------------------------
# The reference style: the official code's ops, each drawing its own sign.


def _random_sign() -> int:
    return random.choice([-1, 1])


def _ref_shear(img: Image.Image, coeffs: tuple) -> Image.Image:
    return img.transform(img.size, Image.AFFINE, coeffs, Image.BICUBIC,
                         fillcolor=(128, 128, 128))


def _ref_translate(img: Image.Image, coeffs: tuple) -> Image.Image:
    return img.transform(img.size, Image.AFFINE, coeffs,
                         fillcolor=(128, 128, 128))


def _ref_rotate(img: Image.Image, magnitude: float) -> Image.Image:
    turned = img.convert('RGBA').rotate(magnitude)
    grey = Image.new('RGBA', turned.size, (128, ) * 4)
    return Image.composite(turned, grey, turned).convert(img.mode)


def _ref_enhance(enhancer: type) -> Callable[[Image.Image, float],
                                             Image.Image]:
    return lambda img, m: enhancer(img).enhance(1 + m * _random_sign())


REFERENCE_OPS = {
    'shear_x': lambda img, m: _ref_shear(img, (1, m * _random_sign(), 0, 0,
                                               1, 0)),
    'shear_y': lambda img, m: _ref_shear(img, (1, 0, 0, m * _random_sign(),
                                               1, 0)),
    'translate_x': lambda img, m: _ref_translate(
        img, (1, 0, m * img.size[0] * _random_sign(), 0, 1, 0)),
    'translate_y': lambda img, m: _ref_translate(
        img, (1, 0, 0, 0, 1, m * img.size[1] * _random_sign())),
    'rotate': _ref_rotate,
    'color': _ref_enhance(ImageEnhance.Color),
    'contrast': _ref_enhance(ImageEnhance.Contrast),
    'sharpness': _ref_enhance(ImageEnhance.Sharpness),
    'brightness': _ref_enhance(ImageEnhance.Brightness),
    'posterize': ImageOps.posterize,
    'solarize': ImageOps.solarize,
    'autocontrast': lambda img, m: ImageOps.autocontrast(img),
    'equalize': lambda img, m: ImageOps.equalize(img),
    'invert': lambda img, m: ImageOps.invert(img),
}


def reference_style(size: int) -> Callable[[str], object]:
    """One two-view sample per image file, as the reference code makes it."""
    policy = POLICIES['imagenet']
    view = tv.Compose([
        tv.RandomResizedCrop(size),
        tv.RandomHorizontalFlip(),
        tv.PILToTensor()
    ])

    def sample(path: str) -> object:
        with open(path, 'rb') as file:
            img = Image.open(file).convert('RGB')
        augmented = img
        for name, magnitude in policy.ops:
            if random.random() < policy.prob:
                augmented = REFERENCE_OPS[name](augmented, magnitude)
        return torch.stack([view(img), view(augmented)])

    return sample


# ---------------------------------------------------------------------------
# This project's pipelines, from the paper recipe's config.


def _mmpretrain_pipeline(cfgs: List[dict]) -> Callable[[str], object]:
    from mmcv.transforms import Compose
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        pipeline = Compose(cfgs)
    return lambda path: pipeline(dict(img_path=path))


def _recipe(size: int) -> Config:
    cfg = Config.fromfile(JDA_BASE)
    for transform in cfg.jda_view_pipeline:
        if transform['type'] == 'RandomResizedCrop':
            transform['scale'] = size
    return cfg


def plain_view(size: int) -> Callable[[str], object]:
    cfg = _recipe(size)
    return _mmpretrain_pipeline([dict(type='LoadImageFromFile')] +
                                list(cfg.jda_view_pipeline) +
                                [dict(type='PackInputs')])


def _paired(size: int, key: str) -> Callable[[str], object]:
    """The recipe's train pipeline ``key``, its views cropped to ``size``."""
    cfg = _recipe(size)
    pipeline = [dict(t) for t in cfg[key]]
    for transform in pipeline:
        if 'view_pipeline' in transform:
            transform['view_pipeline'] = list(cfg.jda_view_pipeline)
    return _mmpretrain_pipeline(pipeline)


def paired_cpu_chain(size: int) -> Callable[[str], object]:
    return _paired(size, 'jda_train_pipeline')


def device_cpu_side(size: int) -> Callable[[str], object]:
    return _paired(size, 'jda_device_train_pipeline')


# ---------------------------------------------------------------------------
# Timing and the table.


class Pipeline(NamedTuple):
    """A row: ``make(size)`` returns a function of one image file path;
    ``images_per_call`` is how many images one call processes."""
    name: str
    make: Callable[[int], Callable[[str], object]]
    images_per_call: int = 1


PLAIN, PAIRED, REFERENCE = 'plain view', 'paired, CPU chain', 'reference style'
DEVICE_CPU_SIDE = 'device path, CPU side'

PIPELINES: List[Pipeline] = [
    Pipeline(PLAIN, plain_view),
    Pipeline(PAIRED, paired_cpu_chain),
    Pipeline(REFERENCE, reference_style),
    Pipeline(DEVICE_CPU_SIDE, device_cpu_side),
]

#: (height, width) of the photo files: 427x640 and ImageNet's usual shapes.
SIZES = ((427, 640), (375, 500), (500, 375), (333, 500), (500, 333))


def photo_files(folder: str) -> List[str]:
    """scikit-learn's two photos as JPEG files at each of :data:`SIZES`."""
    paths = []
    for name in ('china.jpg', 'flower.jpg'):
        photo = Image.fromarray(load_sample_image(name))
        for height, width in SIZES:
            path = osp.join(folder, f'{name[:-4]}_{height}x{width}.jpg')
            photo.resize((width, height), Image.BILINEAR).save(path,
                                                               quality=95)
            paths.append(path)
    return paths


class Timing(NamedTuple):
    """Seconds per image: process CPU time (what a dataloader worker costs
    on its core, even when other jobs share the cores) and wall time."""
    cpu: float
    wall: float


class _Randomness:
    """The random, numpy and torch generator states of one row, so that the
    rows can take turns without drawing from each other's streams."""

    def __init__(self, seed: int) -> None:
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        self.save()

    def save(self) -> None:
        self.states = (random.getstate(), np.random.get_state(),
                       torch.get_rng_state())

    def restore(self) -> None:
        random.setstate(self.states[0])
        np.random.set_state(self.states[1])
        torch.set_rng_state(self.states[2])


def time_rows(rows: Dict[str, Pipeline], calls: Dict[str, Callable],
              paths: List[str], images: int) -> Dict[str, Timing]:
    """Time every row on ``images`` images, the rows taking turns call by
    call so that a change in the machine's load hits them alike."""
    randomness = {name: _Randomness(0) for name in rows}
    cpu = dict.fromkeys(rows, 0.0)
    wall = dict.fromkeys(rows, 0.0)
    turns = {name: -(-images // row.images_per_call)
             for name, row in rows.items()}
    for turn in range(max(turns.values())):
        path = paths[turn % len(paths)]
        for name in rows:
            if turn >= turns[name]:
                continue
            randomness[name].restore()
            start_cpu, start_wall = time.process_time(), time.perf_counter()
            calls[name](path)
            cpu[name] += time.process_time() - start_cpu
            wall[name] += time.perf_counter() - start_wall
            randomness[name].save()
    return {
        name: Timing(cpu[name] / (turns[name] * row.images_per_call),
                     wall[name] / (turns[name] * row.images_per_call))
        for name, row in rows.items()
    }


def device_batch(make: Callable[[str], object], paths: Sequence[str],
                 batch: int) -> Tuple[List[torch.Tensor], List[dict]]:
    """The decoded images and plans of ``batch`` samples of the device
    path's CPU side, as the data preprocessor receives them."""
    images, plans = [], []
    for i in range(batch):
        packed = make(paths[i % len(paths)])
        images.append(packed['inputs'][1])
        plans.append(packed['data_samples'].metainfo[PLAN_KEY])
    return images, plans


def time_device_side(images: Sequence[torch.Tensor], plans: Sequence[dict],
                     device: str, max_padding: float) -> float:
    """Wall seconds per image of the device side on ``device`` (images
    already there; one warm-up batch, then the best of two)."""
    on_device = [image.to(device) for image in images]
    sync = torch.cuda.synchronize if device.startswith('cuda') else (
        lambda: None)
    best = float('inf')
    for repeat in range(3):
        start = time.perf_counter()
        finish_views(on_device, plans, max_padding)
        sync()
        if repeat:
            best = min(best, time.perf_counter() - start)
    return best / len(images)


def table(seconds: Dict[str, float], baseline: str, plain: str,
          walls: Dict[str, float]) -> List[str]:
    """One line per row: images/s (from ``seconds`` per image) and as a
    speed ratio (above 1: faster) to ``baseline`` and ``plain``, and the
    wall-time images/s of ``walls``."""
    lines = [f'{"pipeline":44s} {"images/s":>9s} {"x reference":>12s} '
             f'{"x plain view":>13s} {"wall images/s":>14s}']
    rates = {name: 1 / t for name, t in seconds.items()}
    for name, rate in rates.items():
        lines.append(f'{name:44s} {rate:9.1f} {rate / rates[baseline]:12.2f}'
                     f' {rate / rates[plain]:13.2f} {1 / walls[name]:14.1f}')
    return lines


def main(argv=None) -> List[str]:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--images', type=int, default=1000,
                        help='images per row (the chain fires at random, '
                        'so its mean cost needs many)')
    parser.add_argument('--size', type=int, default=224,
                        help='RandomResizedCrop size of each view')
    parser.add_argument('--batch', type=int, default=256,
                        help='images per batch of the device side')
    parser.add_argument('--devices', nargs='*', default=['cpu', 'cuda'],
                        help='devices of the device-side rows (none: no '
                        'such row); CUDA is skipped with a message when '
                        'absent')
    parser.add_argument('--max-padding', type=float, default=MAX_PADDING,
                        help='padding fraction allowed in a chunk of the '
                        f'device side (default: {MAX_PADDING})')
    parser.add_argument('--out', help='also append the lines to this file')
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    rows = {row.name: row for row in PIPELINES}
    with tempfile.TemporaryDirectory() as folder:
        paths = photo_files(folder)
        calls = {row.name: row.make(args.size) for row in PIPELINES}
        time_rows(rows, calls, paths, 8)  # warm-up: imports, caches
        timings = time_rows(rows, calls, paths, args.images)
        if args.devices:
            images, plans = device_batch(calls[DEVICE_CPU_SIDE], paths,
                                         args.batch)
    lines = [f'{args.images} images per row of {len(paths)} photo files '
             f'(china.jpg, flower.jpg at {len(SIZES)} sizes, '
             f'333-500 x 375-640 px), crop {args.size}, 1 thread; '
             'images/s by process CPU time, device side by wall time']
    seconds = {name: t.cpu for name, t in timings.items()}
    walls = {name: t.wall for name, t in timings.items()}
    for device in args.devices:
        name = f'device path, device side ({device}, batch {args.batch})'
        if device.startswith('cuda') and not torch.cuda.is_available():
            lines.append(f'{name}: skipped, no CUDA device')
            continue
        seconds[name] = walls[name] = time_device_side(
            images, plans, device, args.max_padding)
    lines += table(seconds, REFERENCE, PLAIN, walls)
    print('\n'.join(lines))
    if args.out:
        with open(args.out, 'a') as f:
            f.write('\n'.join(lines) + '\n')
    return lines


if __name__ == '__main__':
    main()
