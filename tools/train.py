"""Train a model (distillation or plain) from an mmengine config.

Usage:
    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--auto-scale-lr] [--cfg-options KEY=VALUE ...] [--no-strict]
        [--launcher {none,pytorch,slurm,mpi}]

``--resume CKPT`` continues from CKPT; a bare ``--resume`` from the
checkpoint ``WORK_DIR/last_checkpoint`` names, and is an error when there
is none. Either file is trusted for full unpickling, nothing else in the
work dir is. The run refuses to start when a ``--cfg-options`` key changes
nothing, when a distillation teacher would start from random weights
(unless ``allow_random_teacher=True``), or when a checkpoint does not fit
the model (unless ``--no-strict``): see :mod:`mmkd_ccd.cli`.

``mmkd_ccd`` is imported before the config is read, so its compatibility
shims (e.g. ``mmcls::`` configs resolved to mmpretrain) apply to the config
and its bases.
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmkd_ccd  # noqa: E402,F401  (shims + registration before config read)
from mmengine.config import Config  # noqa: E402
from mmkd_ccd.cli import add_runner_args, build_runner, load_config  # noqa
from mmkd_ccd.engine import add_training_hooks  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from CKPT, or with no value from the checkpoint that '
        'WORK_DIR/last_checkpoint names (an error if there is none)')
    parser.add_argument(
        '--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr by the real batch size over auto_scale_lr.'
        'base_batch_size')
    add_runner_args(parser)
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace) -> Config:
    cfg = load_config(args)
    add_training_hooks(cfg)
    if args.amp:
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise ValueError(f'--amp needs optim_wrapper.type OptimWrapper or '
                             f'AmpOptimWrapper, the config has {wrapper!r}')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise KeyError('--auto-scale-lr needs auto_scale_lr.'
                           'base_batch_size in the config')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise FileNotFoundError(f'--resume: no checkpoint {args.resume}')
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def main(argv=None) -> None:
    build_runner(build_config(parse_args(argv))).train()


if __name__ == '__main__':
    main()
