"""How much does the teacher trust the augmented views? CCD weights per op.

Usage:
    python tools/analyze_ccd.py CONFIG TEACHER_CKPT [--num-images N]
        [--out-dir DIR] [--seed 0] [--device DEVICE]
        [--cfg-options KEY=VALUE ...]

Builds the distillation model of CONFIG, loads TEACHER_CKPT into its teacher
(a distillation checkpoint, whose ``teacher.`` keys are used, or a plain
classifier checkpoint), and runs the teacher (eval mode, no gradient) on the
original and the augmented view of N training images (all by default; a
random choice fixed by ``--seed`` otherwise), made by the config's
``PairedViews`` pipeline and normalised by its data preprocessor. For each
image the CCD weight ``w = 1 + cos(t_original, t_augmented)`` of the
teacher's raw logits is computed with
:func:`mmkd_ccd.models.losses.ccd_weights`.

Writes to ``--out-dir`` (default ``work_dirs/<config name>/ccd_analysis``):

- ``ccd_weights.png``: histogram of the weights over [0, 2];
- ``ccd_weights_summary.json``: count, mean, std and quantiles (0.05, 0.25,
  0.5, 0.75, 0.95) of all weights and per JDA op that fired (an image whose
  augmented view had ops A and B counts for both; 'none fired' for images
  whose augmented view got no op), plus every image's weight and ops;

and prints the same statistics as a markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import sys
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config, DictAction
from mmengine.dataset import BaseDataset
from mmengine.registry import MODELS, DefaultScope
from mmengine.runner import load_state_dict, set_random_seed
from mmpretrain.datasets.transforms import PackInputs
from mmpretrain.structures import DataSample

from mmkd_ccd import compat
from mmkd_ccd.cli import check_cfg_options
from mmkd_ccd.datasets.transforms.device_paired_views import PLAN_KEY
from mmkd_ccd.models.data_preprocessors import PairedDataPreprocessor
from mmkd_ccd.models.losses import ccd_weights
from mmkd_ccd.structures import ViewPairing
from mmkd_ccd.tools.paired_inspection import (NoPairedViewsError,
                                              build_paired_dataset,
                                              choose_indices)
from mmkd_ccd.tools.tables import markdown_table as write_table

QUANTILES: Tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
#: Group of the images whose augmented view got no JDA op.
NONE_FIRED = 'none fired'
#: Label of the row of all images in the printed table.
ALL_IMAGES = 'all images'


# ---------------------------------------------------------------------------
# Statistics (pure: no model, no files)
# ---------------------------------------------------------------------------
def op_name(fired: str) -> str:
    """``'rotate(10)'`` -> ``'rotate'``: the JDA op of a ``jda_ops`` entry,
    whatever its magnitude and drawn sign."""
    return fired.split('(', 1)[0]


def describe(values: Sequence[float],
             quantiles: Sequence[float] = QUANTILES) -> dict:
    """Count, mean, population std and linear-interpolated quantiles
    (``numpy.quantile``) of ``values``; None for each statistic of an empty
    group. Quantiles are keyed by ``f'{q:g}'`` (``'0.05'``, ``'0.5'``)."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return dict(count=0, mean=None, std=None,
                    quantiles={f'{q:g}': None for q in quantiles})
    return dict(
        count=int(array.size),
        mean=float(array.mean()),
        std=float(array.std()),
        quantiles={
            f'{q:g}': float(v)
            for q, v in zip(quantiles, np.quantile(array, quantiles))
        })


def summarize_ccd_weights(weights: Sequence[float],
                          ops_per_image: Sequence[Sequence[str]],
                          quantiles: Sequence[float] = QUANTILES) -> dict:
    """Statistics of CCD weights, overall and per JDA op that fired.

    Args:
        weights: (N,) the CCD weight of each image.
        ops_per_image: for each image, the ``jda_ops`` of its augmented view
            (e.g. ``['rotate(10)', 'invert']``).
        quantiles: which quantiles to report.

    Returns:
        ``{'overall': stats, 'per_op': {op: stats}}`` with ``stats`` from
        :func:`describe`. An image counts once in the group of every distinct
        op name that fired on it (an op fired twice in the chain counts once;
        its magnitude and sign are ignored) and in :data:`NONE_FIRED` when
        nothing fired. Ops are sorted by name, :data:`NONE_FIRED` last and
        always present.
    """
    if len(weights) != len(ops_per_image):
        raise ValueError(f'{len(weights)} weights but {len(ops_per_image)} '
                         'op lists: need one op list per image')
    groups: Dict[str, List[float]] = defaultdict(list)
    for weight, ops in zip(weights, ops_per_image):
        for name in sorted({op_name(fired) for fired in ops}) or [NONE_FIRED]:
            groups[name].append(float(weight))
    names = sorted(name for name in groups if name != NONE_FIRED)
    per_op = {name: describe(groups[name], quantiles) for name in names}
    per_op[NONE_FIRED] = describe(groups[NONE_FIRED], quantiles)
    return dict(overall=describe(weights, quantiles), per_op=per_op)


def markdown_table(summary: dict) -> str:
    """The overall and per-op rows of :func:`summarize_ccd_weights`."""
    quantile_keys = list(summary['overall']['quantiles'])
    header = ['group', 'count', 'mean', 'std'] + [
        f'q{k}' for k in quantile_keys]

    def cell(value: Optional[float]) -> str:
        return '-' if value is None else f'{value:.4f}'

    rows = [(ALL_IMAGES, summary['overall'])] + list(summary['per_op'].items())
    return write_table(header, [
        [name, str(stats['count'])] + [
            cell(v) for v in [stats['mean'], stats['std']] +
            [stats['quantiles'][k] for k in quantile_keys]
        ] for name, stats in rows
    ], align=['left'] + ['right'] * (len(header) - 1)).rstrip('\n')


# ---------------------------------------------------------------------------
# Teacher
# ---------------------------------------------------------------------------
def build_distiller_model(cfg: Config) -> nn.Module:
    """Build ``cfg.model`` (the distillation algorithm) as the Runner would,
    without loading the config's own ``teacher_ckpt``: the teacher's weights
    come from the checkpoint the user names."""
    if 'teacher' not in cfg.model:
        raise KeyError(f'model.teacher: the model of this config '
                       f'({cfg.model.get("type")}) is not a distillation '
                       'algorithm with a teacher')
    if 'teacher_ckpt' in cfg.model:
        cfg.model.teacher_ckpt = None
    # Same scope resolution as Runner.build_model: the config's default
    # scope, switched by the model's own _scope_ (MMRazor's) while building.
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'mmpretrain')):
        return MODELS.build(cfg.model)


def teacher_state_dict(checkpoint: dict) -> Dict[str, torch.Tensor]:
    """The teacher's weights in a distillation or a classifier checkpoint:
    ``teacher.*`` keys with the prefix removed if there are any, otherwise
    every key; a DDP ``module.`` prefix is removed first."""
    state_dict = checkpoint.get('state_dict', checkpoint)
    state_dict = {
        (key[len('module.'):] if key.startswith('module.') else key): value
        for key, value in state_dict.items()
    }
    teacher = {
        key[len('teacher.'):]: value
        for key, value in state_dict.items() if key.startswith('teacher.')
    }
    return teacher or state_dict


def load_teacher(teacher: nn.Module, path: str) -> None:
    """Load the teacher's weights from ``path``; every key must match.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the checkpoint's keys are not the teacher's.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'TEACHER_CKPT: no checkpoint file {path}')
    # The user named this file, so it is trusted for full unpickling
    # (mmengine checkpoints carry their message hub).
    checkpoint = compat.load_named_checkpoint(path)
    if not isinstance(checkpoint, dict):
        raise ValueError(f'{path}: expected a checkpoint dict (with a '
                         f'state_dict), got {type(checkpoint).__name__}')
    state_dict = teacher_state_dict(checkpoint)
    expected = set(teacher.state_dict())
    missing = sorted(expected - set(state_dict))
    unexpected = sorted(set(state_dict) - expected)
    if missing or unexpected:
        problems = [f'{len(keys)} {kind}, e.g. {keys[:3]}'
                    for kind, keys in (('missing', missing),
                                       ('unexpected', unexpected)) if keys]
        raise ValueError(
            f'{path}: its keys do not match the teacher of the config '
            f'(model.teacher): {"; ".join(problems)}. Give a distillation '
            'checkpoint of this config (teacher.* keys) or a classifier '
            "checkpoint of the teacher's architecture.")
    # strict: a shape mismatch is an error too.
    load_state_dict(teacher, state_dict, strict=True)


# ---------------------------------------------------------------------------
# Weights over the dataset
# ---------------------------------------------------------------------------
def collect_weights(dataset: BaseDataset, indices: Sequence[int],
                    teacher: nn.Module,
                    preprocessor: PairedDataPreprocessor,
                    batch_size: int) -> List[dict]:
    """Per image of ``indices``: its CCD weight, JDA ops and path.

    The views are batched exactly as in training (originals first, then the
    augmented views) by ``preprocessor``, and the pairing is read back from
    the data samples it returns rather than assumed.
    """
    records: List[dict] = []
    for start in range(0, len(indices), batch_size):
        chunk = indices[start:start + batch_size]
        items = [dataset[i] for i in chunk]
        originals, augmented = zip(
            *(PackInputs.format_input(item['img']) for item in items))
        batch = preprocessor(
            dict(inputs=[list(originals), list(augmented)],
                 data_samples=[
                     # DevicePairedViews' plan finishes the augmented view.
                     DataSample(metainfo={PLAN_KEY: item[PLAN_KEY]}
                                if PLAN_KEY in item else None)
                     for item in items
                 ]),
            training=False)
        with torch.no_grad():
            logits = teacher(batch['inputs'], mode='tensor')
        if not isinstance(logits, torch.Tensor) or logits.dim() != 2:
            raise TypeError('model.teacher in tensor mode must return (N, C) '
                            f'logits, got {type(logits).__name__} '
                            f'{getattr(logits, "shape", "")}')
        pairing = ViewPairing.from_data_samples(batch['data_samples'])
        weights = ccd_weights(logits[pairing.partner_rows],
                              logits[pairing.augmented_rows]).cpu()
        for row, weight in zip(pairing.augmented_rows.tolist(),
                               weights.tolist()):
            image = batch['data_samples'][row].metainfo['pair_index']
            records.append(
                dict(index=chunk[image],
                     img_path=items[image].get('img_path'),
                     jda_ops=list(items[image].get('jda_ops', [])),
                     weight=weight))
    return records


def plot_histogram(weights: Sequence[float], path: str, title: str) -> None:
    import matplotlib
    matplotlib.use('Agg')  # no display needed, and none on servers
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100, layout='constrained')
    ax.hist(weights, bins=40, range=(0.0, 2.0), color='tab:blue')
    ax.axvline(float(np.mean(weights)), color='tab:red', linestyle='--',
               label=f'mean {np.mean(weights):.3f}')
    ax.set_xlim(0.0, 2.0)
    ax.set_xlabel('CCD weight  1 + cos(t_original, t_augmented)')
    ax.set_ylabel('images')
    ax.set_title(title, fontsize=9)
    ax.legend()
    fig.savefig(path)
    plt.close(fig)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='distillation config with PairedViews '
                        'in its train pipeline')
    parser.add_argument('teacher_ckpt', metavar='TEACHER_CKPT',
                        help='distillation or teacher classifier checkpoint')
    parser.add_argument('--num-images', type=int, default=None,
                        help='number of training images (default: all)')
    parser.add_argument('--out-dir', help='output folder (default: '
                        'work_dirs/<config name>/ccd_analysis)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the image choice and the augmentation')
    parser.add_argument(
        '--device',
        default='cuda' if torch.cuda.is_available() else 'cpu',
        help='device of the teacher (default: cuda if available)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. train_dataloader.batch_size=64')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        check_cfg_options(cfg, args.cfg_options, args.config)
        cfg.merge_from_dict(args.cfg_options)
    out_dir = args.out_dir or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0],
        'ccd_analysis')

    dataset = build_paired_dataset(cfg, args.config)
    indices = choose_indices(len(dataset), args.num_images, args.seed,
                             '--num-images')
    model = build_distiller_model(cfg)
    preprocessor = model.data_preprocessor
    if not isinstance(preprocessor, PairedDataPreprocessor):
        raise TypeError(f'{args.config}: model.data_preprocessor is '
                        f'{type(preprocessor).__name__}; the views of '
                        'PairedViews need PairedDataPreprocessor')
    # Every image's augmented view is analysed, whatever fraction training
    # uses.
    preprocessor.augmented_fraction = 1.0
    teacher = model.teacher
    load_teacher(teacher, args.teacher_ckpt)
    teacher.to(args.device).eval()
    preprocessor.to(args.device)

    set_random_seed(args.seed)
    records = collect_weights(dataset, indices, teacher, preprocessor,
                              cfg.train_dataloader.get('batch_size', 32))
    weights = [r['weight'] for r in records]
    summary = summarize_ccd_weights(weights, [r['jda_ops'] for r in records])
    summary = dict(config=args.config, teacher_ckpt=args.teacher_ckpt,
                   seed=args.seed, **summary, images=records)

    os.makedirs(out_dir, exist_ok=True)
    plot_histogram(weights, osp.join(out_dir, 'ccd_weights.png'),
                   f'{osp.basename(args.config)}: {len(weights)} images')
    with open(osp.join(out_dir, 'ccd_weights_summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    print(markdown_table(summary))
    print(f'\nwrote {osp.join(out_dir, "ccd_weights.png")} and '
          f'{osp.join(out_dir, "ccd_weights_summary.json")}')
    return summary


if __name__ == '__main__':
    try:
        main()
    except NoPairedViewsError as error:
        sys.exit(f'analyze_ccd.py: error: {error}')
