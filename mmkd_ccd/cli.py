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
"""
from __future__ import annotations

import argparse
import difflib
import inspect
import os
import os.path as osp
from typing import Any, Dict, List, Optional

from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import FlexibleRunner, Runner

from . import compat

#: Top-level config keys this project's tools read (besides the runner's).
TOOL_KEYS = frozenset({
    'allow_random_teacher',  # bool: distil from a randomly initialised teacher
    'trusted_checkpoints',  # list: more checkpoints to trust (init_cfg ...)
    'load_from_strict',  # bool, default True: load_from must fit the model
})

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
    ``--local-rank``."""
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
