"""Sweeps: lists of training runs (a config and ``--cfg-options``), the
command lines that train them, their final metrics, and reusing the runs
that finished before. ``tools/sweep.py`` runs a sweep file;
:mod:`mmkd_ccd.tools.study` builds its grid of runs from the same pieces.

Sweep file format: see ``tools/sweep.py``.
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config, DictAction

from .tables import format_metric, markdown_table

#: The repository root (the package is installed editable from it).
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

SWEEP_KEYS = ('runs', 'metrics', 'title')
RUN_KEYS = ('name', 'config', 'cfg_options')
# mmengine names each run's log folder by its start time, so the names sort
# by age.
TIMESTAMP_DIR = re.compile(r'^\d{8}_\d{6}$')
# Bookkeeping that mmengine logs beside the metrics of a validation epoch.
NOT_METRICS = frozenset({'step', 'epoch', 'iter', 'time', 'data_time'})
#: A run's record in its work dir: the settings it ran with and how it ended.
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


def _read_back(text: str) -> Any:
    """What ``--cfg-options k=<text>`` gives for ``k``."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--options', nargs='+', action=DictAction)
    return parser.parse_args(['--options', f'k={text}']).options['k']


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
    parsed = _read_back(text)
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


def check_entry(where: str, entry: Any,
                keys: Sequence[str]) -> Tuple[str, str]:
    """Check that an entry of a sweep or study file is a dict of ``keys``
    with a non-empty ``name``; return the name and ``where`` with it (e.g.
    ``runs[2] ('KD')``) for the messages about its other keys.

    Raises:
        SweepFileError: naming ``where`` and the key at fault.
    """
    if not isinstance(entry, dict):
        raise SweepFileError(f'{where} must be a dict with keys '
                             f'{tuple(keys)}, got {type(entry).__name__}')
    unknown = sorted(set(entry) - set(keys))
    if unknown:
        raise SweepFileError(f'{where}: unknown key(s) {unknown}; allowed: '
                             f'{list(keys)}')
    name = entry.get('name')
    if not isinstance(name, str) or not name.strip():
        raise SweepFileError(f'{where}: "name" must be a non-empty string, '
                             f'got {name!r}')
    return name, f'{where} ({name!r})'


def parse_run(where: str, entry: Any, sweep_dir: str,
              keys: Sequence[str] = RUN_KEYS) -> Run:
    """Check one run entry (a dict with ``name``, ``config`` and optional
    ``cfg_options``; ``keys`` lists the keys allowed) and resolve its
    config.

    Raises:
        SweepFileError: naming ``where`` (e.g. ``runs[2] ('KD')``) and the
            key at fault.
    """
    name, where = check_entry(where, entry, keys)
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
    return Run(name, config, config_path, cfg_options,
               parse_options(cfg_options, where))


def parse_options(cfg_options: Any, where: str = '') -> List[str]:
    """The ``key=value`` strings of an entry's ``cfg_options`` (a dict of
    dotted keys to values; None for none), checked with
    :func:`format_option`.

    Raises:
        SweepFileError: naming ``where`` (the entry; empty for the file's
            top level) and the key at fault.
    """
    prefix = f'{where}: ' if where else ''
    cfg_options = cfg_options or {}
    if not isinstance(cfg_options, dict):
        raise SweepFileError(f'{prefix}"cfg_options" must be a dict of '
                             f'dotted keys to values, got {cfg_options!r}')
    try:
        return [format_option(k, v) for k, v in cfg_options.items()]
    except SweepFileError as exc:
        raise SweepFileError(f'{prefix}{exc}') from None


def read_definition(path: str, allowed: Sequence[str], required: str,
                    example: str) -> Dict[str, Any]:
    """The top-level keys of a sweep or study file, checked: ``required``
    must be there (``example`` shows how to write it), and anything but
    ``allowed`` and ``_``-prefixed helpers is a typo.

    Raises:
        SweepFileError: a missing file, a missing ``required`` key or an
            unknown key (the caller prefixes the file's path).
    """
    if not osp.isfile(path):
        raise SweepFileError(f'file {path} not found')
    cfg = Config.fromfile(path).to_dict()
    if required not in cfg:
        raise SweepFileError(f'no "{required}" list: define {example}')
    unknown = sorted(k for k in set(cfg) - set(allowed)
                     if not k.startswith('_'))
    if unknown:
        raise SweepFileError(f'unknown key(s) {unknown}; allowed: '
                             f'{list(allowed)}')
    return cfg


def load_sweep(path: str) -> Sweep:
    """Read and check a sweep file (format in ``tools/sweep.py``).

    Raises:
        SweepFileError: naming the file, the run and the key at fault.
    """
    try:
        cfg = read_definition(
            path, SWEEP_KEYS, 'runs',
            'runs = [dict(name=..., config=..., cfg_options=...), ...]')
        entries = cfg['runs']
        if not isinstance(entries, (list, tuple)) or not entries:
            raise SweepFileError(f'"runs" must be a non-empty list, got '
                                 f'{entries!r}')
        sweep_dir = osp.dirname(osp.abspath(path))
        runs = [parse_run(f'runs[{i}]', e, sweep_dir)
                for i, e in enumerate(entries)]
        check_unique([run.name for run in runs], 'runs')
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


def check_unique(names: Sequence[str], what: str) -> None:
    """Names must differ, and so must the work dirs made of them.

    Raises:
        SweepFileError: naming the entry (``{what}[i]``) at fault.
    """
    owners: Dict[str, str] = {}
    for index, name in enumerate(names):
        folder = safe_name(name)
        owner = owners.get(folder)
        if owner is not None:
            duplicate = (f'name {name!r}' if owner == name else
                         f'work dir {folder!r}, already that of {owner!r}')
            raise SweepFileError(
                f'{what}[{index}] ({name!r}): duplicate {duplicate}')
        owners[folder] = name


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


def train_command(run: Run, run_dir: str, launcher: str, gpus: int,
                  train_script: str) -> List[str]:
    """The command line that trains ``run`` into ``run_dir`` with
    ``train_script`` (``tools/train.py``)."""
    train_args = [run.config_path, '--work-dir', run_dir,
                  '--launcher', launcher]
    if run.options:
        train_args += ['--cfg-options', *run.options]
    if launcher == 'none':
        return [sys.executable, train_script, *train_args]
    return [
        sys.executable, '-m', 'torch.distributed.run',
        f'--nproc_per_node={gpus}',
        f'--master_port={os.environ.get("MASTER_PORT", "29500")}',
        train_script, *train_args
    ]


def _settings(run: Run) -> Dict[str, Any]:
    """What a finished run must share with ``run`` to be reused."""
    return dict(config=run.config_path, cfg_options=run.options)


def read_marker(run_dir: str,
                settings: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The record of a run that finished in ``run_dir`` (exit status 0)
    with these ``settings``, else None (no record, a failure, other
    settings)."""
    marker = osp.join(run_dir, MARKER)
    if not osp.isfile(marker):
        return None
    with open(marker) as f:
        record = json.load(f)
    if record.get('returncode') != 0 or record.get('settings') != settings:
        return None
    return record


def clear_marker(run_dir: str) -> None:
    """Forget the record of ``run_dir``: an earlier success must not vouch
    for an attempt that is killed."""
    os.makedirs(run_dir, exist_ok=True)
    marker = osp.join(run_dir, MARKER)
    if osp.exists(marker):
        os.remove(marker)


def write_marker(run_dir: str, settings: Dict[str, Any], returncode: int,
                 **record: Any) -> None:
    """Record how the run in ``run_dir`` ended (``record``: more JSON
    fields, e.g. its command or metrics)."""
    with open(osp.join(run_dir, MARKER), 'w') as f:
        json.dump(dict(settings=settings, returncode=returncode, **record),
                  f, indent=2)


def reusable_metrics(run: Run, run_dir: str) -> Optional[Dict[str, float]]:
    """``run``'s metrics if this tool trained it to completion in
    ``run_dir`` with the same settings, else None."""
    if read_marker(run_dir, _settings(run)) is None:
        return None
    return final_metrics(run_dir) or None


def train(run: Run, run_dir: str, command: List[str]) -> int:
    """Train ``run``; its output goes to a log file in ``run_dir`` (errors
    before mmengine's own logger starts land there too)."""
    clear_marker(run_dir)
    with open(osp.join(run_dir, TRAIN_LOG), 'w') as log:
        returncode = subprocess.call(
            command, stdout=log, stderr=subprocess.STDOUT)
    write_marker(run_dir, _settings(run), returncode, command=command)
    return returncode


def sweep_table(sweep: Sweep, results: List[Dict[str, Any]],
                metrics: List[str]) -> str:
    """The results as a markdown table, one row a run."""
    header = ['name', 'config', 'cfg-options', *metrics, 'status']
    rows = [[
        result['name'], f'`{result["config"]}`',
        ' '.join(f'`{o}`' for o in result['options']),
        *(format_metric(result['metrics'].get(m)) for m in metrics),
        result['status']
    ] for result in results]
    return markdown_table(header, rows, title=sweep.title)


def last_line(path: str) -> str:
    """The last non-empty line of a log: for a Python error, the error."""
    if not osp.isfile(path):
        return f'(no log at {path})'
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
              f'{last_line(log)} (log: {log})', flush=True)
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
    table = sweep_table(sweep, results, metrics)
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
