"""Run an ablation sweep: train one config per run, then tabulate each run's
final validation metrics.

Usage:
    python tools/sweep.py SWEEP_FILE [--work-dir DIR] [--out TABLE.md]
        [--launcher {none,pytorch}] [--gpus N] [--dry-run]
        [--only NAME [NAME ...]] [--skip-existing]

    python tools/sweep.py configs/ccd/sweeps/kd_vs_ccd_in1k.py --gpus 8

Sweep file (``.py``, ``.json`` or ``.yaml``, read with mmengine's
``Config.fromfile``)::

    title = 'KD+JDA vs CCD+JDA'                      # optional table heading
    metrics = ['accuracy/top1', 'teacher.accuracy/top1']   # optional columns
    runs = [
        dict(name='KD+JDA',
             config='configs/ccd/ccd_logits_resnet34_resnet18_8xb32_in1k.py',
             cfg_options={
                 'model.distiller.distill_losses.loss_ccd.confidence': 'none'
             }),
        dict(name='CCD+JDA',
             config='configs/ccd/ccd_logits_resnet34_resnet18_8xb32_in1k.py'),
    ]

- ``name``: unique; it also names the run's work dir ``<work-dir>/<name>``,
  with characters other than letters, digits and ``._+-`` replaced by ``_``.
- ``config``: a path relative to the sweep file's folder, else to the
  current directory, else to the repository root (the first that exists).
- ``cfg_options`` (optional): dotted config keys to values, handed to
  ``tools/train.py --cfg-options``. Values are numbers, booleans, ``None``,
  strings, or lists/tuples of them, as far as ``--cfg-options`` can spell
  them (no commas or spaces in strings).
- ``metrics`` (optional): the table's metric columns; without it, every
  metric the runs report, in order of first appearance.
- Other top-level names are errors (typos), except ``_``-prefixed helpers.

Each run trains with ``tools/train.py`` (through ``torch.distributed.run``
with ``--gpus N > 1`` or ``--launcher pytorch``) in the current directory, so
a config's relative ``data_root`` resolves from there, as with train.py. Its
output goes to ``<work-dir>/<name>/sweep_train.log``; the console gets one
line per run. A failed run does not stop the sweep; the exit status is 1 when
any failed.

The table (name, config, cfg-options, one column per metric, status) goes to
``--out`` (default ``<work-dir>/results.md``) and stdout; the same results,
unrounded, to ``<work-dir>/results.json``. A metric is the last validation
record of the run's latest log (:func:`final_metrics`).

The machinery is :mod:`mmkd_ccd.tools.sweep` (shared with
``tools/study.py``).

``--skip-existing`` reuses a run that this tool trained to completion before
with the same config and cfg-options (recorded in
``<work-dir>/<name>/sweep_run.json``); an interrupted or changed run is
trained again from scratch. Runs left out by ``--only`` are reused the same
way when possible and marked ``not run`` otherwise, so the table always lists
the whole sweep.
"""
from __future__ import annotations

import argparse
import os.path as osp
import shlex
import sys
from typing import Optional, Sequence

from mmkd_ccd.tools.sweep import (SweepFileError, load_sweep, run_or_reuse,
                                  safe_name, train_command, write_results)

#: The script each run trains with (tests swap it for a stand-in).
TRAIN = osp.join(osp.dirname(osp.abspath(__file__)), 'train.py')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('sweep_file', help='sweep file (.py, .json, .yaml)')
    parser.add_argument(
        '--work-dir',
        help='runs go to WORK_DIR/<name> (default: '
        'work_dirs/sweeps/<sweep file name>)')
    parser.add_argument(
        '--out', help='markdown table (default: WORK_DIR/results.md)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch'],
        help='pytorch = torchrun (default: pytorch when --gpus > 1)')
    parser.add_argument(
        '--gpus', type=int, default=1, help='processes per run (torchrun)')
    parser.add_argument(
        '--dry-run', action='store_true',
        help='print the training commands, run nothing')
    parser.add_argument(
        '--only', nargs='+', metavar='NAME', help='train only these runs')
    parser.add_argument(
        '--skip-existing', action='store_true',
        help='reuse runs already trained to completion by this tool')
    args = parser.parse_args(argv)
    if args.gpus < 1:
        parser.error(f'--gpus must be >= 1, got {args.gpus}')
    if args.launcher is None:
        args.launcher = 'pytorch' if args.gpus > 1 else 'none'
    elif args.launcher == 'none' and args.gpus > 1:
        parser.error(f'--gpus {args.gpus} needs --launcher pytorch')
    if args.work_dir is None:
        stem = osp.splitext(osp.basename(args.sweep_file))[0]
        args.work_dir = osp.join('work_dirs', 'sweeps', stem)
    if args.out is None:
        args.out = osp.join(args.work_dir, 'results.md')
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    try:
        sweep = load_sweep(args.sweep_file)
    except SweepFileError as exc:
        sys.exit(f'sweep.py: {exc}')
    names = [run.name for run in sweep.runs]
    unknown = sorted(set(args.only or []) - set(names))
    if unknown:
        sys.exit(f'sweep.py: --only {unknown}: no such run in '
                 f'{args.sweep_file}; runs: {names}')

    results = []
    for index, run in enumerate(sweep.runs, 1):
        run_dir = osp.join(args.work_dir, safe_name(run.name))
        command = train_command(run, run_dir, args.launcher, args.gpus,
                                TRAIN)
        selected = args.only is None or run.name in args.only
        if args.dry_run:
            if selected:
                print(shlex.join(command))
            continue
        results.append(
            run_or_reuse(run, run_dir, command, selected, args.skip_existing,
                         f'[{index}/{len(sweep.runs)}] {run.name}:',
                         sweep.metrics))
    if args.dry_run:
        return 0
    write_results(sweep, results, args.out, args.work_dir, args.sweep_file)
    return 1 if any(r['status'].startswith('failed') for r in results) else 0


if __name__ == '__main__':
    sys.exit(main())
