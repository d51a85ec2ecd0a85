"""Every workaround this project needs for its upstream stack, in one place.

``import mmkd_ccd`` calls :func:`apply_all` before anything imports
``mmrazor.models``. Each shim names the upstream version it targets, the
symptom it fixes, and is covered by ``tests/test_compat.py``. None of them
edits installed files; each is idempotent.

0. :func:`check_versions` -- not a shim: ``import mmkd_ccd`` calls it first
   and refuses package versions outside :data:`SUPPORTED_VERSIONS`.
1. :func:`fix_mmrazor_quantization_import` -- MMRazor 1.0.0 on torch >= 2.x.
2. Checkpoints and whom to trust, mmengine 0.10.7 on torch 2.1 and >= 2.6:
   :func:`allow_mmengine_checkpoint_types` (local files and URLs, errors
   that name the file), :func:`trust_checkpoints_this_process_saves`,
   :func:`allow_torch_load_of_trusted_checkpoints` (torch >= 2.6 only); the
   policy is :func:`trust_checkpoint` and :func:`load_checkpoint_file`.
3. :func:`allow_cpu_distributed` -- mmengine 0.10.7 torchrun and srun without
   a GPU.
4. :func:`load_teacher_checkpoints_strictly` -- MMRazor 1.0.0 teacher_ckpt.
5. MMRazor 1.0.0 (mmcls 1.x era) on mmpretrain 1.x:
   :func:`import_mmcls_as_mmpretrain` (its modules' ``import mmcls``),
   :func:`resolve_mmcls_as_mmpretrain` (its configs),
   :func:`default_classifier_data_preprocessor` (inline classifiers under
   another scope), :func:`read_both_deit_token_layouts` (DeiT's head),
   :func:`draw_mmcls_datasamples` (MMRazor's feature-map visualization),
   :func:`build_ragged_crd_class_lists` (CRD's dataset on numpy >= 1.24).
6. :func:`name_the_image_that_fails_to_load` -- mmcv 2.1.0 image loading.

Shims for exact resume (their own section at the end of this file; the
rest of the machinery is :class:`mmkd_ccd.engine.ExactResumeHook`):

- :func:`write_checkpoints_atomically` -- mmengine 0.10.7 writes checkpoints
  and ``last_checkpoint`` in place.
- :func:`seed_workers_per_iterator` -- mmengine 0.10.7 seeds dataloader
  workers the same way every epoch.

MMRazor 1.0.0's own distillation tests (its ``tests/`` for the distill
algorithms, distillers, distillation losses, connectors, generators,
recorders, deliveries, the distill val loops and hooks, and the CRD data
pipeline) pass with ``import mmkd_ccd`` first, except five that test
behaviour an upstream package changed on purpose:

- ``test_distillation_losses.py::TestLosses::test_dafl_loss`` expects a
  ``RuntimeError`` for a gather without a process group; torch 2.13 raises
  ``ValueError``.
- ``test_distill_val_loop.py::TestSingleTeacherDistillValLoop::test_run``
  and ``TestSelfDistillValLoop::test_run``: their toy model's ``predict``
  returns a dict; mmengine 0.10's ``ValLoop`` reads val losses from the
  list of data samples a model returns (``KeyError: -1``).
- ``test_formatting.py::TestPackClsInputs::test_transform`` and
  ``test_repr`` expect mmcls 1.x's data sample (``gt_label`` a
  ``LabelData``) and ``PackClsInputs``' repr; mmpretrain 1.x keeps
  ``gt_label`` as a tensor and ``PackInputs`` shows its ``input_key`` and
  ``algorithm_keys``.
"""
from __future__ import annotations

import builtins
import functools
import importlib
import importlib.abc
import importlib.machinery
import importlib.metadata
import importlib.util
import inspect
import os
import os.path as osp
import pickle
import subprocess
import sys
import types
import urllib.parse
import warnings
from typing import (Any, Callable, Dict, List, Optional, Sequence, Tuple,
                    Union)

import numpy as np
import torch
from mmengine.config import Config
from mmengine.utils import digit_version
from packaging.specifiers import SpecifierSet

__all__ = [
    'apply_all', 'allow_cpu_distributed', 'allow_mmengine_checkpoint_types',
    'check_versions', 'OPTIONAL_VERSIONS', 'SUPPORTED_VERSIONS',
    'UnsupportedVersionError',
    'allow_torch_load_of_trusted_checkpoints',
    'default_classifier_data_preprocessor', 'describe_state_dict_mismatch',
    'fix_mmrazor_quantization_import', 'import_mmcls_as_mmpretrain',
    'is_trusted', 'last_checkpoint_of', 'load_checkpoint_file',
    'load_named_checkpoint',
    'load_teacher_checkpoints_strictly', 'name_the_image_that_fails_to_load',
    'build_ragged_crd_class_lists', 'draw_mmcls_datasamples',
    'read_both_deit_token_layouts',
    'resolve_mmcls_as_mmpretrain',
    'rewrite_mmcls_references', 'trust_checkpoint',
    'trust_checkpoints_named_by', 'trust_checkpoints_this_process_saves',
    'CheckpointError', 'CheckpointMismatchError', 'CheckpointReadError',
    'QuantizationUnavailableError', 'UntrustedCheckpointError',
    'seed_workers_per_iterator', 'write_checkpoints_atomically'
]


# ---------------------------------------------------------------------------
# 0. The versions mmkd_ccd works with, checked by ``import mmkd_ccd``
# ---------------------------------------------------------------------------
class UnsupportedVersionError(ImportError):
    """Raised by ``import mmkd_ccd`` when an installed package is outside the
    versions mmkd_ccd works with (:data:`SUPPORTED_VERSIONS`)."""


#: Distribution -> (supported versions, why the range ends there). The same
#: ranges are ``install_requires`` (``requirements/runtime.txt``); the tested
#: pins are ``requirements/constraints*.txt``.
SUPPORTED_VERSIONS: Dict[str, Tuple[str, str]] = {
    'torch': ('>=2.1', 'tested with 2.1.2 and 2.13.0'),
    'numpy': ('>=1.25,<2', 'numpy 2 removed np.in1d, which mmpretrain 1.2.0 '
              'calls; the checkpoint shim reads np.dtypes, new in 1.25'),
    'mmengine': ('>=0.10.0,<1.0.0', 'the shims below replace functions of '
                 'mmengine 0.10'),
    'mmcv': ('>=2.0.0,<2.2.0', 'mmrazor 1.0.0 asserts mmcv <= 2.1.0 on '
             'import, mmdet 3.3.0 mmcv < 2.2.0'),
    'mmpretrain': ('>=1.0.0,<2.0.0', 'the mmpretrain 1.x API (DataSample, '
                   'PackInputs)'),
    'mmrazor': ('>=1.0.0,<1.1', 'the shims below target mmrazor 1.0.0'),
    'setuptools': ('<81', "mmengine 0.10 resolves 'mmpretrain::' config paths "
                   'through pkg_resources, which setuptools 81 removed'),
}

#: Checked only when installed: the ``det`` extra.
OPTIONAL_VERSIONS: Dict[str, Tuple[str, str]] = {
    'mmdet': ('>=3.0.0,<4.0.0', 'the mmdet 3.x API; tested with 3.3.0'),
}


def _installed_version(name: str) -> Optional[str]:
    """The installed version of distribution ``name``; ``None`` if it is not
    installed, ``''`` if it imports but has no metadata to read."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return '' if importlib.util.find_spec(name) is not None else None


def check_versions(
        installed: Callable[[str], Optional[str]] = _installed_version
) -> None:
    """Refuse to run on package versions mmkd_ccd does not work with.

    Called by ``import mmkd_ccd`` before the shims below import MMRazor, so
    that, e.g., mmcv 2.2 or numpy 2 stops the import with one message naming
    each package, the version found and the supported range -- instead of
    MMRazor's bare ``AssertionError`` or an ``AttributeError`` deep in
    mmpretrain at the first training step.

    Args:
        installed: maps a distribution name to its installed version, ``None``
            when it is not installed and ``''`` when it cannot be told.
            Defaults to reading the installed packages' metadata.

    Raises:
        UnsupportedVersionError: listing every package outside its range.
    """
    problems, wanted = [], []
    for name, (spec, why) in {**SUPPORTED_VERSIONS,
                              **OPTIONAL_VERSIONS}.items():
        found = installed(name)
        if found is None and name in SUPPORTED_VERSIONS:
            problems.append(f'{name} is not installed; mmkd_ccd needs '
                            f'{name}{spec}')
        elif found and not SpecifierSet(spec).contains(found,
                                                       prereleases=True):
            problems.append(f'{name} {found} is installed; mmkd_ccd supports '
                            f'{name}{spec} ({why})')
        else:
            continue
        wanted.append(f'"{name}{spec}"')
    if problems:
        raise UnsupportedVersionError(
            'mmkd_ccd cannot run with the installed packages:\n  - ' +
            '\n  - '.join(problems) +
            f'\nInstall supported versions, e.g. pip install '
            f'{" ".join(wanted)} (tested stacks: README, "Install").')


_APPLIED: set = set()


def _once(fn: Callable[[], None]) -> Callable[[], None]:

    def wrapper() -> None:
        if fn.__name__ not in _APPLIED:
            fn()
            _APPLIED.add(fn.__name__)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


# ---------------------------------------------------------------------------
# 1. MMRazor 1.0.0 quantization backend configs on torch 2.x
# ---------------------------------------------------------------------------
class QuantizationUnavailableError(RuntimeError):
    """Raised when MMRazor 1.0.0's quantization backends are used on a torch
    whose ``torch.ao`` no longer has the APIs they were written for."""


_BACKEND_CONFIG = 'mmrazor.structures.quantization.backend_config'


class _UnavailableBackendConfigs(dict):
    """Stands in for MMRazor's eagerly built ``BackendConfigs`` table.

    Lookups raise instead of returning ``None`` so that a quantization config
    fails where it is used, with the reason, rather than later and obscurely.
    """

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason

    def __getitem__(self, key: str) -> Any:
        raise QuantizationUnavailableError(
            f'MMRazor 1.0.0 quantization backend {key!r} is unavailable on '
            f'torch {torch.__version__}: {self.reason}. Distillation is not '
            'affected; quantization needs the torch 1.13-2.0 MMRazor 1.0.0 '
            'was written for.')

    get = __getitem__


def _unavailable_module(name: str, reason: str) -> types.ModuleType:
    """A module whose every attribute is a function raising
    :class:`QuantizationUnavailableError` when called."""
    module = types.ModuleType(name)
    module.__doc__ = f'Stand-in installed by mmkd_ccd.compat: {reason}'

    def __getattr__(attr: str) -> Callable:
        if attr.startswith('__'):
            raise AttributeError(attr)

        def unavailable(*args, **kwargs):
            raise QuantizationUnavailableError(
                f'{name}.{attr} is unavailable on torch {torch.__version__}: '
                f'{reason}')

        return unavailable

    module.__getattr__ = __getattr__
    return module


@_once
def fix_mmrazor_quantization_import() -> None:
    """Make ``import mmrazor.models`` work on torch 2.x.

    Target: mmrazor 1.0.0 on torch >= 2.1 (seen with 2.13). Symptom:
    ``import mmrazor.models`` raises ``ImportError: `torch>=1.13` is not
    installed properly`` from
    ``structures/quantization/backend_config/common_operator_config_utils``,
    which imports ``reverse2``/``reverse3``/``reverse_sequential_wrapper2``,
    helpers that ``torch.ao.quantization.fuser_method_mappings`` no longer
    has; ``backend_config/mapping.py`` then builds every quantization backend
    config at import time. Distillation never uses either module.

    Fix: only if that import fails, register stand-ins for those two modules
    before the package is imported again: ``BackendConfigs`` raises
    :class:`QuantizationUnavailableError` on lookup, and every function of
    the helper module raises it when called. Quantization therefore fails
    loudly where it is used; nothing else changes.
    """
    try:
        importlib.import_module(f'{_BACKEND_CONFIG}.mapping')
        return
    except ImportError as exc:
        reason = f'{type(exc).__name__}: {exc}'
    # The failed import left half-initialised packages behind; they would
    # not be executed again.
    for name in list(sys.modules):
        if name.startswith('mmrazor.structures'):
            del sys.modules[name]
    helpers = f'{_BACKEND_CONFIG}.common_operator_config_utils'
    sys.modules[helpers] = _unavailable_module(helpers, reason)
    mapping = types.ModuleType(f'{_BACKEND_CONFIG}.mapping')
    mapping.BackendConfigs = _UnavailableBackendConfigs(reason)
    sys.modules[mapping.__name__] = mapping
    importlib.import_module('mmrazor.structures')


# ---------------------------------------------------------------------------
# 2. Checkpoints: the safe unpickler for every file, full unpickling only for
#    the files the user trusts (mmengine 0.10.7 on torch 2.1 and >= 2.6)
# ---------------------------------------------------------------------------
#: torch >= 2.6 reads a file with its safe unpickler unless told otherwise
#: (``torch.load``'s ``weights_only`` default); older torch, e.g. the torch
#: 2.1 stack, unpickles everything by default.
TORCH_LOAD_IS_SAFE_BY_DEFAULT = (digit_version(torch.__version__) >=
                                 digit_version('2.6.0'))
class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file."""


class UntrustedCheckpointError(CheckpointError, pickle.UnpicklingError):
    """The safe unpickler refused a checkpoint that nobody trusted.

    Also an ``UnpicklingError``, the type of torch's own refusal, so code
    that catches that keeps working."""


class CheckpointReadError(CheckpointError):
    """A checkpoint file that is empty, truncated or not a torch file."""


TRUST_ADVICE = (
    'If you trust this file, name it: tools/train.py --resume PATH, '
    'load_from=PATH, model.teacher_ckpt=PATH or the config key '
    'trusted_checkpoints=[PATH, ...] (tools/train.py and tools/test.py), '
    'or call mmkd_ccd.compat.trust_checkpoint(PATH) before loading it in '
    'Python.')

_TRUSTED: set = set()


def _safe_checkpoint_globals() -> List[Any]:
    """Plain-data types found in checkpoints' ``meta`` (numpy arrays and
    scalars, ``Counter`` milestones of ``MultiStepLR``), safe to rebuild."""
    import _codecs
    import collections

    multiarray = np.core.multiarray
    # _codecs.encode: how torch.save's pickle protocol 2 writes the bytes of
    # a numpy array (torch >= 2.4 admits it itself, torch 2.1 does not).
    found = [collections.Counter, np.ndarray, np.dtype,
             multiarray._reconstruct, multiarray.scalar, _codecs.encode]
    # numpy >= 1.25 pickles dtypes by their concrete class.
    found += [getattr(np.dtypes, name) for name in dir(np.dtypes)
              if name.endswith('DType')]
    return found


def _trust_key(path: Union[str, os.PathLike]) -> str:
    """A URL as written; a file by its real path, so that a link or a
    ``..`` to a trusted file is the same file."""
    path = os.fspath(path)
    if '://' in path:
        return path
    return osp.realpath(osp.expanduser(path))


def trust_checkpoint(path: Union[str, os.PathLike]) -> None:
    """Allow full unpickling of one checkpoint: a file (by its real path) or
    a URL (exactly as written).

    Full unpickling runs whatever code the file holds, so it is allowed only
    for files someone vouched for: ``tools/train.py`` and ``tools/test.py``
    call this for the files a user names (:func:`trust_checkpoints_named_by`)
    and every checkpoint this process's runner saves is trusted
    (:func:`trust_checkpoints_this_process_saves`). Call it yourself for a
    file you trust and load in Python.

    Raises:
        IsADirectoryError: ``path`` is a folder. Folders are never trusted
            as a whole: any file placed in one would run its code.
    """
    key = _trust_key(path)
    if osp.isdir(key):
        raise IsADirectoryError(
            f'trust_checkpoint({os.fspath(path)!r}) names a folder; trust the '
            'checkpoint files in it one by one (a folder is never trusted as '
            'a whole: any file placed in it would run its code)')
    _TRUSTED.add(key)


def is_trusted(path: Union[str, os.PathLike]) -> bool:
    """Whether :func:`trust_checkpoint` trusted this file or URL."""
    return _trust_key(path) in _TRUSTED


def last_checkpoint_of(work_dir: str) -> Optional[str]:
    """The checkpoint that ``work_dir/last_checkpoint`` names (mmengine's
    ``CheckpointHook`` writes that record after each save), or ``None`` if
    there is no record. A relative path in it is relative to the current
    folder, as mmengine reads it."""
    record = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(record):
        return None
    with open(record) as f:
        return f.read().strip() or None


def trust_checkpoints_named_by(cfg: Any) -> None:
    """Trust the checkpoints a config names: ``load_from`` (``--resume
    CKPT`` sets it), ``model.teacher_ckpt``, every entry of
    ``trusted_checkpoints`` and, for ``resume=True`` without ``load_from``,
    the one file ``work_dir/last_checkpoint`` names (mmengine resumes from
    it). Nothing else is trusted: not the rest of the work dir, nor a
    ``Pretrained`` ``init_cfg`` (list it in ``trusted_checkpoints``)."""
    trusted = cfg.get('trusted_checkpoints') or []
    if not (isinstance(trusted, (list, tuple))
            and all(isinstance(path, str) for path in trusted)):
        raise TypeError('trusted_checkpoints must be a list of checkpoint '
                        f'paths or URLs, got {trusted!r}')
    model = cfg.get('model') or {}
    named = [cfg.get('load_from'), model.get('teacher_ckpt'), *trusted]
    if cfg.get('resume') and not cfg.get('load_from') and cfg.get('work_dir'):
        named.append(last_checkpoint_of(cfg.work_dir))
    for path in named:
        if isinstance(path, str) and path:
            trust_checkpoint(path)


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f'{type(error).__name__}: {lines[0] if lines else ""}'


def _refusal_reason(error: BaseException) -> str:
    """The one line of torch's long weights-only message that says what it
    refused (``Unsupported global: GLOBAL module.Class``, ...)."""
    lines = [line.strip() for line in str(error).splitlines()]
    found = next((line for line in lines if 'nsupported' in line), None)
    if found is None:
        return _first_line(error)
    return found.split('WeightsUnpickler error: ')[-1].split(' Please use')[0]


def _refusal(name: str, error: BaseException,
             how_to_trust: str) -> UntrustedCheckpointError:
    return UntrustedCheckpointError(
        f'checkpoint {name}: the safe unpickler (torch.load '
        f'weights_only=True) refused it ({_refusal_reason(error)}). Reading '
        'it fully would run any code the file holds, which this project '
        f'does only for checkpoints you trust. {how_to_trust}')


def _load_weights_only(path: str, map_location: Any,
                       allowed: Sequence[Any]) -> Any:
    """The safe unpickler: ``torch.load(weights_only=True)`` that also
    rebuilds the classes and functions ``allowed``.

    torch >= 2.5 admits them for one load itself
    (``torch.serialization.safe_globals``). torch < 2.5 (tested: 2.1.2, the
    torch 2.1 stack) cannot: it has no ``safe_globals``, and its weights-only
    unpickler instantiates no class but ``Parameter``; there the file is read
    by :func:`_load_restricted` instead.

    Raises:
        pickle.UnpicklingError: naming the first global the file holds that
            is not admitted.
    """
    if hasattr(torch.serialization, 'safe_globals'):
        # Leaving the block removes what it added, also a global that was
        # allowed process-wide before (add_safe_globals): add only new ones.
        before = torch.serialization.get_safe_globals()
        new = [g for g in allowed if g not in before]
        with torch.serialization.safe_globals(new):
            return torch.serialization.load(
                path, map_location=map_location, weights_only=True)
    return _load_restricted(path, map_location, allowed)


def _load_restricted(path: str, map_location: Any,
                     allowed: Sequence[Any]) -> Any:
    """``torch.load`` through a ``pickle.Unpickler`` whose ``find_class``
    admits only the globals torch's own weights-only unpickler admits, plus
    ``allowed``; any other global raises ``pickle.UnpicklingError`` naming
    it. Pickle reaches code only through ``find_class``, so nothing outside
    that list is imported or called."""
    from torch import _weights_only_unpickler
    admitted = {**_weights_only_unpickler._get_allowed_globals(),
                **{f'{g.__module__}.{g.__qualname__}': g for g in allowed}}

    class Unpickler(pickle.Unpickler):

        def find_class(self, module: str, name: str) -> Any:
            key = f'{module}.{name}'
            if key not in admitted:
                raise pickle.UnpicklingError(
                    f'Unsupported global: GLOBAL {key} is not allowed in a '
                    'weights-only load')
            return admitted[key]

    restricted = types.ModuleType('mmkd_ccd_restricted_pickle')
    restricted.Unpickler = Unpickler
    restricted.load = lambda file, **kwargs: Unpickler(file, **kwargs).load()
    return torch.serialization.load(path, map_location=map_location,
                                    weights_only=False,
                                    pickle_module=restricted)


def load_checkpoint_file(path: Union[str, os.PathLike],
                         map_location: Any = None,
                         trusted: Optional[bool] = None,
                         how_to_trust: str = TRUST_ADVICE,
                         safe_globals: Sequence[Any] = (),
                         source: Optional[str] = None) -> Any:
    """Read a checkpoint with this project's trust policy; every error names
    the file.

    The safe unpickler (``torch.load(weights_only=True)``, with the
    plain-data types of :func:`_safe_checkpoint_globals` and
    ``safe_globals``; on torch < 2.5 :func:`_load_restricted`, see
    :func:`_load_weights_only`) reads the file first. Only if it refuses, and the file
    is trusted, is it read again with full unpickling; mmengine checkpoints
    need that (their message hub pickles methods).

    Args:
        path (str | PathLike): The checkpoint file.
        map_location: As for ``torch.load``. Defaults to None.
        trusted (bool, optional): Whether full unpickling is allowed; None
            (the default) asks :func:`is_trusted` about ``source or path``.
        how_to_trust (str): The advice a refusal ends with. Defaults to
            :data:`TRUST_ADVICE`.
        safe_globals (Sequence): More classes or functions the safe
            unpickler may rebuild (e.g. ``argparse.Namespace``). Defaults to
            ().
        source (str, optional): Where the file came from (a URL), named in
            errors and asked about trust. Defaults to None.

    Raises:
        FileNotFoundError: no such file.
        CheckpointReadError: the file is empty, truncated or not a torch
            file.
        UntrustedCheckpointError: the safe unpickler refused a file that is
            not trusted; the message names what it refused and
            ``how_to_trust``.
    """
    path = osp.expanduser(os.fspath(path))
    name = path if source is None else f'{source} (downloaded to {path})'
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {name} can not be found.')
    if osp.getsize(path) == 0:
        raise CheckpointReadError(
            f'checkpoint {name} is empty (0 bytes), not a checkpoint: an '
            'interrupted save or copy?')
    try:
        return _read(path, name, map_location,
                     [*_safe_checkpoint_globals(), *safe_globals])
    except pickle.UnpicklingError as error:
        refusal = error
    if trusted is None:
        trusted = is_trusted(source or path)
    if not trusted:
        raise _refusal(name, refusal, how_to_trust) from refusal
    return _read(path, name, map_location)


def _read(path: str, name: str, map_location: Any,
          safe_globals: Optional[Sequence[Any]] = None) -> Any:
    """``torch.load``: with the safe unpickler admitting also
    ``safe_globals`` (:func:`_load_weights_only`) when they are given, with
    full unpickling when they are None. A file it cannot parse raises
    :class:`CheckpointReadError` naming it. OS errors pass through, and so
    does the safe unpickler's refusal, which the caller weighs against the
    trust policy."""
    safe = safe_globals is not None
    passed = (OSError, pickle.UnpicklingError) if safe else OSError
    try:
        if safe:
            return _load_weights_only(path, map_location, safe_globals)
        return torch.serialization.load(path, map_location=map_location,
                                        weights_only=False)
    except passed:
        raise
    except Exception as error:
        raise CheckpointReadError(
            f'checkpoint {name} cannot be read ({_first_line(error)}): '
            'truncated, or not a file torch.save wrote') from error


def load_named_checkpoint(path: str, map_location: Any = 'cpu') -> Any:
    """Load a checkpoint the user named (a file, URL or any scheme mmengine
    reads, e.g. ``torchvision://``): it is trusted for full unpickling, and
    an error names it. What this project's tools use for the files given on
    their command line.

    Args:
        path (str): The checkpoint the user named.
        map_location: As for ``torch.load``. Defaults to ``'cpu'``.
    """
    from mmengine.runner.checkpoint import CheckpointLoader

    trust_checkpoint(path)
    return CheckpointLoader.load_checkpoint(path, map_location=map_location)


def load_from_local(filename: str, map_location: Any = None) -> Any:
    """mmengine's loader of local files, with :func:`load_checkpoint_file`."""
    return load_checkpoint_file(filename, map_location)


def load_from_http(url: str,
                   map_location: Any = None,
                   model_dir: Optional[str] = None,
                   progress: bool = False) -> Any:
    """mmengine's loader of ``http(s)://`` checkpoints, with the same trust
    policy as local files: download into torch.hub's cache as mmengine
    does (``<hub dir>/checkpoints/<file name of the URL>``, reused when
    present; rank 0 first), then :func:`load_checkpoint_file`, trusted only
    if the URL itself is."""
    from mmengine.dist import get_dist_info

    model_dir = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
    cached = osp.join(model_dir, osp.basename(urllib.parse.urlparse(url).path))

    def download() -> None:
        if not osp.exists(cached):
            os.makedirs(model_dir, exist_ok=True)
            torch.hub.download_url_to_file(url, cached, progress=progress)

    rank, world_size = get_dist_info()
    if rank == 0:
        download()
    if world_size > 1:
        torch.distributed.barrier()
        if rank > 0:
            download()
    return load_checkpoint_file(cached, map_location, source=url)


@_once
def allow_mmengine_checkpoint_types() -> None:
    """Load mmengine's checkpoints under torch's ``weights_only`` default,
    and every checkpoint, local or downloaded, under one trust policy.

    Target: mmengine 0.10.7, which calls ``torch.load`` without
    ``weights_only``. Symptoms on torch >= 2.6 (defaults it to ``True``; the
    torch 2.13 stack): ``--resume``, ``load_from`` and MMRazor's
    ``teacher_ckpt`` raise ``UnpicklingError: Weights only load failed ...
    Unsupported global``. On torch < 2.6 (defaults it to ``False``; the
    torch 2.1 stack): every local file is unpickled fully, so any file given
    as ``load_from``, ``teacher_ckpt`` or a ``Pretrained`` ``init_cfg`` runs
    the code it holds. On both: a file that is empty, truncated or not a
    checkpoint gives a bare ``EOFError``, ``invalid load key`` or miniz error
    without its name; and ``http(s)://`` checkpoints go through
    ``torch.hub.load_state_dict_from_url(weights_only=False)``, which runs
    any code a downloaded file holds.

    Why allow-listing alone cannot work: mmengine saves the message hub,
    whose ``HistoryBuffer`` pickles its statistics methods as
    ``getattr(HistoryBuffer, 'min')``. Allow-listing ``builtins.getattr``
    would let any checkpoint reach arbitrary attributes of allowed objects,
    which defeats the safe unpickler. So:

    - plain-data types (:func:`_safe_checkpoint_globals`) are allow-listed
      for every file: by :func:`load_checkpoint_file` on every torch, and
      on torch >= 2.6 also for torch's own default (a plain ``torch.load``);
    - mmengine's loaders of local files and of ``http(s)://`` URLs (also
      reached through ``torchvision://``, ``open-mmlab://`` and ``mmcls://``)
      are replaced by :func:`load_from_local` and :func:`load_from_http`:
      the safe unpickler first, full unpickling only for a file or URL
      trusted with :func:`trust_checkpoint`, errors that name the file.
      Nothing is relaxed globally.

    Active on both tested stacks, for the reasons above.
    """
    from mmengine.runner import checkpoint

    if TORCH_LOAD_IS_SAFE_BY_DEFAULT:
        torch.serialization.add_safe_globals(_safe_checkpoint_globals())
    checkpoint.CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local, force=True)
    checkpoint.CheckpointLoader.register_scheme(
        prefixes=('http://', 'https://'), loader=load_from_http, force=True)
    # The torchvision://, open-mmlab:// and mmcls:// loaders call this
    # module-level name, not the scheme table.
    checkpoint.load_from_http = load_from_http


@_once
def trust_checkpoints_this_process_saves() -> None:
    """Trust each checkpoint the runner of this process saves.

    Target: mmengine 0.10.7 ``Runner.save_checkpoint``. Symptom, with only
    named files trusted: a run cannot read back what it wrote itself (e.g.
    testing its best checkpoint after training, or MMRazor's tests that
    ``torch.load`` the ``epoch_N.pth`` their runner saved). Fix: after the
    runner saves a local file, that exact file is trusted for the rest of
    the process. Other processes, and other files of the work dir, are not.
    """
    from mmengine.runner import Runner

    original = Runner.save_checkpoint

    @functools.wraps(original)
    def save_checkpoint(self, out_dir: str, filename: str, *args,
                        **kwargs) -> None:
        original(self, out_dir, filename, *args, **kwargs)
        path = osp.join(out_dir, filename)
        if '://' not in path:
            trust_checkpoint(path)

    Runner.save_checkpoint = save_checkpoint


@_once
def allow_torch_load_of_trusted_checkpoints() -> None:
    """Make a plain ``torch.load(path)`` read a trusted mmengine checkpoint.

    Target: torch >= 2.6, whose ``torch.load`` defaults to
    ``weights_only=True`` and so refuses every mmengine checkpoint (its
    message hub). Symptom: user scripts and MMRazor 1.0.0's own tests that
    call ``torch.load('work_dir/epoch_2.pth')`` fail with ``Weights only
    load failed``, and the message does not name the file.

    Fix: for ``torch.load`` called with a path and neither ``weights_only``
    nor ``pickle_module``:
    when torch's safe default refuses the file, it is read fully if it was
    trusted with :func:`trust_checkpoint` (or saved by this process's
    runner); otherwise the refusal becomes an
    :class:`UntrustedCheckpointError` (an ``UnpicklingError``, like torch's)
    that names the file and says how to trust it. Every other outcome, and
    every call with ``weights_only``, a ``pickle_module`` or a file object,
    is torch's own.

    Not needed on torch < 2.6 (the torch 2.1 stack), and not applied there:
    its ``torch.load`` unpickles every file fully by default, which refuses
    nothing to relax. A plain ``torch.load`` in user code stays torch's own
    on every stack; what mmengine, MMRazor and this project's tools load
    follows the trust policy through :func:`allow_mmengine_checkpoint_types`.
    """
    if not TORCH_LOAD_IS_SAFE_BY_DEFAULT:
        return
    original = torch.load

    @functools.wraps(original)
    def load(f, *args, **kwargs) -> Any:
        plain = (len(args) < 2 and kwargs.get('pickle_module') is None
                 and kwargs.get('weights_only') is None
                 and isinstance(f, (str, os.PathLike)))
        if not plain:
            return original(f, *args, **kwargs)
        try:
            return original(f, *args, **kwargs)
        except pickle.UnpicklingError as error:
            if not is_trusted(f):
                raise _refusal(os.fspath(f), error, TRUST_ADVICE) from error
        kwargs['weights_only'] = False
        return original(f, *args, **kwargs)

    torch.load = load


# ---------------------------------------------------------------------------
# 3. mmengine 0.10.7 multi-process runs (torchrun, srun) without a GPU (gloo)
# ---------------------------------------------------------------------------
def _export_slurm_rendezvous(port: Optional[int]) -> None:
    """Set torch.distributed's ``env://`` variables from those srun sets for
    each task, the way mmengine 0.10.7's slurm launcher does: rank
    ``SLURM_PROCID`` of ``SLURM_NTASKS``, master the first host of
    ``SLURM_NODELIST`` (``scontrol show hostname``) unless ``MASTER_ADDR``
    is set, port ``port``, else ``MASTER_PORT``, else 29500."""
    if port is not None:
        os.environ['MASTER_PORT'] = str(port)
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        os.environ['MASTER_ADDR'] = subprocess.getoutput(
            f'scontrol show hostname {os.environ["SLURM_NODELIST"]} | '
            'head -n1')
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    os.environ['RANK'] = os.environ['SLURM_PROCID']
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID',
                                              os.environ['SLURM_PROCID'])


@_once
def allow_cpu_distributed() -> None:
    """Let ``--launcher pytorch`` (torchrun) and ``--launcher slurm`` (srun)
    run on CPU-only machines.

    Target: mmengine 0.10.7. Symptoms, with ``env_cfg.dist_cfg.backend=
    'gloo'`` on a machine without CUDA: ``init_dist('pytorch')`` and
    ``init_dist('slurm')`` call ``torch.cuda.set_device(local_rank)``
    unconditionally (``RuntimeError: Found no NVIDIA driver``; the slurm
    launcher, without ``SLURM_LOCALID``, first divides by the GPU count),
    and the runner wraps the model in
    ``MMDistributedDataParallel(device_ids=[local_rank])``, which torch
    rejects for a CPU module.

    Fix: when CUDA is unavailable, initialise the process group without
    selecting a CUDA device (for slurm, after setting the rendezvous
    variables from srun's as upstream does: :func:`_export_slurm_rendezvous`),
    and build the wrapper without ``device_ids`` for a module whose
    parameters are on the CPU. On GPU machines all three behave exactly as
    upstream.
    """
    import mmengine.dist.utils as dist_utils
    import torch.distributed as torch_dist
    from mmengine.model import MMDistributedDataParallel

    original_init_dist = dist_utils._init_dist_pytorch

    def _init_dist_pytorch(backend, init_backend='torch', **kwargs) -> None:
        if torch.cuda.is_available() or init_backend != 'torch':
            return original_init_dist(backend, init_backend, **kwargs)
        torch_dist.init_process_group(backend=backend, **kwargs)

    dist_utils._init_dist_pytorch = _init_dist_pytorch

    original_init_slurm = dist_utils._init_dist_slurm

    def _init_dist_slurm(backend, port=None, init_backend='torch',
                         **kwargs) -> None:
        if torch.cuda.is_available() or init_backend != 'torch':
            return original_init_slurm(backend, port, init_backend, **kwargs)
        _export_slurm_rendezvous(port)
        torch_dist.init_process_group(backend=backend, **kwargs)

    dist_utils._init_dist_slurm = _init_dist_slurm

    original_wrapper_init = MMDistributedDataParallel.__init__

    def wrapper_init(self, module, *args, **kwargs) -> None:
        first = next(module.parameters(), None)
        if first is not None and first.device.type == 'cpu':
            kwargs.pop('device_ids', None)
        original_wrapper_init(self, module, *args, **kwargs)

    MMDistributedDataParallel.__init__ = wrapper_init


# ---------------------------------------------------------------------------
# 4. MMRazor 1.0.0 loads teacher checkpoints non-strictly
# ---------------------------------------------------------------------------
class CheckpointMismatchError(CheckpointError):
    """A checkpoint whose keys or shapes do not fit the model it is loaded
    into; the message names the file and the keys."""


_MISMATCH_LINES = (('missing', 'missing keys in source state_dict: '),
                   ('unexpected', 'unexpected key in source state_dict: '))


def _wrapped_part(outer: List[str], inner: List[str]) -> Optional[str]:
    """The prefix ``p`` for which the keys ``outer`` are exactly ``inner``
    under ``p.`` (BN counters aside), if any."""
    def counted(keys):
        return {k for k in keys if not k.endswith('num_batches_tracked')}

    inner_set = counted(inner)
    for prefix in sorted({key.split('.', 1)[0] for key in outer}):
        under = counted(k[len(prefix) + 1:] for k in outer
                        if k.startswith(prefix + '.'))
        if inner_set and inner_set <= under:
            return prefix
    return None


def describe_state_dict_mismatch(message: str, shown: int = 8) -> str:
    """Summarise mmengine's strict ``load_state_dict`` error: how many keys
    are missing and unexpected, the first ``shown`` of each, the shape
    mismatches, and a hint when one side is the other under a prefix (a
    classifier checkpoint for a distillation model, or the reverse).

    Args:
        message (str): The text of the ``RuntimeError``.
        shown (int): Keys listed per kind. Defaults to 8.
    """
    found = {}
    lines = [line.strip() for line in message.splitlines()]
    for line in lines:
        for kind, prefix in _MISMATCH_LINES:
            if line.startswith(prefix):
                found[kind] = line[len(prefix):].split(', ')
    parts = [f'{len(keys)} {kind} keys {keys[:shown]}'
             + (' ...' if len(keys) > shown else '')
             for kind, keys in found.items()]
    sizes = [line for line in lines if line.startswith('size mismatch for ')]
    if sizes:
        parts.append(f'{len(sizes)} shape mismatches: ' + ' '.join(sizes[:3]))
    if not parts:
        return message.strip()
    missing, unexpected = found.get('missing', []), found.get('unexpected', [])
    part = _wrapped_part(missing, unexpected)
    if part is not None:
        parts.append(
            f"the file holds the model's {part}.* weights without the "
            f"'{part}.' prefix (e.g. a student exported by "
            "tools/export_student.py): use the config of that model")
    part = _wrapped_part(unexpected, missing)
    if part is not None:
        parts.append(
            f"the file holds this model under '{part}.' (e.g. a "
            "distillation checkpoint, student under 'architecture.'): use "
            'the config it was trained with, or tools/export_student.py')
    return '; '.join(parts)


_TEACHER_LOADERS = (
    'mmrazor.models.algorithms.distill.configurable.single_teacher_distill',
    'mmrazor.models.algorithms.distill.configurable.datafree_distillation',
)


@_once
def load_teacher_checkpoints_strictly() -> None:
    """Refuse a ``teacher_ckpt`` whose keys do not match the teacher.

    Target: mmrazor 1.0.0 ``SingleTeacherDistill`` / ``DataFreeDistillation``,
    which call mmengine's ``load_checkpoint(teacher, teacher_ckpt)`` with
    ``strict=False``. Symptom: a checkpoint of another architecture, or one
    with a ``module.``/``state_dict`` layout the loader does not unwrap, only
    logs a warning and distillation goes on from a random teacher.

    Fix: those modules' ``load_checkpoint`` loads strictly and raises
    :class:`CheckpointMismatchError` (a ``ValueError``) naming the file and
    the missing/unexpected keys.
    """
    from mmengine.runner import load_checkpoint

    def load_teacher(model, filename, *args, **kwargs):
        kwargs['strict'] = True
        try:
            return load_checkpoint(model, filename, *args, **kwargs)
        except RuntimeError as exc:
            if 'do not match' not in str(exc):
                raise
            raise CheckpointMismatchError(
                f'teacher_ckpt {filename} does not fit the teacher '
                f'({type(model).__name__}): '
                f'{describe_state_dict_mismatch(str(exc))}') from exc

    for name in _TEACHER_LOADERS:
        importlib.import_module(name).load_checkpoint = load_teacher


# ---------------------------------------------------------------------------
# 5. mmcls (MMRazor 1.0.0's classification toolbox) -> mmpretrain
# ---------------------------------------------------------------------------
# Classes renamed when mmcls 1.x became mmpretrain 1.x.
MMCLS_RENAMES = {
    'PackClsInputs': 'PackInputs',
    'ClsVisualizer': 'UniversalVisualizer',
    'ClsDataSample': 'DataSample',
}

# Config files renamed when mmcls 1.x became mmpretrain 1.x (that MMRazor
# 1.0.0's configs name).
MMCLS_CONFIG_RENAMES = {
    'deit/deit-base_pt-16xb64_in1k.py': 'deit/deit-base_16xb64_in1k.py',
}


def _rewrite_mmcls_string(value: str) -> str:
    if value == 'mmcls':
        return 'mmpretrain'
    if value.startswith('mmcls::'):
        path = value[len('mmcls::'):]
        return 'mmpretrain::' + MMCLS_CONFIG_RENAMES.get(path, path)
    if value.startswith('mmcls.'):
        head, dot, name = value[len('mmcls.'):].rpartition('.')
        return 'mmpretrain.' + head + dot + MMCLS_RENAMES.get(name, name)
    return value


def rewrite_mmcls_references(obj: Any) -> Any:
    """Return ``obj`` with every ``mmcls`` reference pointed at mmpretrain.

    Rewritten string values: ``'mmcls'`` (scopes), ``'mmcls::path'`` (config
    paths), ``'mmcls.Name'`` (scoped types) and ``'mmcls.pkg.Name'`` (Python
    paths, e.g. MMRazor recorders' ``source``), with the classes and config
    files mmpretrain renamed (:data:`MMCLS_RENAMES`,
    :data:`MMCLS_CONFIG_RENAMES`). Dict keys are left alone.
    """
    if isinstance(obj, str):
        return _rewrite_mmcls_string(obj)
    if isinstance(obj, dict):
        for key, value in obj.items():
            new = rewrite_mmcls_references(value)
            if new is not value:
                dict.__setitem__(obj, key, new)
        return obj
    if isinstance(obj, list):
        return [rewrite_mmcls_references(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(rewrite_mmcls_references(v) for v in obj)
    return obj


@_once
def resolve_mmcls_as_mmpretrain() -> None:
    """Read configs that name ``mmcls`` as if they named mmpretrain.

    Target: mmrazor 1.0.0, whose code and all its shipped classification
    configs were written for mmcls 1.x (``mmcls::`` bases, ``mmcls.`` types,
    ``default_scope='mmcls'``), with mmpretrain 1.x installed and mmcls not.
    Symptom: ``Config.fromfile`` raises ``mmcls is not installed`` for an
    ``mmcls::`` base, and ``mmengine.hub.get_model`` -- which MMRazor uses for
    ``architecture=dict(cfg_path='mmcls::...')`` -- tries to pip-install
    mmcls.

    Fix, at the moment configs are read: ``mmcls::`` base paths resolve to
    mmpretrain's copy of the same file with scope ``mmpretrain`` (also for
    ``mmengine.hub.get_config``/``get_model`` called from Python, e.g. by
    MMRazor for a ``cfg_path`` model), and after a config is loaded
    :func:`rewrite_mmcls_references` rewrites the remaining references. It
    acts only on configs read after ``import mmkd_ccd``, which this
    project's ``tools/*.py`` import first.
    """
    import mmengine.hub.hub as hub

    original_get_cfg_path = Config._get_cfg_path
    original_fromfile = Config.fromfile
    original_split = hub._get_package_and_cfg_path

    def _get_package_and_cfg_path(cfg_path: str):
        return original_split(_rewrite_mmcls_string(cfg_path))

    def _get_cfg_path(cfg_path: str, filename: str):
        return original_get_cfg_path(_rewrite_mmcls_string(cfg_path),
                                     filename)

    def fromfile(*args, **kwargs) -> Config:
        cfg = original_fromfile(*args, **kwargs)
        if isinstance(cfg, Config):
            rewrite_mmcls_references(cfg._cfg_dict)
        return cfg

    Config._get_cfg_path = staticmethod(_get_cfg_path)
    Config.fromfile = staticmethod(fromfile)
    hub._get_package_and_cfg_path = _get_package_and_cfg_path


class _MmclsAliasModule(types.ModuleType):
    """``mmcls.<path>`` standing for ``mmpretrain.<path>``: attributes are
    looked up there, under their mmpretrain names (:data:`MMCLS_RENAMES`)."""

    def __init__(self, name: str, target: types.ModuleType) -> None:
        super().__init__(name, target.__doc__)
        self.__target = target
        if hasattr(target, '__path__'):
            self.__path__: List[str] = []  # a package: submodules alias too

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__target, MMCLS_RENAMES.get(name, name))

    def __dir__(self) -> List[str]:
        return sorted(set(dir(self.__target)) | set(MMCLS_RENAMES))


class _MmclsAliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Import ``mmcls`` and ``mmcls.<path>`` as aliases of mmpretrain."""

    def find_spec(self, fullname: str, path: Any, target: Any = None):
        if fullname != 'mmcls' and not fullname.startswith('mmcls.'):
            return None
        if importlib.util.find_spec('mmpretrain' + fullname[5:]) is None:
            return None
        # origin None: mmengine's is_installed('mmcls') stays False, so
        # mmengine never looks for mmcls's files (its .mim configs).
        return importlib.machinery.ModuleSpec(fullname, self, origin=None)

    def create_module(self, spec) -> types.ModuleType:
        target = importlib.import_module('mmpretrain' + spec.name[5:])
        return _MmclsAliasModule(spec.name, target)

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: the module delegates to mmpretrain's."""


@_once
def import_mmcls_as_mmpretrain() -> None:
    """Let MMRazor's modules that import mmcls at import time use mmpretrain.

    Target: mmrazor 1.0.0, whose modules do ``from mmcls... import X`` and
    fall back to a placeholder class when mmcls 1.x is missing (mmpretrain
    1.x replaced it). Symptoms: ``KDSoftCELoss(reduction='mean')`` raises
    ``PlaceHolder.__init__() got an unexpected keyword argument
    'reduction'``; the CRD packer ``PackCRDClsInputs``, DeiT's
    ``DeiTClsHead`` and every other class built on an mmcls base cannot be
    built.

    Fix: when no real mmcls can be imported, ``mmcls`` and ``mmcls.<path>``
    import as aliases of ``mmpretrain.<path>`` whose attributes carry the
    mmcls names of renamed classes (``ClsDataSample`` -> ``DataSample``,
    ``PackClsInputs`` -> ``PackInputs``, ``ClsVisualizer`` ->
    ``UniversalVisualizer``). In mmengine's registries, the scope ``mmcls``
    (``_scope_='mmcls'``, ``type='mmcls.X'`` in dicts built from Python,
    where no config rewriting happens) finds mmpretrain's registries
    instead of falling back, with a warning, to the calling registry
    (``CIFAR10 is not in the mmrazor::dataset registry``), and a renamed
    class's mmcls name that no registry has (e.g. ``type='PackClsInputs'``
    in MMRazor's own dataset configs) finds the mmpretrain class. The alias
    must exist before MMRazor is
    imported: ``import mmkd_ccd`` installs it first. If MMRazor's models
    were imported before, their placeholders stay, and a warning says so.
    """
    if importlib.util.find_spec('mmcls') is not None:
        return  # a real mmcls: nothing to stand in for
    sys.meta_path.append(_MmclsAliasFinder())

    from mmengine.registry import Registry

    search_child = Registry._search_child

    def _search_child(self, scope: str) -> Optional[Registry]:
        found = search_child(self, scope)
        if found is None and scope == 'mmcls':
            return search_child(self, 'mmpretrain')
        return found

    split_scope_key = Registry.split_scope_key

    def split_mmcls_as_mmpretrain(key: str):
        scope, name = split_scope_key(key)
        return ('mmpretrain' if scope == 'mmcls' else scope), name

    get = Registry.get

    def get_renamed(self, key: str) -> Any:
        found = get(self, key)
        if found is None and isinstance(key, str):
            scope, name = split_scope_key(key)
            if name in MMCLS_RENAMES and scope in (None, 'mmcls',
                                                   'mmpretrain'):
                return get(self, f'mmpretrain.{MMCLS_RENAMES[name]}')
        return found

    Registry._search_child = _search_child
    Registry.split_scope_key = staticmethod(split_mmcls_as_mmpretrain)
    Registry.get = get_renamed
    if 'mmrazor.models' in sys.modules:
        warnings.warn(
            'mmrazor.models was imported before mmkd_ccd: its mmcls-based '
            'classes (KDSoftCELoss, PackCRDClsInputs, DeiTClsHead, ...) keep '
            'their placeholders. Import mmkd_ccd first (custom_imports = '
            "dict(imports=['mmkd_ccd']) does).")


@_once
def default_classifier_data_preprocessor() -> None:
    """Give mmpretrain's ``ImageClassifier`` a data preprocessor that
    builds under any scope.

    Target: mmpretrain 1.2.0 ``ImageClassifier``, whose default
    ``data_preprocessor`` is the unscoped type ``'ClsDataPreprocessor'``.
    Symptom: a classifier written inline in an MMRazor algorithm (e.g.
    BYOT's ``architecture=dict(type='mmcls.ImageClassifier', ...)`` under
    ``_scope_='mmrazor'``) fails with ``ClsDataPreprocessor is not in the
    mmrazor::model registry``. Fix: the default is
    ``'mmpretrain.ClsDataPreprocessor'``, as mmpretrain's own
    ``TimmClassifier`` writes it; a given type is left alone.
    """
    from mmpretrain.models import ImageClassifier

    original = ImageClassifier.__init__
    signature = inspect.signature(original)

    @functools.wraps(original)
    def __init__(self, *args, **kwargs) -> None:
        # MMRazor's SearchableImageClassifier passes it by position.
        bound = signature.bind(self, *args, **kwargs)
        given = bound.arguments.get('data_preprocessor')
        if given is None or isinstance(given, dict):
            bound.arguments['data_preprocessor'] = dict(
                given or {}, type=(given or {}).get(
                    'type', 'mmpretrain.ClsDataPreprocessor'))
        original(*bound.args, **bound.kwargs)

    ImageClassifier.__init__ = __init__


@_once
def read_both_deit_token_layouts() -> None:
    """Let MMRazor's ``DeiTClsHead`` read mmpretrain's DeiT backbone.

    Target: mmrazor 1.0.0 ``DeiTClsHead.pre_logits``, which unpacks the
    last stage as mmcls's ``(patch_token, cls_token, dist_token)``; mmpretrain
    1.x's ``DistilledVisionTransformer`` gives ``(cls_token, dist_token)``
    (``out_type='cls_token'``). Symptom: ``ValueError: not enough values to
    unpack``. Fix: drop the patch token when there is one, as mmpretrain's
    own ``DeiTClsHead`` does.
    """
    from mmrazor.models.architectures.heads.deit_head import DeiTClsHead

    original = DeiTClsHead.pre_logits

    @functools.wraps(original)
    def pre_logits(self, feats):
        *_, cls_token, dist_token = feats[-1]
        return original(self, [(None, cls_token, dist_token)])

    DeiTClsHead.pre_logits = pre_logits


@_once
def draw_mmcls_datasamples() -> None:
    """Give mmpretrain's ``UniversalVisualizer`` the ``add_datasample`` of
    mmcls's ``ClsVisualizer``, which it replaced.

    Target: mmrazor 1.0.0 ``RazorVisualizationHook`` (feature maps of
    recorded teacher/student modules), which calls mmcls 1.x's
    ``ClsVisualizer.add_datasample(name, image, ..., out_file=...)``, on
    mmpretrain 1.2.0, whose ``UniversalVisualizer`` has ``visualize_cls``
    for that and inherits mmengine's ``add_datasample``, which draws
    nothing and takes no ``out_file``. Symptom: ``TypeError:
    Visualizer.add_datasample() got an unexpected keyword argument
    'out_file'``. Fix: ``add_datasample`` with mmcls's arguments calls
    ``visualize_cls`` (an empty ``DataSample`` when none is given), which
    shows, saves to ``out_file`` or logs the image as mmcls did.
    """
    from mmpretrain.structures import DataSample
    from mmpretrain.visualization import UniversalVisualizer

    def add_datasample(self, name: str, image, data_sample=None,
                       draw_gt: bool = True, draw_pred: bool = True,
                       draw_score: bool = True, rescale_factor=None,
                       show: bool = False, text_cfg: Optional[dict] = None,
                       wait_time: float = 0, out_file: Optional[str] = None,
                       step: int = 0) -> None:
        self.visualize_cls(
            image, data_sample if data_sample is not None else DataSample(),
            draw_gt=draw_gt, draw_pred=draw_pred, draw_score=draw_score,
            rescale_factor=rescale_factor, text_cfg=text_cfg or {},
            show=show, wait_time=wait_time, out_file=out_file, name=name,
            step=step)

    UniversalVisualizer.add_datasample = add_datasample


@_once
def build_ragged_crd_class_lists() -> None:
    """Let MMRazor's ``CRDDataset`` index datasets whose classes differ in
    size.

    Target: mmrazor 1.0.0 ``CRDDataset`` (``crd_dataset_wrapper``) on numpy
    >= 1.24. It stores the per-class lists of positive and negative sample
    indices with ``np.asarray(list_of_arrays)``; numpy 1.24 turned the
    deprecated creation of a ragged array into ``ValueError: setting an
    array element with a sequence ... inhomogeneous shape`` (numpy 1.26 is
    this project's pin). Symptom: CRD fails on any dataset whose classes are
    not all the same size. Fix: that module's ``np.asarray`` builds the 1-D
    object array older numpy built when the arrays differ in length; any
    other call is numpy's own.
    """
    import numpy as np
    from mmrazor.datasets import crd_dataset_wrapper

    def asarray(values: Any, *args, **kwargs) -> np.ndarray:
        ragged = (isinstance(values, list) and not args and not kwargs
                  and all(isinstance(v, np.ndarray) for v in values)
                  and len({v.shape for v in values}) > 1)
        if not ragged:
            return np.asarray(values, *args, **kwargs)
        out = np.empty(len(values), dtype=object)
        for index, value in enumerate(values):
            out[index] = value
        return out

    patched = types.ModuleType('numpy', np.__doc__)
    patched.__getattr__ = lambda name: getattr(np, name)
    patched.asarray = asarray
    crd_dataset_wrapper.np = patched


# ---------------------------------------------------------------------------
# 6. mmcv 2.1.0 image loading errors that do not name the file
# ---------------------------------------------------------------------------
def _image_failure(error: BaseException) -> str:
    if '!buf.empty()' in str(error):
        return 'the file is empty (0 bytes)'
    if isinstance(error, AssertionError):  # mmcv: the decoder gave None
        return ('it does not decode as an image: truncated, corrupt or not '
                'an image format OpenCV reads')
    return _first_line(error)


@_once
def name_the_image_that_fails_to_load() -> None:
    """Every error of ``LoadImageFromFile`` names the image file.

    Target: mmcv 2.1.0 ``LoadImageFromFile`` (mmpretrain's and mmdet's).
    Symptom: a 0-byte image raises OpenCV's ``cv2.error ... !buf.empty() in
    function 'imdecode_'`` without the file's path; a truncated or corrupt
    one an ``AssertionError`` (which ``python -O`` would skip). Fix: any
    failure to read or decode the image is an ``OSError`` naming the file
    and the reason; ``ignore_empty=True`` still returns None, and an error
    that already names the file (e.g. ``FileNotFoundError``) is kept.
    """
    from mmcv.transforms import LoadImageFromFile

    original = LoadImageFromFile.transform

    @functools.wraps(original)
    def transform(self, results: dict) -> Optional[dict]:
        try:
            return original(self, results)
        except Exception as error:
            filename = str(results.get('img_path'))
            if isinstance(error, OSError) and filename in str(error):
                raise
            raise OSError(f'failed to load image {filename}: '
                          f'{_image_failure(error)}') from error

    LoadImageFromFile.transform = transform


# ===========================================================================
# Exact resume: mmengine 0.10.7 checkpoint writes and dataloader worker seeds
# ===========================================================================
class _ReplaceOnClose:
    """A file opened for writing under a temporary name beside ``path``;
    closing it flushes it to disk and renames it over ``path``, so that
    ``path`` is always either the old file or the complete new one. Leaving
    a ``with`` block by an exception discards it, ``path`` untouched."""

    def __init__(self, path: str, mode: str, *args, **kwargs) -> None:
        self.path = os.fspath(path)
        folder, name = osp.split(self.path)
        self.tmp_path = osp.join(folder, f'.{name}.{os.getpid()}.tmp')
        self.file = builtins.open(self.tmp_path, mode, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name == 'file':
            raise AttributeError(name)
        return getattr(self.file, name)

    def __enter__(self) -> '_ReplaceOnClose':
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is None:
            self.close()
        else:
            self.file.close()
            os.remove(self.tmp_path)

    def close(self) -> None:
        if self.file.closed:
            return
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.replace(self.tmp_path, self.path)


def _open_replacing(file, mode: str = 'r', *args, **kwargs):
    """``open``, except that a file opened with mode ``'w'``/``'wb'`` is
    written through :class:`_ReplaceOnClose`."""
    if 'w' in mode and isinstance(file, (str, os.PathLike)):
        return _ReplaceOnClose(file, mode, *args, **kwargs)
    return builtins.open(file, mode, *args, **kwargs)


@_once
def write_checkpoints_atomically() -> None:
    """Never leave a half-written checkpoint or ``last_checkpoint``.

    Target: mmengine 0.10.7. ``save_checkpoint`` writes a checkpoint through
    ``LocalBackend.put``, which opens the file with ``open(path, 'wb')`` and
    writes it in place; ``CheckpointHook`` then writes the checkpoint's path
    to ``work_dir/last_checkpoint`` the same way. Symptom: a run killed
    while saving leaves a truncated ``epoch_N.pth`` that ``--resume`` cannot
    read, or an empty ``last_checkpoint`` that a bare ``--resume`` cannot
    follow.

    Fix: in those two modules (``mmengine.fileio.backends.local_backend``
    and ``mmengine.hooks.checkpoint_hook``) ``open`` for writing goes to a
    temporary file in the same folder (``.NAME.PID.tmp``), which is flushed
    to disk and renamed over the target (``os.replace``) when it is closed.
    ``last_checkpoint`` is written after the checkpoint is complete, as
    upstream. A run killed mid-write leaves the previous files intact (and
    at most a hidden ``.tmp`` file). Reading is unchanged.
    """
    from mmengine.fileio.backends import local_backend
    from mmengine.hooks import checkpoint_hook

    local_backend.open = _open_replacing
    checkpoint_hook.open = _open_replacing


def worker_init_fn_per_iterator(worker_id: int, num_workers: int, rank: int,
                                seed: int,
                                disable_subprocess_warning: bool = False
                                ) -> None:
    """mmengine's dataloader worker seeding with torch's per-iterator worker
    seed mixed in (see :func:`seed_workers_per_iterator`).

    Args:
        worker_id (int): The worker's id in ``[0, num_workers)``.
        num_workers (int): The dataloader's workers.
        rank (int): The process's rank.
        seed (int): The run's seed.
        disable_subprocess_warning (bool): Silence warnings in workers other
            than worker 0. Defaults to False.
    """
    import random
    import warnings

    iterator_seed = torch.utils.data.get_worker_info().seed
    worker_seed = int(np.random.SeedSequence(
        [int(seed) % 2**64, rank, worker_id, iterator_seed % 2**64]
    ).generate_state(1, np.uint32)[0])
    random.seed(worker_seed)
    np.random.seed(worker_seed)
    torch.manual_seed(worker_seed)
    if disable_subprocess_warning and worker_id != 0:
        warnings.simplefilter('ignore')


@_once
def seed_workers_per_iterator() -> None:
    """Give dataloader workers new random streams every time they start.

    Target: mmengine 0.10.7 ``Runner.build_dataloader``, whose default
    ``worker_init_fn`` seeds Python's ``random``, numpy and torch in worker
    ``w`` of rank ``r`` with ``seed + num_workers * r + w`` -- the same
    number every time workers start. Symptom: with ``persistent_workers=
    False`` workers restart every epoch, so every epoch replays the first
    epoch's augmentation (random crops, flips, JDA ops).

    Fix: the seed also depends on torch's own worker seed
    (``get_worker_info().seed``: a base seed that torch draws from the main
    process's generator each time a dataloader iterator starts, plus the
    worker id), so it differs between epochs and stays reproducible from
    the run's seed. The runner's default is replaced; a config's own
    ``worker_init_fn`` is left alone. :class:`mmkd_ccd.engine.ExactResumeHook`
    seeds every sample itself and does not depend on this; it matters when
    that hook is switched off.
    """
    from mmengine.runner import runner

    runner.default_worker_init_fn = worker_init_fn_per_iterator


def apply_all() -> None:
    """Apply every shim; called once by ``import mmkd_ccd``."""
    import_mmcls_as_mmpretrain()  # before anything imports mmrazor
    fix_mmrazor_quantization_import()
    allow_mmengine_checkpoint_types()
    trust_checkpoints_this_process_saves()
    allow_torch_load_of_trusted_checkpoints()
    allow_cpu_distributed()
    load_teacher_checkpoints_strictly()
    resolve_mmcls_as_mmpretrain()
    default_classifier_data_preprocessor()
    read_both_deit_token_layouts()
    draw_mmcls_datasamples()
    build_ragged_crd_class_lists()
    name_the_image_that_fails_to_load()
    # Exact resume (section above).
    write_checkpoints_atomically()
    seed_workers_per_iterator()
