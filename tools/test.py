"""Evaluate a checkpoint with a config's test dataloader and metrics.

Usage:
    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--amp]
        [--cfg-options KEY=VALUE ...] [--launcher {none,pytorch,slurm,mpi}]
        [--out FILE] [--no-strict]

CHECKPOINT must fit the config's model key for key: a checkpoint of another
model is an error naming the missing and unexpected keys, not a test of a
randomly initialised model; ``--no-strict`` loads only the keys that fit.
CHECKPOINT is trusted for full unpickling (mmengine checkpoints need it).

For a distillation config the student is evaluated; the teacher is reported
too (``teacher.`` metrics) when the config's ``test_cfg`` is
``dict(type='DistillTestLoop')``.
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmkd_ccd  # noqa: E402,F401  (shims + registration before config read)
from mmengine.fileio import dump  # noqa: E402
from mmkd_ccd.cli import add_runner_args, build_runner, load_config  # noqa


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='dump the metrics to this json file')
    parser.add_argument('--amp', action='store_true', help='test with AMP')
    add_runner_args(parser)
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    if args.amp:
        cfg.test_cfg.fp16 = True
    metrics = build_runner(cfg).test()
    if args.out:
        dump(metrics, args.out)
    return metrics


if __name__ == '__main__':
    main()
