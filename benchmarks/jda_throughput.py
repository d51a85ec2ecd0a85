"""Images per second of the JDA data path against the reference code's.

Usage:
    python benchmarks/jda_throughput.py [--images 1000] [--size 224]

Times, in one process on one thread (OpenCV and torch fixed to 1), the
train pipeline per image file of real photos (scikit-learn's ``china.jpg``
and ``flower.jpg``, 427x640, written as JPEG files):

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
  both sides leave normalisation to the batch.

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
import sys
import tempfile
import time
from typing import Callable, Dict, List, NamedTuple

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from PIL import Image, ImageEnhance, ImageOps  # noqa: E402
from sklearn.datasets import load_sample_image  # noqa: E402
from torchvision import transforms as tv  # noqa: E402

import mmkd_ccd  # noqa: E402,F401
from mmkd_ccd.datasets.transforms.jda import POLICIES  # noqa: E402

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


def paired_cpu_chain(size: int) -> Callable[[str], object]:
    cfg = _recipe(size)
    pipeline = [dict(t) for t in cfg.jda_train_pipeline]
    for transform in pipeline:
        if transform['type'] == 'PairedViews':
            transform['view_pipeline'] = list(cfg.jda_view_pipeline)
    return _mmpretrain_pipeline(pipeline)


# ---------------------------------------------------------------------------
# Timing and the table.


class Pipeline(NamedTuple):
    """A row: ``make(size)`` returns a function of one image file path;
    ``images_per_call`` is how many images one call processes."""
    name: str
    make: Callable[[int], Callable[[str], object]]
    images_per_call: int = 1


PLAIN, PAIRED, REFERENCE = 'plain view', 'paired, CPU chain', 'reference style'

PIPELINES: List[Pipeline] = [
    Pipeline(PLAIN, plain_view),
    Pipeline(PAIRED, paired_cpu_chain),
    Pipeline(REFERENCE, reference_style),
]


def photo_files(folder: str) -> List[str]:
    """scikit-learn's two 427x640 photos, written as JPEG files."""
    paths = []
    for name in ('china.jpg', 'flower.jpg'):
        path = osp.join(folder, name)
        Image.fromarray(load_sample_image(name)).save(path, quality=95)
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


def print_table(timings: Dict[str, Timing], baseline: str,
                plain: str) -> None:
    """One line per row: images/s by CPU and by wall time, and the CPU
    figure as a speed ratio (above 1: faster) to ``baseline`` and
    ``plain``."""
    print(f'{"pipeline":28s} {"images/s":>9s} {"x reference":>12s} '
          f'{"x plain view":>13s} {"wall images/s":>14s}')
    rates = {name: 1 / t.cpu for name, t in timings.items()}
    for name, rate in rates.items():
        print(f'{name:28s} {rate:9.1f} {rate / rates[baseline]:12.2f} '
              f'{rate / rates[plain]:13.2f} {1 / timings[name].wall:14.1f}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--images', type=int, default=1000,
                        help='images per row (the chain fires at random, '
                        'so its mean cost needs many)')
    parser.add_argument('--size', type=int, default=224,
                        help='RandomResizedCrop size of each view')
    args = parser.parse_args()
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    rows = {row.name: row for row in PIPELINES}
    with tempfile.TemporaryDirectory() as folder:
        paths = photo_files(folder)
        calls = {row.name: row.make(args.size) for row in PIPELINES}
        time_rows(rows, calls, paths, 8)  # warm-up: imports, caches
        timings = time_rows(rows, calls, paths, args.images)
    print(f'{args.images} images of 427x640 (china.jpg, flower.jpg) per '
          f'row, crop {args.size}, 1 thread')
    print_table(timings, REFERENCE, PLAIN)


if __name__ == '__main__':
    main()
