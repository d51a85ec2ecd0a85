"""Show original and augmented views of a config's training images.

Usage:
    python tools/visualize_jda.py CONFIG [--out jda_pairs.png] [--num 8]
        [--seed 0] [--cfg-options KEY=VALUE ...]

Builds ``train_dataloader.dataset`` of CONFIG, runs its pipeline up to and
including ``PairedViews`` (so the views are still images, not packed
tensors) for ``--num`` randomly chosen images, and writes a PNG grid: one row
per image, the original view on the left, the augmented view on the right,
and the JDA ops that fired on the augmented view as the row's caption.
``--seed`` fixes both the choice of images and the augmentation.

Relative paths in the config (``data_root``) are relative to the current
directory, as for ``tools/train.py``.
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import sys
import textwrap
from typing import Sequence, Tuple

import numpy as np
from mmengine.config import Config, DictAction
from mmengine.dataset import BaseDataset
from mmengine.runner import set_random_seed

from mmkd_ccd.cli import check_cfg_options
from mmkd_ccd.datasets.transforms.device_paired_views import PLAN_KEY
from mmkd_ccd.models.data_preprocessors.device_jda import finish_view_array
from mmkd_ccd.tools.paired_inspection import (  # noqa: F401
    NoPairedViewsError, build_paired_dataset, choose_indices,
    paired_dataset_cfg)

#: Inches per grid row and per view column; at :data:`DPI` a row is
#: ``ROW_INCHES * DPI`` pixels high whatever the images' size.
ROW_INCHES = 3.0
COLUMN_INCHES = 3.0
DPI = 100
CAPTION_WIDTH = 60  # characters per caption line


def class_name(dataset: BaseDataset, label: object) -> str:
    classes = dataset.metainfo.get('classes')
    if label is None:
        return 'unlabelled'
    label = int(np.asarray(label).reshape(-1)[0])
    return str(classes[label]) if classes else f'class {label}'


def to_display(img: np.ndarray) -> np.ndarray:
    """A BGR (mmcv) view as RGB for matplotlib; greyscale stays 2-D."""
    if img.ndim == 3 and img.shape[2] == 3:
        return img[..., ::-1]
    return img.squeeze()


def views_to_show(results: dict) -> Tuple[np.ndarray, np.ndarray]:
    """The original and augmented view of a pipeline's results; the
    augmented view of ``DevicePairedViews`` is finished (on the CPU) as the
    model's device would finish it."""
    original, augmented = results['img']
    if PLAN_KEY in results:
        augmented = finish_view_array(augmented, results[PLAN_KEY])
    return original, augmented


def caption(index: int, name: str, ops: Sequence[str]) -> str:
    fired = ', '.join(ops) if ops else 'no JDA op fired'
    return textwrap.fill(f'#{index} ({name}): {fired}', CAPTION_WIDTH)


def draw_pairs(dataset: BaseDataset, indices: Sequence[int], out: str) -> None:
    """Write the grid of view pairs of ``dataset[i]`` for ``i in indices``."""
    import matplotlib
    matplotlib.use('Agg')  # no display needed, and none on servers
    import matplotlib.pyplot as plt

    # Constrained layout keeps the captions clear of the view titles.
    fig = plt.figure(
        figsize=(2 * COLUMN_INCHES, ROW_INCHES * len(indices)),
        dpi=DPI,
        layout='constrained')
    rows = fig.subfigures(len(indices), 1, squeeze=False)[:, 0]
    for row, index in zip(rows, indices):
        results = dataset[index]
        original, augmented = views_to_show(results)
        row.suptitle(
            caption(index, class_name(dataset, results.get('gt_label')),
                    results.get('jda_ops', [])),
            fontsize=8)
        axes = row.subplots(1, 2)
        for ax, view, title in zip(axes, (original, augmented),
                                   ('original view', 'augmented view')):
            shown = to_display(view)
            ax.imshow(shown, cmap='gray' if shown.ndim == 2 else None)
            ax.set_title(title, fontsize=8)
            ax.axis('off')
    out_dir = osp.dirname(out)
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
    # No bbox_inches='tight': the file keeps the figure's exact pixel size.
    fig.savefig(out, dpi=DPI)
    plt.close(fig)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file with PairedViews in its '
                        'train pipeline')
    parser.add_argument('--out', default='jda_pairs.png',
                        help='output PNG (default: jda_pairs.png)')
    parser.add_argument('--num', type=int, default=8,
                        help='number of images, one row each (default: 8)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the image choice and the augmentation')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. '
        'train_dataloader.dataset.data_root=data/other')
    return parser.parse_args(argv)


def main(argv=None) -> str:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        check_cfg_options(cfg, args.cfg_options, args.config)
        cfg.merge_from_dict(args.cfg_options)
    dataset = build_paired_dataset(cfg, args.config)
    indices = choose_indices(len(dataset), args.num, args.seed, '--num')
    # The seed covers numpy (JDA, mmcv's random transforms) and python's
    # random alike.
    set_random_seed(args.seed)
    draw_pairs(dataset, indices, args.out)
    print(args.out)
    return args.out


if __name__ == '__main__':
    try:
        main()
    except NoPairedViewsError as error:
        sys.exit(f'visualize_jda.py: error: {error}')
