"""What tools/train.py and tools/test.py share: the MMRazor/mmpretrain-style
command-line arguments, reading the config with them, and building the
runner -- with the checks that keep a run from going silently wrong:

- a ``--cfg-options`` key that nothing reads is an error
  (:func:`check_cfg_options`);
- ``resume=True`` without ``load_from`` (a bare ``--resume``) resumes from
  the checkpoint ``work_dir/last_checkpoint`` names, and is an error when
  there is none (:func:`resolve_resume`);
- a distillation run whose teacher no checkpoint initialises is refused
  unless ``allow_random_teacher=True`` (:func:`check_teacher_initialised`);
- ``load_from`` (the checkpoint of ``tools/test.py``, ``--resume``) must fit
  the model key for key unless ``load_from_strict=False`` (``--no-strict``)
  (:func:`load_checkpoints_strictly`);
- only the checkpoints the config names are trusted for full unpickling
  (:func:`mmkd_ccd.compat.trust_checkpoints_named_by`).

It also holds the whole of both tools, so that ``tools/study.py`` trains in
its worker processes exactly what ``tools/train.py`` trains:
:func:`train_main` / :func:`train` and :func:`test_main`. Both end with a
one-line summary of the final metrics and the checkpoint; CPU runs first
choose a thread count that does not oversubscribe the cores
(:func:`configure_cpu_threads`).
"""
from __future__ import annotations

import argparse
import difflib
import inspect
import os
import os.path as osp
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config, DictAction
from mmengine.dist import is_main_process
from mmengine.fileio import dump
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import FlexibleRunner, Runner

from . import compat
from .engine import add_training_hooks
from .tools.config_switches import set_epochs, set_seed, wrap_few_shot
from .tools.tables import format_metric

#: Top-level config keys this project's tools read (besides the runner's).
TOOL_KEYS = frozenset({
    'allow_random_teacher',  # bool: distil from a randomly initialised teacher
    'trusted_checkpoints',  # list: more checkpoints to trust (init_cfg ...)
    'load_from_strict',  # bool, default True: load_from must fit the model
})

#: Environment variable: torch threads of a run without CUDA
#: (:func:`configure_cpu_threads`).
CPU_THREADS_ENV = 'MMKD_CPU_THREADS'

#: Top-level config keys mmengine's runners read.
RUNNER_KEYS = frozenset(
    set(inspect.signature(Runner.__init__).parameters)
    | set(inspect.signature(FlexibleRunner.__init__).parameters)
    | {'model_wrapper_cfg', 'sync_bn', 'find_unused_parameters',
       'activation_checkpointing', 'efficient_conv_bn_eval', 'compile',
       'runner_type', 'custom_imports'}) - {'self', 'cfg'}


class ConfigKeyError(KeyError):
    """A config key that is misspelled or has no effect. Its message is
    shown as written (a ``KeyError`` shows the repr of its argument)."""

    def __str__(self) -> str:
        return str(self.args[0])


def add_runner_args(parser: argparse.ArgumentParser) -> None:
    """``--work-dir``, ``--cfg-options``, ``--no-strict``, ``--launcher``,
    ``--local-rank``, ``--cpu-threads``."""
    parser.add_argument('--work-dir', help='where logs and checkpoints go')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. train_cfg.max_epochs=2')
    parser.add_argument(
        '--no-strict',
        dest='strict',
        action='store_false',
        help='load a checkpoint (load_from, --resume, the test checkpoint) '
        'even if some of its keys do not fit the model; only the keys that '
        'fit are loaded (config: load_from_strict=False)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher (pytorch = torchrun)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument(
        '--cpu-threads',
        type=int,
        help='torch threads of a run without CUDA (default: '
        f'${CPU_THREADS_ENV}, else $OMP_NUM_THREADS, else half the usable '
        'cores shared by the processes of this machine)')


def _paths_to(cfg: Any, leaf: str, value: Any, prefix: str = '') -> List[str]:
    """Dotted paths in ``cfg`` whose last key is ``leaf`` or whose value is
    the string ``value``."""
    found = []
    items = (cfg.items() if isinstance(cfg, dict) else enumerate(cfg)
             if isinstance(cfg, (list, tuple)) else ())
    for key, item in items:
        path = f'{prefix}{key}'
        if key == leaf or (isinstance(value, str) and item == value):
            found.append(path)
        found += _paths_to(item, leaf, value, path + '.')
    return found


def check_cfg_options(cfg: Config, options: Dict[str, Any],
                      config: str) -> None:
    """Refuse ``--cfg-options`` keys that would change nothing.

    A key's first component must be a key the runner or these tools read
    (:data:`RUNNER_KEYS`, :data:`TOOL_KEYS`), or a key of the config. A key
    of the config that neither reads is a variable of the config file (e.g.
    ``teacher_ckpt``, ``data_root``): its value was copied into the keys
    that use it when the file was read, so setting it now changes nothing.

    Args:
        cfg (Config): The config, before the options are merged.
        options (dict): The parsed ``--cfg-options``.
        config (str): The config's path, for the message.

    Raises:
        ConfigKeyError: naming the key, with the close matches (misspelled)
            or the keys that use the variable.
    """
    for option, value in options.items():
        given = f'--cfg-options {option}={value}'
        top = option.split('.', 1)[0]
        if top in RUNNER_KEYS or top in TOOL_KEYS:
            continue
        if top not in cfg:
            # a misspelling, or a nested key given without its parents
            close = difflib.get_close_matches(
                top, sorted(set(cfg) | RUNNER_KEYS | TOOL_KEYS), n=3)
            close += _paths_to(cfg._cfg_dict, top, None)[:3]
            raise ConfigKeyError(
                f'{given}: {config} has no key {top!r} and '
                'nothing reads it'
                + (f'; did you mean {" or ".join(close)}?' if close else ''))
        uses = [path for path in _paths_to(cfg._cfg_dict, top, cfg[top])
                if path != top]
        raise ConfigKeyError(
            f'{given}: {top!r} is a variable of {config}, '
            'copied into the keys that use it when the file was read, so '
            'setting it now changes nothing'
            + (f'; set {" or ".join(uses[:4])} instead' if uses else ''))


def load_config(args: argparse.Namespace) -> Config:
    """Read ``args.config`` and apply the runner arguments to it."""
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        check_cfg_options(cfg, args.cfg_options, args.config)
        cfg.merge_from_dict(args.cfg_options)
    if not getattr(args, 'strict', True):
        cfg.load_from_strict = False
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    return cfg


def resolve_resume(cfg: Config) -> None:
    """For ``resume=True`` without ``load_from`` (a bare ``--resume``), set
    ``load_from`` to the checkpoint that ``work_dir/last_checkpoint`` names,
    the record mmengine's ``CheckpointHook`` writes after each save.

    Raises:
        FileNotFoundError: there is no record, or the file it names does not
            exist. Training from scratch instead would silently throw away
            the run the user meant to continue.
    """
    if not cfg.get('resume') or cfg.get('load_from'):
        return
    record = osp.join(cfg.work_dir, 'last_checkpoint')
    path = compat.last_checkpoint_of(cfg.work_dir)
    if path is None:
        raise FileNotFoundError(
            f'--resume: nothing to resume in {cfg.work_dir}: there is no '
            f'{record} (a run writes it when it saves a checkpoint). Give '
            'the checkpoint (--resume CKPT), check --work-dir, or drop '
            '--resume to train from scratch.')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'--resume: {record} names {path}, which does not exist. Give '
            'the checkpoint to resume from (--resume CKPT).')
    print_log(f'--resume: resuming from {path} (named by {record})',
              logger='current')
    cfg.load_from = path


def _loads_a_checkpoint(module_cfg: Any) -> bool:
    """Whether a (teacher) model config initialises weights from a
    checkpoint: a ``Pretrained`` ``init_cfg`` or a ``pretrained`` entry
    (e.g. ``cfg_path=..., pretrained=True``), at any depth."""
    if isinstance(module_cfg, (list, tuple)):
        return any(_loads_a_checkpoint(item) for item in module_cfg)
    if not isinstance(module_cfg, dict):
        return False
    if module_cfg.get('type') == 'Pretrained' or module_cfg.get('pretrained'):
        return True
    return any(_loads_a_checkpoint(item) for item in module_cfg.values())


def check_teacher_initialised(cfg: Config) -> None:
    """Refuse a distillation run (``model.teacher`` in the config) whose
    teacher no checkpoint initialises: no ``model.teacher_ckpt``, no
    ``Pretrained`` ``init_cfg`` or ``pretrained`` in the teacher, no
    ``load_from`` (which, loaded strictly, holds the teacher too).

    ``allow_random_teacher=True`` in the config allows it (tests, smoke
    runs).

    Raises:
        ValueError: naming ``model.teacher_ckpt`` and
            ``allow_random_teacher``.
    """
    model = cfg.get('model') or {}
    if ('teacher' not in model or cfg.get('allow_random_teacher')
            or cfg.get('load_from') or model.get('teacher_ckpt')
            or _loads_a_checkpoint(model['teacher'])):
        return
    raise ValueError(
        'model.teacher_ckpt: no checkpoint initialises the teacher of this '
        'distillation run (model.teacher_ckpt is not set, the teacher has '
        'no Pretrained init_cfg, no load_from), so the student would learn '
        'from random weights. Set model.teacher_ckpt=PATH (e.g. '
        '--cfg-options model.teacher_ckpt=PATH; a top-level '
        'teacher_ckpt=PATH only sets a variable of the config file). To '
        'distil from a random teacher on purpose (tests, smoke runs), set '
        'allow_random_teacher=True.')


def load_checkpoints_strictly(runner: Runner) -> None:
    """Make ``runner`` load ``load_from`` (and resume) strictly: a
    checkpoint whose keys or shapes do not fit the model raises
    :class:`mmkd_ccd.compat.CheckpointMismatchError` naming the file and
    the keys, instead of mmengine's warning and a partly random model."""
    original = runner.load_checkpoint
    model_name = type(runner.model).__name__

    def load_checkpoint(filename: str, map_location: Any = 'cpu',
                        strict: bool = True,
                        revise_keys: Optional[list] = None) -> dict:
        if revise_keys is None:
            revise_keys = [(r'^module.', '')]  # mmengine's default
        try:
            return original(filename, map_location, True, revise_keys)
        except RuntimeError as error:
            if 'do not match' not in str(error):
                raise
            raise compat.CheckpointMismatchError(
                f'{filename} does not fit the model of this config '
                f'({model_name}): '
                f'{compat.describe_state_dict_mismatch(str(error))}. To '
                'load only the keys that fit, pass --no-strict (config: '
                'load_from_strict=False).') from error

    runner.load_checkpoint = load_checkpoint


def build_runner(cfg: Config) -> Runner:
    """The config's runner, after the checks of this module and after
    trusting the checkpoints the config names."""
    resolve_resume(cfg)
    check_teacher_initialised(cfg)
    compat.trust_checkpoints_named_by(cfg)
    if 'runner_type' in cfg:
        runner = RUNNERS.build(cfg)
    else:
        runner = Runner.from_cfg(cfg)
    if cfg.get('load_from_strict', True):
        load_checkpoints_strictly(runner)
    return runner


# ---------------------------------------------------------------------------
# CPU threads
# ---------------------------------------------------------------------------
def usable_cores() -> int:
    """The CPU cores this process may run on."""
    if hasattr(os, 'sched_getaffinity'):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def configure_cpu_threads(requested: Optional[int] = None) -> Optional[str]:
    """Set torch's thread count for a run without CUDA.

    torch's default, one thread per core, oversubscribes the cores as soon
    as anything else runs on them (data-loading workers, other processes of
    the run, other jobs): measured on 2 shared cores, a digits KD+JDA
    iteration took 657 ms with 2 threads and 146 ms with 1. The count is,
    first found: ``requested`` (``--cpu-threads``), the environment
    variable :data:`CPU_THREADS_ENV`, ``OMP_NUM_THREADS`` (which torch has
    applied already), else half the cores this process may use, shared by
    the processes of this machine (``LOCAL_WORLD_SIZE``), at least 1.

    Args:
        requested (int, optional): The thread count asked for. Defaults to
            None.

    Returns:
        str | None: what was chosen and why, for the log; None when CUDA is
        available (nothing is changed then).

    Raises:
        ValueError: a count that is not a positive integer, naming where it
            came from.
    """
    if torch.cuda.is_available():
        return None
    cores = usable_cores()
    if requested is not None:
        given, source = requested, '--cpu-threads'
    elif os.environ.get(CPU_THREADS_ENV):
        given, source = os.environ[CPU_THREADS_ENV], f'${CPU_THREADS_ENV}'
    elif os.environ.get('OMP_NUM_THREADS'):
        given, source = torch.get_num_threads(), '$OMP_NUM_THREADS'
    else:
        processes = int(os.environ.get('LOCAL_WORLD_SIZE', 1))
        given = max(1, cores // (2 * processes))
        source = (f'half of {cores} usable cores over {processes} '
                  'process(es)')
    count = int(given) if str(given).isdigit() else 0
    if count < 1:
        raise ValueError(f'{source}: the number of CPU threads must be a '
                         f'positive integer, got {given!r}')
    torch.set_num_threads(count)
    return (f'CPU run: {count} torch thread(s) ({source}; set it with '
            f'--cpu-threads N or ${CPU_THREADS_ENV})')


# ---------------------------------------------------------------------------
# tools/train.py and tools/test.py
# ---------------------------------------------------------------------------
@dataclass
class RunResult:
    """How a training run ended.

    Attributes:
        work_dir (str): Where its logs and checkpoints are.
        val_metrics (dict): The metrics of its last validation (empty if
            none ran).
        epoch (int, optional): The epoch that validation followed.
        test_metrics (dict, optional): The test metrics (``--test``).
        checkpoint (str, optional): Its last checkpoint, None if it saved
            none.
        log_file (str, optional): mmengine's log file of the run.
    """
    work_dir: str
    val_metrics: Dict[str, Any] = field(default_factory=dict)
    epoch: Optional[int] = None
    test_metrics: Optional[Dict[str, Any]] = None
    checkpoint: Optional[str] = None
    log_file: Optional[str] = None

    def to_dict(self) -> dict:
        return asdict(self)


class _LastValidation(Hook):
    """Keeps the metrics of the latest validation and its epoch."""
    priority = 'LOWEST'

    def __init__(self) -> None:
        self.metrics: Dict[str, Any] = {}
        self.epoch: Optional[int] = None

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        self.metrics = {key: value.item() if hasattr(value, 'item') else value
                        for key, value in (metrics or {}).items()}
        self.epoch = runner.epoch


def parse_train_args(
        argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The command line of ``tools/train.py``."""
    parser = argparse.ArgumentParser(
        description='Train a model (distillation or plain) from an '
        'mmengine config.')
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
    parser.add_argument(
        '--epochs',
        type=int,
        help='train N epochs: the lr schedule, validation and checkpoint '
        'intervals follow (see mmkd_ccd.tools.config_switches.set_epochs)')
    parser.add_argument(
        '--few-shot',
        type=float,
        metavar='FRACTION',
        help='train on a class-stratified FRACTION of the training set, '
        "drawn with the run's seed (FewShotDataset)")
    parser.add_argument(
        '--seed',
        type=int,
        help='seed of the run (default: randomness.seed of the config, '
        'else 0)')
    parser.add_argument(
        '--test',
        action='store_true',
        help='after training, evaluate the final model with the test '
        'dataloader')
    add_runner_args(parser)
    return parser.parse_args(argv)


def _train_config(args: argparse.Namespace) -> Tuple[Config, List[str]]:
    """The training config of ``args`` and what its switches changed."""
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
    notes = [set_seed(cfg, args.seed, bool(cfg.get('resume')))]
    if args.epochs is not None:
        notes += set_epochs(cfg, args.epochs)
    if args.few_shot is not None:
        seed = cfg.randomness.get('seed')
        if seed is None:
            raise ValueError(
                '--few-shot with --resume: pass the --seed of the run being '
                'resumed; it draws the training subset')
        notes.append(wrap_few_shot(cfg, args.few_shot, seed))
    return cfg, notes


def build_train_config(args: argparse.Namespace) -> Config:
    """The config ``tools/train.py`` trains for ``args``: the config file
    with ``--cfg-options``, the training hooks
    (:func:`mmkd_ccd.engine.add_training_hooks`), then ``--amp``,
    ``--auto-scale-lr``, ``--resume``, the seed, ``--epochs`` and
    ``--few-shot``."""
    return _train_config(args)[0]


def train(args: argparse.Namespace) -> RunResult:
    """Train as ``tools/train.py`` does, in this process: the checks of
    this module, the training hooks, the switches, then (``--test``) a test
    of the final model."""
    threads = configure_cpu_threads(args.cpu_threads)
    cfg, notes = _train_config(args)
    runner = build_runner(cfg)
    for note in ([threads] if threads else []) + notes:
        runner.logger.info(note)
    last = _LastValidation()
    runner.register_hook(last)
    runner.train()
    test_metrics = runner.test() if args.test else None
    return RunResult(
        work_dir=cfg.work_dir,
        val_metrics=last.metrics,
        epoch=last.epoch,
        test_metrics=test_metrics,
        checkpoint=compat.last_checkpoint_of(cfg.work_dir),
        log_file=osp.join(runner.log_dir, f'{runner.timestamp}.log'))


def metrics_text(metrics: Dict[str, Any]) -> str:
    """``name=value`` pairs, 2 decimals, for a summary line."""
    return ', '.join(f'{key}={format_metric(value)}'
                     for key, value in metrics.items()) or 'no metrics'


def train_summary(result: RunResult) -> str:
    """The line ``tools/train.py`` ends with."""
    parts = [f'val after epoch {result.epoch}: '
             f'{metrics_text(result.val_metrics)}'
             if result.val_metrics else 'no validation ran']
    if result.test_metrics is not None:
        parts.append(f'test: {metrics_text(result.test_metrics)}')
    parts.append(f'checkpoint: {result.checkpoint or "none saved"}')
    return 'train.py: ' + ' | '.join(parts)


def train_main(argv: Optional[Sequence[str]] = None) -> RunResult:
    """``tools/train.py``: train, then print :func:`train_summary`."""
    result = train(parse_train_args(argv))
    if is_main_process():
        print(train_summary(result), flush=True)
    return result


def parse_test_args(
        argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The command line of ``tools/test.py``."""
    parser = argparse.ArgumentParser(
        description="Evaluate a checkpoint with a config's test dataloader "
        'and metrics.')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='dump the metrics to this json file')
    parser.add_argument('--amp', action='store_true', help='test with AMP')
    add_runner_args(parser)
    return parser.parse_args(argv)


def test_main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """``tools/test.py``: test a checkpoint, then print one line with the
    metrics and the checkpoint; return the metrics."""
    args = parse_test_args(argv)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')
    threads = configure_cpu_threads(args.cpu_threads)
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    if args.amp:
        cfg.test_cfg.fp16 = True
    runner = build_runner(cfg)
    if threads:
        runner.logger.info(threads)
    metrics = runner.test()
    if args.out:
        dump(metrics, args.out)
    if is_main_process():
        written = f' | written to {args.out}' if args.out else ''
        print(f'test.py: {metrics_text(metrics)} | checkpoint: '
              f'{args.checkpoint}{written}', flush=True)
    return metrics
