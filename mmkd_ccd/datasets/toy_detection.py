"""A tiny COCO-format detection dataset written to disk, for tests and demos.

Each image shows 1-3 filled shapes (a rectangle, a circle or a triangle,
each category one kind of shape, in a random bright colour) on a dark
noisy background; every shape is one annotated object whose box is the
tight box of its pixels. Layout (what mmdet's ``CocoDataset`` reads)::

    root/annotations/instances_{train,val}.json
    root/{train,val}/<n>.png

Nothing is downloaded; the same seed writes the same files.
"""
from __future__ import annotations

import json
import os
import os.path as osp
from typing import Dict, List, NamedTuple, Sequence, Tuple

import cv2
import numpy as np

#: Category names, in COCO id order (id = index + 1).
CATEGORIES: Tuple[str, ...] = ('rectangle', 'circle', 'triangle')


class ToyObject(NamedTuple):
    """One drawn shape: its category index into :data:`CATEGORIES`, its box
    ``(x1, y1, x2, y2)`` in pixel-edge coordinates (pixel ``i`` spans
    ``[i, i + 1)``) and its area in pixels."""
    label: int
    box: Tuple[int, int, int, int]
    area: int


def _draw_shape(mask: np.ndarray, label: int, centre: Tuple[int, int],
                radius: int) -> None:
    cx, cy = centre
    if label == 0:
        # An aspect ratio other than 1 tells rectangles from circles.
        half_w = radius
        half_h = max(2, radius * 2 // 3)
        cv2.rectangle(mask, (cx - half_w, cy - half_h),
                      (cx + half_w, cy + half_h), 1, -1)
    elif label == 1:
        cv2.circle(mask, (cx, cy), radius, 1, -1)
    else:
        corners = np.array([[cx, cy - radius], [cx - radius, cy + radius],
                            [cx + radius, cy + radius]], np.int32)
        cv2.fillPoly(mask, [corners], 1)


def make_detection_image(
        size: int, num_categories: int,
        rng: np.random.Generator) -> Tuple[np.ndarray, List[ToyObject]]:
    """A BGR ``size`` x ``size`` image and its objects.

    Shapes go into distinct quadrants so that no object hides another and
    each box is the box of the pixels that show it.
    """
    img = np.empty((size, size, 3), np.uint8)
    img[:] = rng.integers(0, 80, size=3)
    half = size // 2
    quadrants = rng.permutation(4)[:int(rng.integers(1, 4))]
    objects = []
    for quadrant in quadrants:
        label = int(rng.integers(0, num_categories))
        radius = int(rng.integers(size // 8, size // 5 + 1))
        # Keep the whole shape inside its quadrant.
        low = radius + 1
        high = half - radius - 1
        offset = (quadrant % 2 * half, quadrant // 2 * half)
        centre = tuple(
            int(o + rng.integers(low, max(low, high) + 1)) for o in offset)
        mask = np.zeros((size, size), np.uint8)
        _draw_shape(mask, label, centre, radius)
        img[mask > 0] = rng.integers(150, 256, size=3)
        ys, xs = np.nonzero(mask)
        objects.append(
            ToyObject(label, (int(xs.min()), int(ys.min()),
                              int(xs.max()) + 1, int(ys.max()) + 1),
                      int(mask.sum())))
    noise = rng.normal(0, 6, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8), objects


def coco_json(file_names: Sequence[str], size: int,
              objects: Sequence[Sequence[ToyObject]],
              categories: Sequence[str]) -> dict:
    """The COCO instances dict of the images ``file_names`` (ids from 1)
    holding ``objects``; boxes as ``[x, y, w, h]``, category ids from 1."""
    images, annotations = [], []
    for image_id, (file_name, image_objects) in enumerate(
            zip(file_names, objects), start=1):
        images.append(
            dict(id=image_id, file_name=file_name, width=size, height=size))
        for obj in image_objects:
            x1, y1, x2, y2 = obj.box
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=image_id,
                    category_id=obj.label + 1,
                    bbox=[x1, y1, x2 - x1, y2 - y1],
                    area=obj.area,
                    iscrowd=0))
    return dict(
        images=images,
        annotations=annotations,
        categories=[
            dict(id=i + 1, name=name, supercategory='shape')
            for i, name in enumerate(categories)
        ])


def write_coco_dataset(root: str,
                       num_images: Dict[str, int] = None,
                       size: int = 64,
                       num_categories: int = 3,
                       seed: int = 0) -> str:
    """Write the dataset (see the module docstring) under ``root``.

    Args:
        root (str): Folder to write to (created).
        num_images (dict, optional): Images per split, e.g. the default
            ``{'train': 6, 'val': 4}``.
        size (int): Side of the square images in pixels. Defaults to 64.
        num_categories (int): 1 to 3 first entries of :data:`CATEGORIES`.
            Defaults to 3.
        seed (int): Seed of the generator. Defaults to 0.

    Returns:
        str: ``root``.
    """
    num_images = num_images or {'train': 6, 'val': 4}
    if not 1 <= num_categories <= len(CATEGORIES):
        raise ValueError(f'num_categories must be in [1, {len(CATEGORIES)}], '
                         f'got {num_categories!r}')
    if size < 32:
        raise ValueError(f'size must be at least 32 pixels, got {size!r}')
    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    for split, count in num_images.items():
        folder = osp.join(root, split)
        os.makedirs(folder, exist_ok=True)
        file_names, objects = [], []
        for n in range(count):
            img, image_objects = make_detection_image(size, num_categories,
                                                      rng)
            file_name = f'{n:05d}.png'
            if not cv2.imwrite(osp.join(folder, file_name), img):
                raise OSError(f'could not write an image under {folder}')
            file_names.append(file_name)
            objects.append(image_objects)
        ann = coco_json(file_names, size, objects,
                        CATEGORIES[:num_categories])
        with open(osp.join(root, 'annotations', f'instances_{split}.json'),
                  'w') as f:
            json.dump(ann, f)
    return root
