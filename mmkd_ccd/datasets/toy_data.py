"""Small image datasets written to disk in the layouts mmpretrain reads.

Nothing here downloads: the tests use generated images, and the demo uses
scikit-learn's bundled handwritten digits (:func:`ensure_digits`). Layouts:

- *CustomDataset*: ``root/{train,val[,test]}/<class>/<image>.png``;
- *ImageNet*: ``root/{train,val}/<wnid>/<image>.JPEG`` with
  ``root/meta/{train,val}.txt`` (``relative/path label`` per line).
"""
from __future__ import annotations

import json
import os
import os.path as osp
import shutil
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

Sample = Tuple[np.ndarray, int]


def _shape_image(label: int, size: int,
                 rng: np.random.Generator) -> np.ndarray:
    """A BGR image whose class is the kind of pattern drawn on it."""
    background = rng.integers(0, 100, size=3)
    img = np.empty((size, size, 3), np.uint8)
    img[:] = background
    colour = tuple(int(c) for c in rng.integers(140, 256, size=3))
    centre = tuple(int(c) for c in rng.integers(size // 3, 2 * size // 3, 2))
    extent = int(rng.integers(size // 5, size // 3))
    kind = label % 4
    if kind == 0:
        cv2.circle(img, centre, extent, colour, -1)
    elif kind == 1:
        cv2.rectangle(img, (centre[0] - extent, centre[1] - extent),
                      (centre[0] + extent, centre[1] + extent), colour, -1)
    elif kind == 2:
        for y in range(int(rng.integers(0, 4)), size, 6):
            cv2.line(img, (0, y), (size - 1, y), colour, 2)
    else:
        for x in range(int(rng.integers(0, 4)), size, 6):
            cv2.line(img, (x, 0), (x, size - 1), colour, 2)
    noise = rng.normal(0, 8, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def make_shapes(num_classes: int, num_per_class: int, size: int = 32,
                seed: int = 0) -> List[Sample]:
    """Generated images (circle, square, horizontal or vertical stripes)."""
    rng = np.random.default_rng(seed)
    return [(_shape_image(label, size, rng), label)
            for label in range(num_classes) for _ in range(num_per_class)]


def make_digits(size: int = 32, seed: int = 0) -> List[Sample]:
    """scikit-learn's 1797 bundled 8x8 digits as coloured ``size`` images.

    Each digit gets a random foreground and background colour so that the
    colour ops of JDA have something to act on.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(seed)
    samples = []
    for image, label in zip(digits.images, digits.target):
        grey = cv2.resize((image / 16.0).astype(np.float32), (size, size),
                          interpolation=cv2.INTER_LINEAR)[..., None]
        fg = rng.integers(128, 256, size=3)
        bg = rng.integers(0, 96, size=3)
        samples.append(((grey * fg + (1 - grey) * bg).astype(np.uint8),
                        int(label)))
    return samples


def split_stratified(samples: Sequence[Sample], val_fraction: float,
                     seed: int = 0,
                     test_fraction: float = 0.0) -> Dict[str, List[Sample]]:
    """Split into ``train``/``val`` (and ``test`` when ``test_fraction`` >
    0) keeping each class's proportion.

    Of each class's n samples, drawn in an order fixed by ``seed``, the
    first ``max(1, round(test_fraction * n))`` go to ``test`` (if asked
    for), the next ``max(1, round(val_fraction * n))`` to ``val``, the rest
    to ``train``.
    """
    rng = np.random.default_rng(seed)
    labels = np.array([label for _, label in samples])
    splits: Dict[str, List[Sample]] = {'train': [], 'val': []}
    if test_fraction > 0:
        splits['test'] = []
    for label in np.unique(labels):
        indices = rng.permutation(np.flatnonzero(labels == label))
        num_test = (max(1, int(round(test_fraction * len(indices))))
                    if test_fraction > 0 else 0)
        num_val = max(1, int(round(val_fraction * len(indices))))
        if test_fraction > 0:
            splits['test'] += [samples[i] for i in indices[:num_test]]
        splits['val'] += [
            samples[i] for i in indices[num_test:num_test + num_val]
        ]
        splits['train'] += [samples[i] for i in indices[num_test + num_val:]]
    return splits


def write_custom_dataset(root: str,
                         splits: Dict[str, List[Sample]],
                         class_names: Sequence[str] = ()) -> str:
    """Write ``root/<split>/<class>/<n>.png``; return ``root``."""
    for split, samples in splits.items():
        for n, (img, label) in enumerate(samples):
            name = class_names[label] if class_names else f'class_{label}'
            folder = osp.join(root, split, name)
            os.makedirs(folder, exist_ok=True)
            if not cv2.imwrite(osp.join(folder, f'{n:05d}.png'), img):
                raise OSError(f'could not write an image under {folder}')
    return root


def write_imagenet_layout(root: str, splits: Dict[str, List[Sample]]) -> str:
    """Write ``root/<split>/<wnid>/<n>.JPEG`` and ``root/meta/<split>.txt``.

    Labels are used as ImageNet class indices (0..999), so a config written
    for ImageNet reads the folder unchanged.
    """
    os.makedirs(osp.join(root, 'meta'), exist_ok=True)
    for split, samples in splits.items():
        lines = []
        for n, (img, label) in enumerate(samples):
            relative = f'n{label:08d}/{n:05d}.JPEG'
            path = osp.join(root, split, relative)
            os.makedirs(osp.dirname(path), exist_ok=True)
            if not cv2.imwrite(path, img):
                raise OSError(f'could not write {path}')
            lines.append(f'{relative} {label}\n')
        with open(osp.join(root, 'meta', f'{split}.txt'), 'w') as f:
            f.writelines(lines)
    return root


#: How :func:`ensure_digits` writes the digits: image size, seed of the
#: colours and of the split, and the share of each class in val and test.
DIGITS_SPLIT = dict(size=16, seed=0, val_fraction=0.2, test_fraction=0.2)
#: The record of the split written, in the dataset's root.
DIGITS_RECORD = 'split.json'


def _count_images(root: str, split: str) -> int:
    return sum(len(files) for _, _, files in os.walk(osp.join(root, split)))


def ensure_digits(root: str = osp.join('data', 'digits')) -> str:
    """Write scikit-learn's digits under ``root`` in CustomDataset layout,
    unless the same split is there already.

    Each class is split 20% test / 20% val / 60% train (seeded,
    :data:`DIGITS_SPLIT`); the images are 16x16 colour PNGs
    (:func:`make_digits`). ``root/split.json`` records the split and its
    counts; a folder without it, with another split or with other counts
    (e.g. an older train/val-only demo folder) has its ``train``, ``val``
    and ``test`` folders written anew.

    Returns:
        str: a line naming the folder and the size of each split.
    """
    record_path = osp.join(root, DIGITS_RECORD)
    splits = ('train', 'val', 'test')
    record = None
    if osp.isfile(record_path):
        with open(record_path) as f:
            record = json.load(f)
    fresh = record is not None and record.get('split') == DIGITS_SPLIT and all(
        _count_images(root, split) == record['counts'].get(split)
        for split in splits)
    if not fresh:
        for split in splits:
            shutil.rmtree(osp.join(root, split), ignore_errors=True)
        if osp.exists(record_path):
            os.remove(record_path)
        spec = DIGITS_SPLIT
        samples = split_stratified(
            make_digits(size=spec['size'], seed=spec['seed']),
            spec['val_fraction'], spec['seed'], spec['test_fraction'])
        write_custom_dataset(root, samples)
        record = dict(source='sklearn.datasets.load_digits',
                      split=DIGITS_SPLIT,
                      counts={k: len(v) for k, v in samples.items()})
        # Written last: an interrupted write leaves no record.
        with open(record_path, 'w') as f:
            json.dump(record, f, indent=2)
    counts = record['counts']
    return (f'digits: {counts["train"]} train / {counts["val"]} val / '
            f'{counts["test"]} test images ({DIGITS_SPLIT["size"]}x'
            f'{DIGITS_SPLIT["size"]}) in {root}')
