"""Every workaround this project needs for its upstream stack, in one place.

``import mmkd_ccd`` calls :func:`apply_all` before anything imports
``mmrazor.models``. Each shim names the upstream version it targets, the
symptom it fixes, and is covered by ``tests/test_compat.py``. None of them
edits installed files; each is idempotent.

0. :func:`check_versions` -- not a shim: ``import mmkd_ccd`` calls it first
   and refuses package versions outside :data:`SUPPORTED_VERSIONS`.
1. :func:`fix_mmrazor_quantization_import` -- MMRazor 1.0.0 on torch >= 2.x.
2. :func:`allow_mmengine_checkpoint_types` -- mmengine 0.10.7 on torch >= 2.6
   (with :func:`trust_checkpoint` for the checkpoints a user names).
3. :func:`allow_cpu_distributed` -- mmengine 0.10.7 torchrun and srun without
   a GPU.
4. :func:`load_teacher_checkpoints_strictly` -- MMRazor 1.0.0 teacher_ckpt.
5. :func:`resolve_mmcls_as_mmpretrain` -- MMRazor 1.0.0 (mmcls 1.x era) on
   mmpretrain 1.x.
6. :func:`load_weights_only` -- torch < 2.5 has no ``safe_globals``; called
   by the checkpoint converters, not applied on import.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import os.path as osp
import pickle
import subprocess
import sys
import types
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from mmengine.utils import digit_version
from packaging.specifiers import SpecifierSet

__all__ = [
    'apply_all', 'allow_cpu_distributed', 'allow_mmengine_checkpoint_types',
    'check_versions', 'load_weights_only', 'OPTIONAL_VERSIONS',
    'SUPPORTED_VERSIONS', 'UnsupportedVersionError',
    'fix_mmrazor_quantization_import', 'load_teacher_checkpoints_strictly',
    'resolve_mmcls_as_mmpretrain', 'rewrite_mmcls_references',
    'trust_checkpoint', 'trust_checkpoints_named_by',
    'QuantizationUnavailableError'
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
# 2. mmengine 0.10.7 checkpoints under torch >= 2.6 (weights_only=True)
# ---------------------------------------------------------------------------
def _safe_checkpoint_globals() -> List[Any]:
    """Plain-data types found in checkpoints' ``meta`` (numpy arrays and
    scalars, ``Counter`` milestones of ``MultiStepLR``), safe to rebuild."""
    import collections

    import numpy as np

    multiarray = np.core.multiarray
    found = [collections.Counter, np.ndarray, np.dtype,
             multiarray._reconstruct, multiarray.scalar]
    # numpy >= 1.25 pickles dtypes by their concrete class.
    found += [getattr(np.dtypes, name) for name in dir(np.dtypes)
              if name.endswith('DType')]
    return found


_TRUSTED_FILES: set = set()
_TRUSTED_DIRS: set = set()


def trust_checkpoint(path: str) -> None:
    """Allow full unpickling of ``path`` -- a file, or a folder whose files
    are all trusted -- when the safe unpickler refuses it.

    ``tools/train.py`` and ``tools/test.py`` call this for the checkpoints a
    user names (:func:`trust_checkpoints_named_by`); call it yourself for a
    checkpoint you trust that you load by other means.
    """
    real = osp.realpath(osp.expanduser(path))
    (_TRUSTED_DIRS if osp.isdir(real) else _TRUSTED_FILES).add(real)


def trust_checkpoints_named_by(cfg: Any) -> None:
    """Trust the checkpoints a config names: ``load_from`` (``--resume CKPT``
    sets it), ``model.teacher_ckpt`` and, when resuming from the latest
    checkpoint, the ``work_dir`` that mmengine takes it from."""
    named = [cfg.get('load_from'), cfg.get('model', {}).get('teacher_ckpt')]
    if cfg.get('resume') and not cfg.get('load_from'):
        named.append(cfg.get('work_dir'))
    for path in named:
        if isinstance(path, str) and osp.exists(osp.expanduser(path)):
            trust_checkpoint(path)


def _is_trusted(path: str) -> bool:
    real = osp.realpath(path)
    return real in _TRUSTED_FILES or any(
        real.startswith(folder + os.sep) for folder in _TRUSTED_DIRS)


def _load_local_checkpoint(filename: str, map_location=None) -> Any:
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} can not be found.')
    try:
        return torch.load(filename, map_location=map_location,
                          weights_only=True)
    except pickle.UnpicklingError as exc:
        if not _is_trusted(filename):
            raise pickle.UnpicklingError(
                f'{filename}: the safe unpickler (torch.load weights_only='
                'True) refused this checkpoint. mmengine checkpoints need '
                'full unpickling; mmkd_ccd allows it only for checkpoints '
                'you name (--resume, load_from, teacher_ckpt through '
                'tools/train.py or tools/test.py, or '
                'mmkd_ccd.compat.trust_checkpoint(path)).\n'
                f'{exc}') from exc
        return torch.load(filename, map_location=map_location,
                          weights_only=False)


@_once
def allow_mmengine_checkpoint_types() -> None:
    """Load mmengine's checkpoints under torch's ``weights_only`` default.

    Target: mmengine 0.10.7 (calls ``torch.load`` without ``weights_only``)
    on torch >= 2.6 (defaults it to ``True``). Symptom: ``--resume``,
    ``load_from`` and MMRazor's ``teacher_ckpt`` raise ``UnpicklingError:
    Weights only load failed ... Unsupported global``.

    Why allow-listing alone cannot work: mmengine saves the message hub,
    whose ``HistoryBuffer`` pickles its statistics methods as
    ``getattr(HistoryBuffer, 'min')``. Allow-listing ``builtins.getattr``
    would let any checkpoint reach arbitrary attributes of allowed objects,
    which defeats the safe unpickler. So:

    - plain-data types (:func:`_safe_checkpoint_globals`) are allow-listed
      for every file;
    - mmengine's local-file loader is replaced by one that tries the safe
      unpickler first and falls back to full unpickling *only* for files
      trusted with :func:`trust_checkpoint`; any other file gets an error
      that says how to trust it. Nothing is relaxed globally.
    """
    from mmengine.runner.checkpoint import CheckpointLoader

    if digit_version(torch.__version__) < digit_version('2.6.0'):
        return  # torch.load still defaults to full unpickling
    torch.serialization.add_safe_globals(_safe_checkpoint_globals())
    CheckpointLoader.register_scheme(
        prefixes='', loader=_load_local_checkpoint, force=True)


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
    ``ValueError`` naming the file and the missing/unexpected keys.
    """
    from mmengine.runner import load_checkpoint

    def load_teacher(model, filename, *args, **kwargs):
        kwargs['strict'] = True
        try:
            return load_checkpoint(model, filename, *args, **kwargs)
        except RuntimeError as exc:
            raise ValueError(
                f'teacher_ckpt {filename} does not match the teacher '
                f'({type(model).__name__}): {exc}') from exc

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


def _rewrite_mmcls_string(value: str) -> str:
    if value == 'mmcls':
        return 'mmpretrain'
    for sep in ('::', '.'):
        prefix = 'mmcls' + sep
        if value.startswith(prefix):
            rest = value[len(prefix):]
            head, dot, name = rest.rpartition('.')
            name = MMCLS_RENAMES.get(name, name)
            return 'mmpretrain' + sep + head + dot + name
    return value


def rewrite_mmcls_references(obj: Any) -> Any:
    """Return ``obj`` with every ``mmcls`` reference pointed at mmpretrain.

    Rewritten string values: ``'mmcls'`` (scopes), ``'mmcls::path'`` (config
    paths), ``'mmcls.Name'`` (scoped types) and ``'mmcls.pkg.Name'`` (Python
    paths, e.g. MMRazor recorders' ``source``), with the classes mmpretrain
    renamed (:data:`MMCLS_RENAMES`). Dict keys are left alone.
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
    mmpretrain's copy of the same file with scope ``mmpretrain``, and after a
    config is loaded :func:`rewrite_mmcls_references` rewrites the remaining
    references. It acts only on configs read after ``import mmkd_ccd``, which
    this project's ``tools/*.py`` import first.
    """
    original_get_cfg_path = Config._get_cfg_path
    original_fromfile = Config.fromfile

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


# ---------------------------------------------------------------------------
# 6. torch < 2.5: weights-only loading that admits a few more classes
# ---------------------------------------------------------------------------
def _qualified_names(classes: Sequence[type]) -> Dict[str, type]:
    return {f'{c.__module__}.{c.__qualname__}': c for c in classes}


def _load_restricted(path: str, allowed: Sequence[type]) -> Any:
    """``torch.load`` through a ``pickle.Unpickler`` whose ``find_class``
    admits only the globals torch's weights-only unpickler admits, plus
    ``allowed``; any other global raises ``pickle.UnpicklingError`` naming
    it. Pickle reaches code only through ``find_class``, so nothing outside
    that list is imported or called."""
    from torch import _weights_only_unpickler
    admitted = {**_weights_only_unpickler._get_allowed_globals(),
                **_qualified_names(allowed)}

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
    return torch.load(path, map_location='cpu', weights_only=False,
                      pickle_module=restricted)


def load_weights_only(path: str, allowed: Sequence[type] = ()) -> Any:
    """``torch.load(path, map_location='cpu', weights_only=True)`` that
    also unpickles the classes in ``allowed`` (e.g. ``argparse.Namespace``,
    which training scripts store next to the weights).

    Target: torch < 2.5 (tested: 2.1.2). Symptom: there is no
    ``torch.serialization.safe_globals`` to admit a class for one load
    (``AttributeError``), and torch 2.1's weights-only unpickler
    instantiates no class but ``Parameter``. Fix: on such torch the file is
    read by :func:`_load_restricted`, which admits the same globals plus
    ``allowed``; on torch >= 2.5 this is ``torch.load`` inside
    ``torch.serialization.safe_globals(allowed)``.

    Args:
        path: the checkpoint file.
        allowed: classes to unpickle besides tensors and plain containers.
            Defaults to none.

    Raises:
        pickle.UnpicklingError: naming the first global the file holds that
            is not allowed.
    """
    if not hasattr(torch.serialization, 'safe_globals'):
        return _load_restricted(path, allowed)
    with torch.serialization.safe_globals(list(allowed)):
        return torch.load(path, map_location='cpu', weights_only=True)


def apply_all() -> None:
    """Apply every shim; called once by ``import mmkd_ccd``."""
    fix_mmrazor_quantization_import()
    allow_mmengine_checkpoint_types()
    allow_cpu_distributed()
    load_teacher_checkpoints_strictly()
    resolve_mmcls_as_mmpretrain()
