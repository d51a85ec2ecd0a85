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

``--skip-existing`` reuses a run that this tool trained to completion before
with the same config and cfg-options (recorded in
``<work-dir>/<name>/sweep_run.json``); an interrupted or changed run is
trained again from scratch. Runs left out by ``--only`` are reused the same
way when possible and marked ``not run`` otherwise, so the table always lists
the whole sweep.
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from mmengine.config import Config, DictAction

TOOLS = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(TOOLS)
TRAIN = osp.join(TOOLS, 'train.py')

SWEEP_KEYS = ('runs', 'metrics', 'title')
RUN_KEYS = ('name', 'config', 'cfg_options')
# mmengine names each run's log folder by its start time, so the names sort
# by age.
TIMESTAMP_DIR = re.compile(r'^\d{8}_\d{6}$')
# Bookkeeping that mmengine logs beside the metrics of a validation epoch.
NOT_METRICS = frozenset({'step', 'epoch', 'iter', 'time', 'data_time'})
MARKER = 'sweep_run.json'
TRAIN_LOG = 'sweep_train.log'


class SweepFileError(ValueError):
    """A sweep file that cannot be run as written."""


@dataclass
class Run:
    """One row of the sweep: a config trained with some options."""
    name: str
    config: str  # as written in the sweep file, for the table
    config_path: str  # resolved, for the command line
    cfg_options: Dict[str, Any] = field(default_factory=dict)
    # ``key=value`` strings that --cfg-options parses back to cfg_options.
    options: List[str] = field(default_factory=list)


@dataclass
class Sweep:
    runs: List[Run]
    metrics: Optional[List[str]] = None
    title: Optional[str] = None


def safe_name(name: str) -> str:
    """The work dir name of a run called ``name``."""
    return re.sub(r'[^A-Za-z0-9._+-]', '_', name).lstrip('.') or '_'


def format_option(key: str, value: Any) -> str:
    """``key=value`` as ``--cfg-options`` reads it back to ``value``.

    Raises:
        SweepFileError: when ``--cfg-options`` would read it back as
        something else (a string with a comma becomes a list, ``'True'``
        becomes a bool, spaces are dropped...).
    """

    def spell(val: Any) -> str:
        if isinstance(val, (list, tuple)):
            inner = ','.join(spell(v) for v in val)
            return f'[{inner}]' if isinstance(val, list) else f'({inner})'
        if isinstance(val, dict):
            raise SweepFileError(
                f'cfg_options[{key!r}] holds a dict; use one dotted key per '
                f'leaf instead, e.g. {key}.KEY')
        return str(val)

    if not key or '=' in key or re.search(r'\s', key):
        raise SweepFileError(
            f'cfg_options key {key!r}: a dotted config key without "=" or '
            'spaces is needed')
    text = spell(value)
    parsed = DictAction._parse_iterable(text)
    # Reprs, as == takes True for 1 and 1 for 1.0.
    if repr(parsed) != repr(value):
        raise SweepFileError(
            f'cfg_options[{key!r}] = {value!r} cannot be passed through '
            f'--cfg-options (it reads back as {parsed!r}); set it in a '
            'config file instead')
    return f'{key}={text}'


def resolve_config(path: str, sweep_dir: str) -> Optional[str]:
    """``path`` relative to the sweep file's folder, the current directory
    or the repository root, whichever holds it first; None if none does."""
    for base in (sweep_dir, os.getcwd(), REPO):
        candidate = osp.normpath(osp.join(base, osp.expanduser(path)))
        if osp.isfile(candidate):
            return candidate
    return None


def _parse_run(index: int, entry: Any, sweep_dir: str) -> Run:
    where = f'runs[{index}]'
    if not isinstance(entry, dict):
        raise SweepFileError(f'{where} must be a dict with keys {RUN_KEYS}, '
                             f'got {type(entry).__name__}')
    unknown = sorted(set(entry) - set(RUN_KEYS))
    if unknown:
        raise SweepFileError(f'{where}: unknown key(s) {unknown}; allowed: '
                             f'{list(RUN_KEYS)}')
    name = entry.get('name')
    if not isinstance(name, str) or not name.strip():
        raise SweepFileError(f'{where}: "name" must be a non-empty string, '
                             f'got {name!r}')
    where = f'{where} ({name!r})'
    config = entry.get('config')
    if not isinstance(config, str) or not config:
        raise SweepFileError(f'{where}: "config" must be a config file path, '
                             f'got {config!r}')
    config_path = resolve_config(config, sweep_dir)
    if config_path is None:
        raise SweepFileError(
            f'{where}: "config" file {config!r} not found relative to the '
            f'sweep file ({sweep_dir}), the current directory '
            f'({os.getcwd()}) or the repository root ({REPO})')
    cfg_options = entry.get('cfg_options') or {}
    if not isinstance(cfg_options, dict):
        raise SweepFileError(f'{where}: "cfg_options" must be a dict of '
                             f'dotted keys to values, got {cfg_options!r}')
    try:
        options = [format_option(k, v) for k, v in cfg_options.items()]
    except SweepFileError as exc:
        raise SweepFileError(f'{where}: {exc}') from None
    return Run(name, config, config_path, cfg_options, options)


def load_sweep(path: str) -> Sweep:
    """Read and check a sweep file (format in this module's docstring).

    Raises:
        SweepFileError: naming the file, the run and the key at fault.
    """
    if not osp.isfile(path):
        raise SweepFileError(f'sweep file {path} not found')
    try:
        cfg = Config.fromfile(path).to_dict()
        if 'runs' not in cfg:
            raise SweepFileError('no "runs" list: define runs = [dict(name='
                                 '..., config=..., cfg_options=...), ...]')
        unknown = sorted(k for k in set(cfg) - set(SWEEP_KEYS)
                         if not k.startswith('_'))
        if unknown:
            raise SweepFileError(f'unknown key(s) {unknown}; allowed: '
                                 f'{list(SWEEP_KEYS)}')
        entries = cfg['runs']
        if not isinstance(entries, (list, tuple)) or not entries:
            raise SweepFileError(f'"runs" must be a non-empty list, got '
                                 f'{entries!r}')
        sweep_dir = osp.dirname(osp.abspath(path))
        runs = [_parse_run(i, e, sweep_dir) for i, e in enumerate(entries)]
        _check_unique(runs)
        metrics = cfg.get('metrics')
        names_ok = isinstance(metrics, (list, tuple)) and all(
            isinstance(m, str) for m in metrics)
        if metrics is not None and not names_ok:
            raise SweepFileError(f'"metrics" must be a list of metric names '
                                 f'such as "accuracy/top1", got {metrics!r}')
        title = cfg.get('title')
        return Sweep(runs, None if metrics is None else list(metrics),
                     None if title is None else str(title))
    except SweepFileError as exc:
        raise SweepFileError(f'{path}: {exc}') from None


def _check_unique(runs: Sequence[Run]) -> None:
    """Names must differ, and so must the work dirs made of them."""
    owners: Dict[str, str] = {}
    for index, run in enumerate(runs):
        folder = safe_name(run.name)
        owner = owners.get(folder)
        if owner is not None:
            what = (f'name {run.name!r}' if owner == run.name else
                    f'work dir {folder!r}, already that of {owner!r}')
            raise SweepFileError(
                f'runs[{index}] ({run.name!r}): duplicate {what}')
        owners[folder] = run.name


def final_metrics(work_dir: str) -> Dict[str, float]:
    """The last validation record of the latest run logged in ``work_dir``.

    mmengine writes each launch's scalars to
    ``<work_dir>/<YYYYmmdd_HHMMSS>/vis_data/scalars.json``, one JSON object a
    line; training records carry ``iter``, validation records do not. Only
    the latest launch counts, so a run trained again never reports an
    earlier attempt's numbers.

    Returns:
        dict: metric name (e.g. ``'accuracy/top1'``) to value, without
        ``step`` and timings; empty when the latest launch logged no
        validation (or ``work_dir`` holds no launch).
    """
    if not osp.isdir(work_dir):
        return {}
    launches = sorted(d for d in os.listdir(work_dir)
                      if TIMESTAMP_DIR.match(d)
                      and osp.isdir(osp.join(work_dir, d)))
    if not launches:
        return {}
    scalars = osp.join(work_dir, launches[-1], 'vis_data', 'scalars.json')
    if not osp.isfile(scalars):
        return {}
    last: Dict[str, Any] = {}
    with open(scalars) as f:
        for line in f:
            if line.strip():
                record = json.loads(line)
                if 'iter' not in record:
                    last = record
    return {k: v for k, v in last.items() if k not in NOT_METRICS}


def train_command(run: Run, run_dir: str, launcher: str,
                  gpus: int) -> List[str]:
    """The command line that trains ``run`` into ``run_dir``."""
    train_args = [run.config_path, '--work-dir', run_dir,
                  '--launcher', launcher]
    if run.options:
        train_args += ['--cfg-options', *run.options]
    if launcher == 'none':
        return [sys.executable, TRAIN, *train_args]
    return [
        sys.executable, '-m', 'torch.distributed.run',
        f'--nproc_per_node={gpus}',
        f'--master_port={os.environ.get("MASTER_PORT", "29500")}', TRAIN,
        *train_args
    ]


def _settings(run: Run) -> Dict[str, Any]:
    """What a finished run must share with ``run`` to be reused."""
    return dict(config=run.config_path, cfg_options=run.options)


def reusable_metrics(run: Run, run_dir: str) -> Optional[Dict[str, float]]:
    """``run``'s metrics if this tool trained it to completion in
    ``run_dir`` with the same settings, else None."""
    marker = osp.join(run_dir, MARKER)
    if not osp.isfile(marker):
        return None
    with open(marker) as f:
        record = json.load(f)
    if record.get('returncode') != 0 or record.get(
            'settings') != _settings(run):
        return None
    return final_metrics(run_dir) or None


def train(run: Run, run_dir: str, command: List[str]) -> int:
    """Train ``run``; its output goes to a log file in ``run_dir`` (errors
    before mmengine's own logger starts land there too)."""
    os.makedirs(run_dir, exist_ok=True)
    marker = osp.join(run_dir, MARKER)
    # An earlier success must not vouch for this attempt if it is killed.
    if osp.exists(marker):
        os.remove(marker)
    with open(osp.join(run_dir, TRAIN_LOG), 'w') as log:
        returncode = subprocess.call(
            command, stdout=log, stderr=subprocess.STDOUT)
    with open(marker, 'w') as f:
        json.dump(dict(settings=_settings(run), returncode=returncode,
                       command=command), f, indent=2)
    return returncode


def format_metric(value: Any) -> str:
    """2 decimals, as in the paper's tables; ``-`` for a missing value."""
    if value is None:
        return '-'
    return f'{value:.2f}' if isinstance(value, (int, float)) else str(value)


def _cell(value: Any) -> str:
    return str(value).replace('|', '\\|')


def markdown_table(sweep: Sweep, results: List[Dict[str, Any]],
                   metrics: List[str]) -> str:
    """The results as a markdown table, one row a run."""
    header = ['name', 'config', 'cfg-options', *metrics, 'status']
    lines = [] if sweep.title is None else [f'## {sweep.title}', '']
    lines += ['| ' + ' | '.join(_cell(h) for h in header) + ' |',
              '|' + '---|' * len(header)]
    for result in results:
        values = [result['metrics'].get(m) for m in metrics]
        row = [
            result['name'], f'`{result["config"]}`',
            ' '.join(f'`{o}`' for o in result['options']),
            *(format_metric(v) for v in values),
            result['status']
        ]
        lines.append('| ' + ' | '.join(_cell(c) for c in row) + ' |')
    return '\n'.join(lines) + '\n'


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


def _last_line(path: str) -> str:
    """The last non-empty line of a log: for a Python error, the error."""
    with open(path, errors='replace') as f:
        lines = [line.strip() for line in f if line.strip()]
    return lines[-1] if lines else '(empty log)'


def _metrics_note(metrics: Dict[str, float],
                  columns: Optional[List[str]]) -> str:
    shown = [m for m in (columns or metrics) if m in metrics]
    return ', '.join(f'{m}={format_metric(metrics[m])}'
                     for m in shown) or 'no validation metrics'


def run_or_reuse(run: Run, run_dir: str, command: List[str], selected: bool,
                 skip_existing: bool, progress: str,
                 columns: Optional[List[str]] = None) -> Dict[str, Any]:
    """Train ``run`` (or reuse it, or leave it out when not ``selected``),
    printing one progress line; return its row of the results."""
    result = dict(name=run.name, config=run.config,
                  cfg_options=run.cfg_options, options=run.options,
                  work_dir=run_dir, returncode=None, metrics={})
    reused = (reusable_metrics(run, run_dir)
              if skip_existing or not selected else None)
    if reused is not None:
        result.update(status='reused', metrics=reused)
        print(f'{progress} reused {run_dir}: '
              f'{_metrics_note(reused, columns)}', flush=True)
        return result
    if not selected:
        result.update(status='not run')
        print(f'{progress} not run (--only)', flush=True)
        return result
    # The rest of the line follows when training ends.
    print(f'{progress} training in {run_dir} ...', end=' ', flush=True)
    start = time.time()
    returncode = train(run, run_dir, command)
    elapsed = f'{time.time() - start:.0f} s'
    result['returncode'] = returncode
    if returncode != 0:
        result.update(status=f'failed (exit {returncode})')
        log = osp.join(run_dir, TRAIN_LOG)
        print(f'FAILED (exit {returncode}) after {elapsed}: '
              f'{_last_line(log)} (log: {log})', flush=True)
        return result
    result.update(status='done', metrics=final_metrics(run_dir))
    print(f'done in {elapsed}: {_metrics_note(result["metrics"], columns)}',
          flush=True)
    return result


def write_results(sweep: Sweep, results: List[Dict[str, Any]], out: str,
                  work_dir: str, sweep_file: str) -> None:
    """Print the table and write it to ``out``, and results.json to
    ``work_dir``."""
    metrics = sweep.metrics
    if metrics is None:
        metrics = list(dict.fromkeys(m for r in results for m in r['metrics']))
    table = markdown_table(sweep, results, metrics)
    print(table, end='')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        f.write(table)
    os.makedirs(work_dir, exist_ok=True)
    json_path = osp.join(work_dir, 'results.json')
    with open(json_path, 'w') as f:
        json.dump(dict(title=sweep.title, sweep_file=sweep_file,
                       metrics=metrics, runs=results), f, indent=2)
    print(f'table: {out}, results: {json_path}')


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
        command = train_command(run, run_dir, args.launcher, args.gpus)
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
