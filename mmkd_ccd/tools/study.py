"""Studies: a grid of methods x settings x seeds on one dataset.

A study trains every (method, setting, seed) of its grid -- after an
optional teacher, whose checkpoint every distillation method then uses --
in a pool of worker processes (:mod:`mmkd_ccd.tools.pool`), and reports:

- per method and setting, the mean and the sample standard deviation
  (``ddof=1``) of the metric over the seeds;
- for each comparison (method A, baseline B), the *paired* difference
  ``A_s - B_s`` over the seeds ``s`` both finished, with its mean and a
  95% interval ``mean +- t(0.975, n-1) * sd / sqrt(n)`` (Student's t): the
  runs of one seed share the training subset and the initial random
  state, so pairing removes most of the seed-to-seed spread;
- a plot of the metric against the settings' ``x`` (e.g. the training-set
  fraction), one line per method, error bars one standard deviation; the
  plotted data, read back from the figure, is stored in the PNG's
  ``mmkd_ccd.plot`` text chunk (:func:`read_plot_data`).

A finished run is not trained again: its record (``sweep_run.json`` in its
work dir) holds the command line it ran with and its metrics, and is reused
when the command line is the same -- for a distillation run, also the
teacher's run (its command line and when it finished: a teacher trained
again makes its students train again).

Study file (``.py``, read with mmengine's ``Config.fromfile``)::

    title = 'JDA and CCD on digits'        # optional
    setup = 'mmkd_ccd.datasets.toy_data.ensure_digits'   # optional
    metric = 'accuracy/top1'               # the number the tables report
    split = 'test'                         # 'test' (--test) or 'val'
    teacher = dict(config='...', epochs=30, seed=0, cfg_options={...},
                   work_dir='...')         # optional
    cfg_options = {...}                    # for every method run
    methods = [
        dict(name='KD', config='...', cfg_options={...},
             settings=['5%'],              # optional: only these settings
             plot=True),                   # optional: a line in the plot
    ]
    settings = [
        dict(name='5%', x=5, few_shot=0.05, epochs=150,
             seeds=[0, 1, 2],              # optional, else the study's
             cfg_options={...}),
    ]
    seeds = [0, 1, 2, 3, 4]
    comparisons = [('KD+JDA', 'KD')]       # (method, baseline)
    x_label = 'training set (%)'           # optional
    x_log = True                           # optional: log-scaled x axis

- ``setup``: dotted name of a function called once, without arguments,
  before any run (e.g. writing a bundled dataset); what it returns is
  printed.
- ``teacher``: trained first (also tested on the test split), in
  ``work_dir`` (default ``WORK_DIR/teacher``); studies that name the same
  folder share the teacher.
- A run trains ``tools/train.py CONFIG --work-dir DIR --seed SEED
  [--epochs N] [--few-shot F] [--test] --cfg-options ...`` with the
  options of the study (methods only), the method and the setting, in this
  order (a later one wins), plus ``model.teacher_ckpt`` when the study has
  a teacher and the method's config distils (has ``model.teacher``).
- Paths are relative to the study file, the current directory or the
  repository root (:func:`mmkd_ccd.tools.sweep.resolve_config`).
"""
from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import os.path as osp
import shlex
import sys
import time
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config

from .pool import Progress, WorkerPool
from .sweep import (TRAIN_LOG, Run, SweepFileError, check_entry,
                    check_unique, clear_marker, parse_options, parse_run,
                    read_definition, read_marker, safe_name, write_marker)
from .tables import format_metric, markdown_table

STUDY_KEYS = ('title', 'setup', 'metric', 'split', 'teacher', 'cfg_options',
              'methods', 'settings', 'seeds', 'comparisons', 'x_label',
              'x_log')
METHOD_KEYS = ('name', 'config', 'cfg_options', 'settings', 'plot')
SETTING_KEYS = ('name', 'x', 'few_shot', 'epochs', 'seeds', 'cfg_options')
TEACHER_KEYS = ('name', 'config', 'cfg_options', 'epochs', 'seed',
                'work_dir')
SPLITS = ('test', 'val')
#: Key of the PNG text chunk holding the plotted data.
PLOT_KEY = 'mmkd_ccd.plot'
#: Confidence of the paired intervals.
CONFIDENCE = 0.95


@dataclass
class Setting:
    """A column of the grid: a training set and schedule."""
    name: str
    x: float
    seeds: List[int]
    few_shot: Optional[float] = None
    epochs: Optional[int] = None
    options: List[str] = field(default_factory=list)


@dataclass
class Method:
    """A row of the grid: a config and its options."""
    run: Run
    settings: List[str]
    plot: bool = True
    distils: bool = False

    @property
    def name(self) -> str:
        return self.run.name


@dataclass
class Teacher:
    run: Run
    seed: int = 0
    epochs: Optional[int] = None
    work_dir: Optional[str] = None


@dataclass
class Study:
    methods: List[Method]
    settings: List[Setting]
    metric: str = 'accuracy/top1'
    split: str = 'test'
    title: Optional[str] = None
    setup: Optional[str] = None
    teacher: Optional[Teacher] = None
    options: List[str] = field(default_factory=list)
    comparisons: List[Tuple[str, str]] = field(default_factory=list)
    x_label: str = 'setting'
    x_log: bool = False

    def method(self, name: str) -> Method:
        return next(m for m in self.methods if m.name == name)


@dataclass
class StudyRun:
    """One (method, setting, seed) of the grid, or the teacher."""
    method: str
    setting: str
    seed: int
    run_dir: str
    argv: List[str]
    distils: bool = False

    @property
    def label(self) -> str:
        if self.method == 'teacher' and not self.setting:
            return 'teacher'
        return f'{self.method} | {self.setting} | seed {self.seed}'


# ---------------------------------------------------------------------------
# Study files
# ---------------------------------------------------------------------------
def _int_list(value: Any, where: str) -> List[int]:
    if not (isinstance(value, (list, tuple)) and value and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value)):
        raise SweepFileError(f'{where} must be a non-empty list of integer '
                             f'seeds, got {value!r}')
    if len(set(value)) != len(value):
        raise SweepFileError(f'{where} repeats a seed: {list(value)}')
    return list(value)


def _positive_int(value: Any, where: str) -> Optional[int]:
    """``value`` (None or an integer >= 1, e.g. a number of epochs)."""
    if value is not None and not (isinstance(value, int)
                                  and not isinstance(value, bool)
                                  and value >= 1):
        raise SweepFileError(f'{where} must be a positive integer, got '
                             f'{value!r}')
    return value


def _check_known(where: str, names: Sequence[str], known: List[str],
                 what: str) -> None:
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SweepFileError(f'{where}: unknown {what}(s) {unknown}; the '
                             f'{what}s are {known}')


def _parse_setting(index: int, entry: Any, seeds: List[int]) -> Setting:
    name, where = check_entry(f'settings[{index}]', entry, SETTING_KEYS)
    x = entry.get('x', index)
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise SweepFileError(f'{where}: "x" must be a number, got {x!r}')
    few_shot = entry.get('few_shot')
    if few_shot is not None and not (
            isinstance(few_shot, (int, float)) and 0 < few_shot <= 1):
        raise SweepFileError(f'{where}: "few_shot" must be a fraction in '
                             f'(0, 1], got {few_shot!r}')
    own_seeds = entry.get('seeds')
    return Setting(
        name=name, x=float(x), few_shot=few_shot,
        epochs=_positive_int(entry.get('epochs'), f'{where}: "epochs"'),
        seeds=seeds if own_seeds is None else _int_list(
            own_seeds, f'{where}: "seeds"'),
        options=parse_options(entry.get('cfg_options'), where))


def _parse_method(index: int, entry: Any, study_dir: str,
                  setting_names: List[str]) -> Method:
    where = f'methods[{index}]'
    run = parse_run(where, entry, study_dir, METHOD_KEYS)
    where = f'{where} ({run.name!r})'
    settings = entry.get('settings', setting_names)
    if not isinstance(settings, (list, tuple)) or not settings:
        raise SweepFileError(f'{where}: "settings" must be a non-empty list '
                             f'of setting names, got {settings!r}')
    _check_known(where, settings, setting_names, 'setting')
    plot = entry.get('plot', True)
    if not isinstance(plot, bool):
        raise SweepFileError(f'{where}: "plot" must be True or False, got '
                             f'{plot!r}')
    model = Config.fromfile(run.config_path).get('model') or {}
    return Method(run, list(settings), plot, distils='teacher' in model)


def _parse_teacher(entry: Any, study_dir: str) -> Teacher:
    if not isinstance(entry, dict):
        raise SweepFileError(f'"teacher" must be a dict with keys '
                             f'{TEACHER_KEYS[1:]}, got {entry!r}')
    run = parse_run('teacher', dict(dict(name='teacher'), **entry),
                    study_dir, TEACHER_KEYS)
    seed = entry.get('seed', 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise SweepFileError(f'teacher: "seed" must be an integer, got '
                             f'{seed!r}')
    epochs = _positive_int(entry.get('epochs'), 'teacher: "epochs"')
    work_dir = entry.get('work_dir')
    if work_dir is not None and not isinstance(work_dir, str):
        raise SweepFileError(f'teacher: "work_dir" must be a folder path, got '
                             f'{work_dir!r}')
    return Teacher(run, seed, epochs, work_dir)


def _parse_comparisons(value: Any, names: List[str]) -> List[Tuple[str, str]]:
    comparisons = []
    for index, pair in enumerate(value or []):
        where = f'comparisons[{index}]'
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2):
            raise SweepFileError(f'{where} must be a (method, baseline) '
                                 f'pair of method names, got {pair!r}')
        _check_known(where, pair, names, 'method')
        comparisons.append((pair[0], pair[1]))
    return comparisons


def load_study(path: str) -> Study:
    """Read and check a study file (format in this module's docstring).

    Raises:
        SweepFileError: naming the file, the entry and the key at fault.
    """
    try:
        cfg = read_definition(
            path, STUDY_KEYS, 'methods',
            "methods = [dict(name=..., config=...), ...] and settings = "
            "[dict(name=..., few_shot=..., epochs=...), ...]")
        for key in ('settings', 'seeds'):
            if key not in cfg:
                raise SweepFileError(f'no "{key}" defined')
        seeds = _int_list(cfg['seeds'], '"seeds"')
        entries = cfg['settings']
        if not isinstance(entries, (list, tuple)) or not entries:
            raise SweepFileError(f'"settings" must be a non-empty list, got '
                                 f'{entries!r}')
        settings = [_parse_setting(i, e, seeds) for i, e in enumerate(entries)]
        check_unique([s.name for s in settings], 'settings')
        study_dir = osp.dirname(osp.abspath(path))
        entries = cfg['methods']
        if not isinstance(entries, (list, tuple)) or not entries:
            raise SweepFileError(f'"methods" must be a non-empty list, got '
                                 f'{entries!r}')
        names = [s.name for s in settings]
        methods = [_parse_method(i, e, study_dir, names)
                   for i, e in enumerate(entries)]
        check_unique([m.name for m in methods] + ['teacher'], 'methods')
        split = cfg.get('split', 'test')
        if split not in SPLITS:
            raise SweepFileError(f'"split" must be one of {SPLITS}, got '
                                 f'{split!r}')
        teacher = cfg.get('teacher')
        return Study(
            methods=methods,
            settings=settings,
            metric=str(cfg.get('metric', 'accuracy/top1')),
            split=split,
            title=cfg.get('title'),
            setup=cfg.get('setup'),
            teacher=None if teacher is None else _parse_teacher(
                teacher, study_dir),
            options=parse_options(cfg.get('cfg_options')),
            comparisons=_parse_comparisons(cfg.get('comparisons'),
                                           [m.name for m in methods]),
            x_label=str(cfg.get('x_label', 'setting')),
            x_log=bool(cfg.get('x_log', False)))
    except SweepFileError as exc:
        raise SweepFileError(f'{path}: {exc}') from None


# ---------------------------------------------------------------------------
# The grid
# ---------------------------------------------------------------------------
def train_argv(config_path: str, run_dir: str, seed: int,
               options: Sequence[str], test: bool,
               epochs: Optional[int] = None,
               few_shot: Optional[float] = None) -> List[str]:
    """``tools/train.py``'s arguments for one run."""
    argv = [config_path, '--work-dir', run_dir, '--seed', str(seed)]
    if epochs is not None:
        argv += ['--epochs', str(epochs)]
    if few_shot is not None:
        argv += ['--few-shot', str(few_shot)]
    if test:
        argv.append('--test')
    # A name of its own keeps mmengine's per-name logger and visualizer
    # instances of two runs in one worker apart (the names it makes differ
    # only by the second the run started).
    options = [*options, f'experiment_name={safe_name(run_dir)}']
    return argv + ['--cfg-options', *options]


def teacher_run(study: Study, work_dir: str) -> Optional[StudyRun]:
    """The teacher's run, if the study has a teacher. It is tested on the
    test split whatever the study's split, so that studies naming the same
    ``teacher.work_dir`` share one teacher."""
    if study.teacher is None:
        return None
    teacher = study.teacher
    run_dir = teacher.work_dir or osp.join(work_dir, 'teacher')
    return StudyRun('teacher', '', teacher.seed, run_dir, train_argv(
        teacher.run.config_path, run_dir, teacher.seed, teacher.run.options,
        True, teacher.epochs))


def grid(study: Study, work_dir: str) -> List[StudyRun]:
    """Every (method, setting, seed) run, seed by seed (so that a study
    stopped half way holds whole seeds), then setting by setting."""
    runs = []
    seeds = sorted({s for setting in study.settings for s in setting.seeds})
    for seed in seeds:
        for setting in study.settings:
            if seed not in setting.seeds:
                continue
            for method in study.methods:
                if setting.name not in method.settings:
                    continue
                run_dir = osp.join(work_dir, safe_name(method.name),
                                   safe_name(setting.name), f'seed{seed}')
                options = study.options + method.run.options + setting.options
                runs.append(StudyRun(
                    method.name, setting.name, seed, run_dir,
                    train_argv(method.run.config_path, run_dir, seed,
                               options, study.split == 'test',
                               setting.epochs, setting.few_shot),
                    distils=method.distils))
    return runs


def with_teacher(run: StudyRun, checkpoint: Optional[str]) -> List[str]:
    """``run``'s arguments, with the study's teacher for a distillation
    run."""
    if not run.distils or checkpoint is None:
        return run.argv
    return run.argv + [f'model.teacher_ckpt={checkpoint}']


# ---------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------
def mean_std(values: Sequence[float]) -> Tuple[float, Optional[float]]:
    """Mean and sample standard deviation (``ddof=1``; None for one
    value)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, None
    return mean, math.sqrt(sum((v - mean)**2 for v in values) / (n - 1))


def t_quantile(probability: float, dof: int) -> float:
    """Student's t quantile (scipy, a requirement of this package)."""
    from scipy.stats import t
    return float(t.ppf(probability, dof))


def paired_difference(values: Dict[int, float], baseline: Dict[int, float],
                      confidence: float = CONFIDENCE) -> Optional[dict]:
    """The paired difference ``values[s] - baseline[s]`` over the seeds in
    both.

    Returns:
        dict | None: ``n``, ``mean``, ``std`` and the ``confidence``
        interval ``low``, ``high`` of the mean (t with ``n - 1`` degrees of
        freedom; None, None for n = 1); None when no seed is in both.
    """
    seeds = sorted(set(values) & set(baseline))
    if not seeds:
        return None
    differences = [values[s] - baseline[s] for s in seeds]
    mean, std = mean_std(differences)
    low = high = None
    if std is not None:
        half = t_quantile((1 + confidence) / 2, len(seeds) - 1) * std / (
            math.sqrt(len(seeds)))
        low, high = mean - half, mean + half
    return dict(n=len(seeds), seeds=seeds, mean=mean, std=std, low=low,
                high=high)


def summarize(records: Sequence[dict]) -> Dict[str, Dict[str, dict]]:
    """``{method: {setting: cell}}`` over the records that have a value;
    a cell holds ``values`` (seed -> value), ``n``, ``mean`` and ``std``
    (:func:`mean_std`)."""
    values: Dict[str, Dict[str, Dict[int, float]]] = {}
    for record in records:
        if record.get('value') is not None and record['method'] != 'teacher':
            values.setdefault(record['method'], {}).setdefault(
                record['setting'], {})[record['seed']] = record['value']
    summary: Dict[str, Dict[str, dict]] = {}
    for method, by_setting in values.items():
        for setting, by_seed in by_setting.items():
            mean, std = mean_std([by_seed[s] for s in sorted(by_seed)])
            summary.setdefault(method, {})[setting] = dict(
                values=dict(sorted(by_seed.items())), n=len(by_seed),
                mean=mean, std=std)
    return summary


def compare(study: Study, summary: Dict[str, Dict[str, dict]]) -> List[dict]:
    """One row per comparison and setting: :func:`paired_difference`."""
    rows = []
    for method, baseline in study.comparisons:
        for setting in study.settings:
            ours = summary.get(method, {}).get(setting.name)
            theirs = summary.get(baseline, {}).get(setting.name)
            if ours and theirs:
                difference = paired_difference(ours['values'],
                                               theirs['values'])
                if difference is not None:
                    rows.append(dict(method=method, baseline=baseline,
                                     setting=setting.name, **difference))
    return rows


# ---------------------------------------------------------------------------
# Tables and plot
# ---------------------------------------------------------------------------
def _mean_std_cell(cell: Optional[dict], planned: int) -> str:
    if not cell:
        return '-'
    text = format_metric(cell['mean'])
    if cell['std'] is not None:
        text += f' ± {format_metric(cell["std"])}'
    if cell['n'] != planned:
        text += f' (n={cell["n"]})'
    return text


def results_table(study: Study, summary: Dict[str, Dict[str, dict]]) -> str:
    """Mean ± std over seeds, a row per method, a column per setting; a
    cell with fewer seeds than planned says how many it has."""
    rows = []
    for method in study.methods:
        rows.append([method.name] + [
            _mean_std_cell(summary.get(method.name, {}).get(s.name),
                           len(s.seeds)) if s.name in method.settings else ''
            for s in study.settings
        ])
    return markdown_table(['method'] + [s.name for s in study.settings], rows,
                          ['left'] + ['right'] * len(study.settings))


def _difference_cell(row: Optional[dict]) -> str:
    if row is None:
        return '-'
    text = f'{row["mean"]:+.2f}'
    if row['low'] is not None:
        text += f' [{row["low"]:+.2f}, {row["high"]:+.2f}]'
    return text + f' (n={row["n"]})'


def comparison_table(study: Study, rows: List[dict]) -> str:
    """Paired differences with their 95% intervals, a row per comparison,
    a column per setting."""
    cells = {(r['method'], r['baseline'], r['setting']): r for r in rows}
    body = [[f'{method} − {baseline}'] + [
        _difference_cell(cells.get((method, baseline, s.name)))
        for s in study.settings
    ] for method, baseline in study.comparisons]
    return markdown_table(['difference'] + [s.name for s in study.settings],
                          body, ['left'] + ['right'] * len(study.settings))


def plotted_series(ax) -> List[dict]:
    """The data of every error-bar line drawn on ``ax``, read back from the
    artists: label, x, y and the half-length of each error bar."""
    series = []
    for container in ax.containers:
        line, _, bars = container.lines
        segments = bars[0].get_segments() if bars else []
        series.append(dict(
            label=container.get_label(),
            x=[float(v) for v in line.get_xdata()],
            y=[float(v) for v in line.get_ydata()],
            yerr=[float(s[1][1] - s[0][1]) / 2 for s in segments]))
    return series


def plot_study(study: Study, summary: Dict[str, Dict[str, dict]],
               path: str, note: str = '') -> List[dict]:
    """Plot the metric against the settings' ``x``, one line per method
    with ``plot=True``, error bars one standard deviation over the seeds;
    write ``path`` (PNG) with the plotted data in its
    :data:`PLOT_KEY` text chunk. Returns that data."""
    import matplotlib
    matplotlib.use('Agg')  # no display needed, and none on servers
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120, layout='constrained')
    for method in study.methods:
        cells = summary.get(method.name, {})
        points = [(s.x, cells[s.name]['mean'], cells[s.name]['std'] or 0.0)
                  for s in study.settings
                  if method.plot and s.name in cells]
        if points:
            xs, ys, errors = zip(*points)
            ax.errorbar(xs, ys, yerr=errors, marker='o', capsize=3,
                        label=method.name)
    if study.x_log:
        ax.set_xscale('log')
    ax.set_xticks([s.x for s in study.settings],
                  [s.name for s in study.settings])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(study.x_label)
    ax.set_ylabel(f'{study.metric} ({study.split} split)')
    ax.set_title((study.title or '') + (f'\n{note}' if note else ''),
                 fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    data = plotted_series(ax)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, metadata={PLOT_KEY: json.dumps(data)})
    plt.close(fig)
    return data


def read_plot_data(path: str) -> List[dict]:
    """The plotted data stored in a study plot (:func:`plot_study`)."""
    from PIL import Image
    with Image.open(path) as image:
        return json.loads(image.text[PLOT_KEY])


# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------
def _record(run: StudyRun, study: Study, outcome: Dict[str, Any],
            status: str) -> dict:
    """The results.json entry of a run that ended with ``outcome``
    (:func:`mmkd_ccd.tools.pool.train_in_worker`'s dict)."""
    record = dict(method=run.method, setting=run.setting, seed=run.seed,
                  run_dir=run.run_dir, log=osp.join(run.run_dir, TRAIN_LOG),
                  status=status, value=None, seconds=outcome.get('seconds'),
                  finished=time.time())
    if outcome['returncode'] != 0:
        record.update(status='failed', error=outcome.get('error'))
        return record
    result = outcome['result']
    metrics = (result['test_metrics'] if study.split == 'test' else
               result['val_metrics']) or {}
    record.update(metrics=metrics, checkpoint=result.get('checkpoint'))
    if study.metric not in metrics:
        record.update(status='failed', error=(
            f'no {study.metric} in the {study.split} metrics: '
            f'{sorted(metrics)}'))
    else:
        record['value'] = float(metrics[study.metric])
    return record


def _call_setup(name: str) -> Any:
    """Call the study's ``setup`` function, given by its dotted name."""
    module, _, function = name.rpartition('.')
    try:
        setup: Callable[[], Any] = getattr(importlib.import_module(module),
                                           function)
    except (ImportError, AttributeError, ValueError) as error:
        raise SweepFileError(
            f'setup: cannot import {name!r}: {error}') from None
    return setup()


class _Scheduler:
    """Feeds the pool: the teacher first, the runs that need it once it has
    finished. A run that finished before with the same command line (and,
    for a distillation run, the same teacher run) is reused untrained."""

    def __init__(self, study: Study, work_dir: str, pool: WorkerPool,
                 progress: Progress) -> None:
        self.study, self.pool, self.progress = study, pool, progress
        self.teacher = teacher_run(study, work_dir)
        self.teacher_record: Optional[dict] = None
        self.records: List[dict] = []
        self.pending: List[StudyRun] = []
        runs = grid(study, work_dir)
        for run in ([self.teacher] if self.teacher else []) + runs:
            # Before its teacher is trained anew, a distillation run
            # cannot have finished with it.
            found = None if self._waits(run) else read_marker(
                run.run_dir, self._settings_of(run))
            if found is None:
                self.pending.append(run)
            else:
                self._finish(run, dict(found['record'], status='reused'),
                             line=False)

    def _teacher_checkpoint(self) -> Optional[str]:
        return (self.teacher_record or {}).get('checkpoint')

    def _waits(self, run: StudyRun) -> bool:
        return (run.distils and self.teacher is not None
                and self.teacher_record is None)

    def _argv(self, run: StudyRun) -> List[str]:
        return with_teacher(run, self._teacher_checkpoint())

    def _settings_of(self, run: StudyRun) -> dict:
        """What a finished run must share with ``run`` to be reused: the
        command line and, for a distillation run, the teacher's run (its
        command line and when it finished, so that a teacher trained again
        is a new teacher)."""
        teacher = None
        if run.distils and self.teacher is not None:
            teacher = dict(argv=self.teacher.argv,
                           finished=self.teacher_record.get('finished'))
        return dict(argv=self._argv(run), teacher=teacher)

    def _finish(self, run: StudyRun, record: dict, line: bool) -> None:
        if run is self.teacher:
            self.teacher_record = record
        else:
            self.records.append(record)
        if line:
            value = (format_metric(record['value'])
                     if record['value'] is not None else record['status'])
            why = f' ({record.get("error")}; log: {record["log"]})' if (
                record['status'] == 'failed') else ''
            seconds = record.get('seconds') or 0
            print(self.progress.advance(
                f'{run.label}: {value}{why} in {seconds:.0f} s'), flush=True)
        else:
            self.progress.reuse()

    def _take_ready(self) -> Optional[StudyRun]:
        """The next run to train; finishes the runs whose teacher failed on
        the way."""
        while True:
            run = next((r for r in self.pending if not self._waits(r)), None)
            if run is None:
                return None
            self.pending.remove(run)
            if (run.distils and self.teacher is not None
                    and self._teacher_checkpoint() is None):
                self._finish(run, _record(run, self.study, dict(
                    returncode=1, error='the teacher has no checkpoint'),
                    'not run'), line=True)
                continue
            return run

    def run(self) -> List[dict]:
        """Train what is not reusable; return the records (the teacher's
        first, when there is a teacher)."""
        in_flight: Dict[Any, Tuple[StudyRun, dict, float]] = {}
        while True:
            while len(in_flight) < self.pool.workers:
                run = self._take_ready()
                if run is None:
                    break
                clear_marker(run.run_dir)
                future = self.pool.submit(
                    self._argv(run), osp.join(run.run_dir, TRAIN_LOG))
                in_flight[future] = (run, self._settings_of(run),
                                     self.progress.elapsed())
            if not in_flight:
                break
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                run, settings, started = in_flight.pop(future)
                outcome = future.result()
                outcome['seconds'] = self.progress.elapsed() - started
                record = _record(run, self.study, outcome, 'done')
                write_marker(run.run_dir, settings, outcome['returncode'],
                             record=record)
                self._finish(run, record, line=True)
        teacher = [self.teacher_record] if self.teacher_record else []
        return teacher + self.records


def run_study(study: Study, work_dir: str, workers: int,
              cpu_threads: int = 1) -> List[dict]:
    """Train (or reuse) every run of ``study`` in ``work_dir``; return
    the records, the teacher's first when there is a teacher."""
    if study.setup:
        message = _call_setup(study.setup)
        if message:
            print(f'[study] {message}', flush=True)
    runs = len(grid(study, work_dir)) + (study.teacher is not None)
    progress = Progress(runs)
    with WorkerPool(workers, work_dir, cpu_threads) as pool:
        scheduler = _Scheduler(study, work_dir, pool, progress)
        print(f'[study] {runs} runs in {work_dir}: {progress.reused} '
              f'finished before, {runs - progress.reused} to train in '
              f'{workers} worker process(es) x {cpu_threads} thread(s); '
              f'each run logs to <run dir>/{TRAIN_LOG}', flush=True)
        records = scheduler.run()
    print(f'[study] trained {progress.trained}, reused {progress.reused} '
          f'finished run(s) in {progress.elapsed():.0f} s', flush=True)
    return records


def dry_run(study: Study, work_dir: str) -> List[str]:
    """The ``tools/train.py`` command lines of the study (the teacher's
    checkpoint as ``TEACHER_CKPT``)."""
    teacher = teacher_run(study, work_dir)
    runs = ([teacher] if teacher else []) + grid(study, work_dir)
    return [shlex.join(['python', 'tools/train.py',
                        *with_teacher(run, 'TEACHER_CKPT'
                                      if teacher else None)])
            for run in runs]


def seeds_note(settings: Sequence[Setting]) -> str:
    """The seeds the settings ran, e.g. ``seeds 0-9 (5%, 10%); 0-4 (25%)``;
    one list when all settings ran the same seeds."""

    def seed_list(seeds: List[int]) -> str:
        if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
            return f'{seeds[0]}-{seeds[-1]}'
        return ', '.join(map(str, seeds))

    groups: Dict[str, List[str]] = {}
    for setting in settings:
        groups.setdefault(seed_list(setting.seeds), []).append(setting.name)
    if len(groups) == 1:
        return f'seeds {next(iter(groups))}'
    return 'seeds ' + '; '.join(f'{seeds} ({", ".join(names)})'
                                for seeds, names in groups.items())


def report(study: Study, records: List[dict], work_dir: str,
           study_file: str, out: Optional[str] = None) -> str:
    """Write ``results.json``, the tables (``out``, default
    ``results.md``) and ``plot.png`` to ``work_dir``; return the text of
    the tables."""
    teacher = next((r for r in records if r['method'] == 'teacher'), None)
    summary = summarize(records)
    differences = compare(study, summary)
    heading = (f'{study.metric} on the {study.split} split, mean ± std over '
               f'{seeds_note(study.settings)}')
    lines = [f'## {study.title}' if study.title else '## Study', '']
    if teacher is not None:
        teacher_value = (format_metric(teacher['value'])
                         if teacher['value'] is not None else
                         teacher['status'])
        lines += [f'Teacher (`{osp.relpath(study.teacher.run.config_path)}`'
                  f', seed {teacher["seed"]}): {teacher_value} '
                  f'{study.metric} ({study.split}).', '']
    lines += [f'{heading}:', '', results_table(study, summary)]
    if study.comparisons:
        lines += [
            'Paired differences (the same seed: the same training subset and '
            f'initialisation), mean and {CONFIDENCE:.0%} t interval:', '',
            comparison_table(study, differences)
        ]
    failed = [r for r in records if r['status'] in ('failed', 'not run')]
    if failed:
        lines += [f'{len(failed)} run(s) failed or did not run: ' + ', '.join(
            f'{r["method"]} | {r["setting"]} | seed {r["seed"]} '
            f'({r.get("error")})' for r in failed), '']
    text = '\n'.join(lines)
    os.makedirs(work_dir, exist_ok=True)
    out = out or osp.join(work_dir, 'results.md')
    with open(out, 'w') as f:
        f.write(text)
    plot = osp.join(work_dir, 'plot.png')
    plotted = plot_study(study, summary, plot, heading)
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        json.dump(dict(title=study.title, study_file=study_file,
                       metric=study.metric, split=study.split,
                       teacher=teacher, runs=[r for r in records
                                              if r is not teacher],
                       summary=summary, comparisons=differences,
                       plot=plotted), f, indent=2)
    return text


# ---------------------------------------------------------------------------
# Command line (tools/study.py, tools/demo.py)
# ---------------------------------------------------------------------------
def parse_args(argv: Optional[Sequence[str]] = None,
               default_work_dir: Optional[str] = None) -> argparse.Namespace:
    """The command line of ``tools/study.py``; ``default_work_dir``
    defaults to ``work_dirs/studies/<study file name>``."""
    from mmkd_ccd.cli import usable_cores
    cores = usable_cores()
    parser = argparse.ArgumentParser(
        description='Train a grid of methods x settings x seeds; tabulate '
        'and plot the results.')
    parser.add_argument('study_file', help='study file (.py)')
    parser.add_argument(
        '--work-dir', default=default_work_dir,
        help='runs go to WORK_DIR/<method>/<setting>/seed<N> (default: '
        'work_dirs/studies/<study file name>)')
    parser.add_argument(
        '--workers', type=int, default=cores,
        help=f'worker processes training runs at once (default: the '
        f'{cores} usable cores)')
    parser.add_argument(
        '--cpu-threads', type=int, default=1,
        help='torch threads per worker without CUDA (default: 1)')
    parser.add_argument(
        '--out', help='the tables (default: WORK_DIR/results.md)')
    parser.add_argument(
        '--dry-run', action='store_true',
        help='print the tools/train.py command lines, run nothing')
    args = parser.parse_args(argv)
    if args.workers < 1 or args.cpu_threads < 1:
        parser.error('--workers and --cpu-threads must be >= 1')
    if args.work_dir is None:
        stem = osp.splitext(osp.basename(args.study_file))[0]
        args.work_dir = osp.join('work_dirs', 'studies', stem)
    return args


def main(argv: Optional[Sequence[str]] = None,
         default_work_dir: Optional[str] = None) -> int:
    """Run a study file; 0 when every run finished, else 1."""
    args = parse_args(argv, default_work_dir)
    try:
        study = load_study(args.study_file)
        if args.dry_run:
            print('\n'.join(dry_run(study, args.work_dir)))
            return 0
        records = run_study(study, args.work_dir, args.workers,
                            args.cpu_threads)
    except SweepFileError as exc:
        sys.exit(f'study: {exc}')
    text = report(study, records, args.work_dir, args.study_file, args.out)
    print('\n' + text)
    out = args.out or osp.join(args.work_dir, 'results.md')
    print(f'plot: {osp.join(args.work_dir, "plot.png")}\n'
          f'tables: {out}; every run: '
          f'{osp.join(args.work_dir, "results.json")}')
    failed = any(r['status'] in ('failed', 'not run') for r in records)
    return 1 if failed else 0
