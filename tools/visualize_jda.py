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
import copy
import os
import os.path as osp
import sys
import textwrap
from typing import List, Optional, Sequence, Tuple

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmkd_ccd  # noqa: E402,F401  (shims + registration before config read)
import numpy as np  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.dataset import BaseDataset  # noqa: E402
from mmengine.registry import DATASETS, init_default_scope  # noqa: E402
from mmengine.runner import set_random_seed  # noqa: E402

from mmkd_ccd.datasets.transforms.device_paired_views import (  # noqa: E402
    PLAN_KEY)
from mmkd_ccd.models.data_preprocessors.device_jda import (  # noqa: E402
    finish_view_array)

#: Inches per grid row and per view column; at :data:`DPI` a row is
#: ``ROW_INCHES * DPI`` pixels high whatever the images' size.
ROW_INCHES = 3.0
COLUMN_INCHES = 3.0
DPI = 100
CAPTION_WIDTH = 60  # characters per caption line


class NoPairedViewsError(ValueError):
    """The config's train pipeline has no ``PairedViews`` transform."""


def _is_paired_views(step: object) -> bool:
    if not isinstance(step, dict):
        return False
    kind = step.get('type')
    name = kind if isinstance(kind, str) else getattr(kind, '__name__', '')
    # Scoped names such as 'mmkd_ccd.PairedViews' name the same transform.
    return name.rsplit('.', 1)[-1] in ('PairedViews', 'DevicePairedViews')


def paired_dataset_cfg(cfg: Config, config_path: str) -> dict:
    """``train_dataloader.dataset`` with its pipeline cut after PairedViews.

    Dataset wrappers (``RepeatDataset``, ``ClassBalancedDataset``, ...) are
    followed through their ``dataset`` key to the dataset that has the
    pipeline.

    Raises:
        NoPairedViewsError: no pipeline, or no ``PairedViews`` in it.
    """
    if 'train_dataloader' not in cfg or 'dataset' not in cfg.train_dataloader:
        raise NoPairedViewsError(
            f'{config_path}: the config has no train_dataloader.dataset')
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    inner, key = dataset_cfg, 'train_dataloader.dataset'
    while 'pipeline' not in inner and isinstance(inner.get('dataset'), dict):
        inner, key = inner['dataset'], key + '.dataset'
    pipeline = inner.get('pipeline')
    if not isinstance(pipeline, (list, tuple)):
        raise NoPairedViewsError(f'{config_path}: {key} has no pipeline list')
    positions = [
        i for i, step in enumerate(pipeline) if _is_paired_views(step)
    ]
    if not positions:
        raise NoPairedViewsError(
            f'{config_path}: {key}.pipeline has no PairedViews transform, so '
            'its training images have no augmented view. Use a config whose '
            'train pipeline wraps the view pipeline in '
            "dict(type='PairedViews', view_pipeline=[...], "
            "augment=[dict(type='JDA', ...)]), e.g. configs/ccd/*.py.")
    # Stopping here keeps numpy images (and jda_ops, which PackInputs may
    # drop) instead of packed tensors.
    inner['pipeline'] = list(pipeline[:positions[0] + 1])
    return dataset_cfg


def build_paired_dataset(cfg: Config, config_path: str) -> BaseDataset:
    """Build the config's train dataset, its pipeline ending at PairedViews.

    Each item is then a results dict whose ``img`` is ``[original view,
    augmented view]`` (numpy, the pipeline's channel order: BGR for mmcv's
    loaders) and whose ``jda_ops`` lists the ops fired on the augmented view.
    """
    dataset_cfg = paired_dataset_cfg(cfg, config_path)
    # Dataset and transform types are looked up in the config's scope, as the
    # Runner does.
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    return DATASETS.build(dataset_cfg)


def choose_indices(num_available: int, num: Optional[int],
                   seed: int, option: str) -> List[int]:
    """``num`` distinct dataset indices drawn with ``seed``, ascending; all
    of them when ``num`` is None.

    Raises:
        ValueError: ``num`` is not in [1, num_available] (``option`` names
            the command-line flag).
    """
    if num is None:
        return list(range(num_available))
    if not 1 <= num <= num_available:
        raise ValueError(f'{option} must be in [1, {num_available}] (the '
                         f'size of the train dataset), got {num}')
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(num_available, num, replace=False).tolist())


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
