"""Each compat shim: the upstream symptom reproduced without mmkd_ccd (in a
fresh interpreter), and fixed with it (in this one, where conftest imported
mmkd_ccd); and the version guard that ``import mmkd_ccd`` runs first.

What each shim does on the two tested stacks (``make test`` and ``make test
STACK=torch21``); the tests below check exactly this on the stack they run
on:

==============================  ==================  ======================
shim                            torch 2.13 stack    torch 2.1 stack
==============================  ==================  ======================
1 mmrazor.models import         active              active
2 checkpoint trust policy:
  mmengine's loaders (files,    active: torch       active: torch.load
  URLs) replaced                refuses mmengine    unpickles any file,
                                checkpoints         running its code
  safe unpickler of the policy  torch's own, with   the restricted
                                ``safe_globals``    unpickler (no
                                                    ``safe_globals``)
  plain-data types allowed for  active              not needed: its
  torch's default                                   default reads all
  plain torch.load of trusted   active              not needed, not
  files                                             applied: torch's own
  this process's saves trusted  active              active
3 torchrun / srun on CPU        active without      active without CUDA
                                CUDA
4 strict teacher_ckpt           active              active
5 mmcls -> mmpretrain           active              active
6 image load errors name file   active              active
exact resume: atomic writes,    active              active
worker seeds per iterator
==============================  ==================  ======================
"""
import argparse
import os
import os.path as osp
import pickle
import re
import shutil
import subprocess
import sys
from collections import OrderedDict
from typing import Any

import cv2
import mmengine.dist.utils as dist_utils
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint
from mmengine.utils import digit_version

from mmkd_ccd import compat
from tests.utils import repo_path

#: torch >= 2.6 loads with ``weights_only=True`` unless told otherwise: the
#: torch 2.13 stack. The torch 2.1 stack unpickles everything by default.
WEIGHTS_ONLY_BY_DEFAULT = (digit_version(torch.__version__) >=
                           digit_version('2.6.0'))
#: torch >= 2.5 admits classes to one weights-only load itself: the torch
#: 2.13 stack, not the torch 2.1 one.
HAS_SAFE_GLOBALS = digit_version(torch.__version__) >= digit_version('2.5.0')


def run_python(code: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', code],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=300,
                          env=dict(os.environ, **(env or {})))


def from_compat(function: Any) -> bool:
    """Whether ``function`` is a replacement defined in mmkd_ccd.compat
    (``functools.wraps`` copies the original's ``__module__``)."""
    return function.__code__.co_filename == compat.__file__


def test_shims_active_on_this_stack():
    """The table above, for the stack this runs on."""
    from mmcv.transforms import LoadImageFromFile
    from mmengine.fileio.backends import local_backend
    from mmengine.runner import runner
    from mmpretrain.models import ImageClassifier
    from mmrazor.structures.quantization.backend_config import mapping
    from mmrazor.models.algorithms.distill.configurable import \
        single_teacher_distill
    assert compat.TORCH_LOAD_IS_SAFE_BY_DEFAULT == WEIGHTS_ONLY_BY_DEFAULT
    assert isinstance(mapping.BackendConfigs,
                      compat._UnavailableBackendConfigs)
    assert CheckpointLoader._schemes[''] is compat.load_from_local
    assert CheckpointLoader._schemes['https://'] is compat.load_from_http
    # torch >= 2.4 keeps a process-wide list; torch 2.1 has none.
    allowed = torch.serialization.get_safe_globals() \
        if hasattr(torch.serialization, 'get_safe_globals') else []
    assert (np.ndarray in allowed) == WEIGHTS_ONLY_BY_DEFAULT
    assert from_compat(torch.load) == WEIGHTS_ONLY_BY_DEFAULT
    for patched in (Runner.save_checkpoint, dist_utils._init_dist_pytorch,
                    dist_utils._init_dist_slurm,
                    single_teacher_distill.load_checkpoint, Config.fromfile,
                    ImageClassifier.__init__, LoadImageFromFile.transform):
        assert from_compat(patched), patched
    assert local_backend.open is compat._open_replacing
    assert runner.default_worker_init_fn is \
        compat.worker_init_fn_per_iterator


# 0. the version guard -------------------------------------------------------
#: Both tested stacks' versions (torch and setuptools differ).
STACKS = {
    'torch 2.13': dict(torch='2.13.0', numpy='1.26.4', mmengine='0.10.7',
                       mmcv='2.1.0', mmpretrain='1.2.0', mmrazor='1.0.0',
                       setuptools='80.9.0', mmdet='3.3.0'),
    'torch 2.1': dict(torch='2.1.2+cu121', numpy='1.26.4', mmengine='0.10.7',
                      mmcv='2.1.0', mmpretrain='1.2.0', mmrazor='1.0.0',
                      setuptools='69.5.1', mmdet='3.3.0'),
}


@pytest.mark.parametrize('stack', sorted(STACKS))
def test_version_guard_accepts_tested_stacks(stack):
    compat.check_versions(STACKS[stack].get)
    # mmdet is the optional det extra; '' = imports but has no metadata.
    compat.check_versions(dict(STACKS[stack], mmdet=None).get)
    compat.check_versions(dict(STACKS[stack], torch='').get)


@pytest.mark.parametrize('name, found, supported', [
    ('mmcv', '2.2.0', 'mmcv>=2.0.0,<2.2.0'),
    ('numpy', '2.0.2', 'numpy>=1.25,<2'),
    ('numpy', '1.24.4', 'numpy>=1.25,<2'),
    ('torch', '2.0.1', 'torch>=2.1'),
    ('mmrazor', '1.0.0rc2', 'mmrazor>=1.0.0,<1.1'),
    ('setuptools', '81.0.0', 'setuptools<81'),
    ('mmdet', '2.28.2', 'mmdet>=3.0.0,<4.0.0'),
])
def test_version_guard_names_package_version_and_range(name, found,
                                                       supported):
    with pytest.raises(compat.UnsupportedVersionError) as info:
        compat.check_versions(dict(STACKS['torch 2.13'], **{name: found}).get)
    message = str(info.value)
    assert f'{name} {found} is installed; mmkd_ccd supports {supported} (' \
        in message
    assert message.count(' is installed') == 1, message
    assert f'pip install "{supported}"' in message


def test_version_guard_reports_every_problem_at_once():
    versions = dict(STACKS['torch 2.1'], mmcv='2.2.0', numpy='2.1.0',
                    mmrazor=None)
    with pytest.raises(compat.UnsupportedVersionError) as info:
        compat.check_versions(versions.get)
    lines = str(info.value).splitlines()
    assert lines[1:4] == [
        '  - numpy 2.1.0 is installed; mmkd_ccd supports numpy>=1.25,<2 '
        '(numpy 2 removed np.in1d, which mmpretrain 1.2.0 calls; the '
        'checkpoint shim reads np.dtypes, new in 1.25)',
        '  - mmcv 2.2.0 is installed; mmkd_ccd supports mmcv>=2.0.0,<2.2.0 '
        '(mmrazor 1.0.0 asserts mmcv <= 2.1.0 on import, mmdet 3.3.0 mmcv '
        '< 2.2.0)',
        '  - mmrazor is not installed; mmkd_ccd needs mmrazor>=1.0.0,<1.1',
    ]
    assert 'pip install "numpy>=1.25,<2" "mmcv>=2.0.0,<2.2.0" ' \
        '"mmrazor>=1.0.0,<1.1"' in lines[4]


def fake_distributions(folder, **versions) -> str:
    """A folder of metadata-only distributions: first on ``sys.path`` it
    makes importlib.metadata report ``versions`` while the real packages
    still import."""
    for name, version in versions.items():
        info = folder / f'{name}-{version}.dist-info'
        info.mkdir(parents=True)
        (info / 'METADATA').write_text(
            f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n')
    return str(folder)


def test_import_refuses_unsupported_versions(tmp_path):
    fakes = fake_distributions(tmp_path, mmcv='2.2.0', numpy='2.0.0')
    proc = run_python('import mmkd_ccd', dict(
        PYTHONPATH=os.pathsep.join([fakes, repo_path()])))
    assert proc.returncode != 0
    assert 'mmkd_ccd.compat.UnsupportedVersionError: mmkd_ccd cannot run ' \
        'with the installed packages:' in proc.stdout, proc.stdout[-3000:]
    assert 'mmcv 2.2.0 is installed; mmkd_ccd supports mmcv>=2.0.0,<2.2.0' \
        in proc.stdout
    assert 'numpy 2.0.0 is installed; mmkd_ccd supports numpy>=1.25,<2' \
        in proc.stdout


# 1. mmrazor.models on torch 2.x ------------------------------------------
def test_mmrazor_models_import_fails_upstream():
    """Both stacks: torch 2.1 already lacks the fuser helpers MMRazor 1.0.0
    imports, so the shim is active on both."""
    proc = run_python('import mmrazor.models')
    assert proc.returncode != 0
    assert 'torch>=1.13' in proc.stdout


def test_mmrazor_models_import_fixed_and_quantization_fails_loudly():
    import mmrazor.models  # noqa: F401
    from mmrazor.models import ConfigurableDistiller, KLDivergence  # noqa
    from mmrazor.structures.quantization import BackendConfigs
    from mmrazor.structures.quantization.backend_config import \
        common_operator_config_utils as helpers
    with pytest.raises(compat.QuantizationUnavailableError,
                       match="backend 'native'"):
        BackendConfigs['native']
    with pytest.raises(compat.QuantizationUnavailableError,
                       match='_get_conv_configs'):
        helpers._get_conv_configs([])


# 2. checkpoints: safe unpickler, trust policy, named errors --------------
def mmengine_like_checkpoint(path: str) -> None:
    buffer = HistoryBuffer()
    buffer.update(1.5)
    torch.save({'state_dict': {'w': torch.ones(2)},
                'message_hub': {'log_scalars': {'train/loss': buffer}}}, path)


@pytest.mark.skipif(not WEIGHTS_ONLY_BY_DEFAULT,
                    reason='torch < 2.6 (the torch 2.1 stack) refuses '
                    'nothing by default: test_any_checkpoint_runs_its_code_'
                    'upstream_on_torch_below_2_6')
def test_mmengine_checkpoint_refused_by_default_torch_load(tmp_path):
    path = str(tmp_path / 'ckpt.pth')
    mmengine_like_checkpoint(path)
    # Upstream, in a fresh interpreter: torch's refusal, without the file.
    proc = run_python(f'import torch; torch.load({path!r})')
    assert 'Unsupported global: GLOBAL mmengine.logging.history_buffer' \
        in proc.stdout, proc.stdout[-2000:]
    assert path not in proc.stdout
    # Why allow-listing cannot fix it: with HistoryBuffer allowed, its
    # pickled methods need builtins.getattr, which must stay forbidden.
    # (A fresh interpreter: torch's allow-list is process-global.)
    proc = run_python(
        'import torch\n'
        'from mmengine.logging.history_buffer import HistoryBuffer\n'
        'from mmkd_ccd.compat import _safe_checkpoint_globals as g\n'
        'torch.serialization.add_safe_globals([HistoryBuffer, *g()])\n'
        f'torch.load({path!r})')
    assert 'Unsupported global: GLOBAL getattr' in proc.stdout, \
        proc.stdout[-2000:]


@pytest.mark.skipif(WEIGHTS_ONLY_BY_DEFAULT,
                    reason='torch >= 2.6 (the torch 2.13 stack) refuses the '
                    'file by default: test_mmengine_checkpoint_refused_by_'
                    'default_torch_load')
def test_any_checkpoint_runs_its_code_upstream_on_torch_below_2_6(tmp_path):
    """torch < 2.6 (the torch 2.1 stack): mmengine's loader unpickles any
    local file fully, running the code it holds -- why the trust policy is
    active on this stack too (``test_payload_runs_only_when_trusted``)."""
    from tests.tools.payloads import save_with_payload
    marker = tmp_path / 'marker'
    path = save_with_payload({'state_dict': {}}, tmp_path / 'evil.pth',
                             marker)
    proc = run_python('from mmengine.runner.checkpoint import '
                      f'_load_checkpoint; _load_checkpoint({path!r})')
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert marker.exists()


def test_untrusted_checkpoint_refused_with_advice(tmp_path):
    """Both stacks: the safe unpickler's refusal (the restricted unpickler's
    on torch 2.1) is final for an untrusted file."""
    path = str(tmp_path / 'untrusted.pth')
    mmengine_like_checkpoint(path)
    with pytest.raises(compat.UntrustedCheckpointError) as error:
        _load_checkpoint(path)
    message = str(error.value)
    assert path in message and 'HistoryBuffer' in message
    assert 'trusted_checkpoints' in message and 'trust_checkpoint' in message
    # Still what code catching torch's refusal expects.
    assert isinstance(error.value, pickle.UnpicklingError)


def test_named_checkpoint_loads(tmp_path):
    path = str(tmp_path / 'named.pth')
    mmengine_like_checkpoint(path)
    other = str(tmp_path / 'other.pth')
    mmengine_like_checkpoint(other)
    cfg = Config(dict(load_from=path, model=dict(teacher_ckpt=None)))
    compat.trust_checkpoints_named_by(cfg)
    loaded = _load_checkpoint(path)
    assert loaded['message_hub']['log_scalars']['train/loss'].current() == 1.5
    # A plain torch.load too: on torch >= 2.6 through the shim that lets it
    # read trusted files; on the torch 2.1 stack torch's own full unpickling.
    assert 'message_hub' in torch.load(path)
    with pytest.raises(compat.UntrustedCheckpointError):
        _load_checkpoint(other)


def test_trusted_checkpoints_key_and_teacher_ckpt(tmp_path):
    paths = [str(tmp_path / f'{name}.pth') for name in ('init', 'teacher')]
    for path in paths:
        mmengine_like_checkpoint(path)
    compat.trust_checkpoints_named_by(Config(dict(
        trusted_checkpoints=[paths[0]], model=dict(teacher_ckpt=paths[1]))))
    assert all('message_hub' in _load_checkpoint(path) for path in paths)
    with pytest.raises(TypeError, match='trusted_checkpoints'):
        compat.trust_checkpoints_named_by(
            Config(dict(trusted_checkpoints=paths[0])))


def test_bare_resume_trusts_only_the_file_last_checkpoint_names(tmp_path):
    work_dir = tmp_path / 'work'
    work_dir.mkdir()
    named, planted = str(work_dir / 'epoch_2.pth'), str(work_dir / 'e1.pth')
    for path in (named, planted):
        mmengine_like_checkpoint(path)
    (work_dir / 'last_checkpoint').write_text(named)
    assert compat.last_checkpoint_of(str(work_dir)) == named
    compat.trust_checkpoints_named_by(
        Config(dict(resume=True, load_from=None, work_dir=str(work_dir))))
    assert 'message_hub' in _load_checkpoint(named)
    with pytest.raises(compat.UntrustedCheckpointError, match='e1.pth'):
        _load_checkpoint(planted)


def test_a_folder_is_never_trusted_as_a_whole(tmp_path):
    with pytest.raises(IsADirectoryError, match=str(tmp_path)):
        compat.trust_checkpoint(str(tmp_path))


def test_a_link_to_a_trusted_file_is_that_file(tmp_path):
    path = tmp_path / 'real.pth'
    mmengine_like_checkpoint(str(path))
    link = tmp_path / 'link.pth'
    link.symlink_to(path)
    compat.trust_checkpoint(str(link))
    assert compat.is_trusted(str(path))
    assert 'message_hub' in _load_checkpoint(str(path))


def broken_checkpoints(folder) -> dict:
    """Files that are not checkpoints, by what is wrong with them."""
    good = folder / 'good.pth'
    torch.save({'state_dict': {'w': torch.ones(64)}}, good)
    data = good.read_bytes()
    files = {'empty': b'', 'random': bytes(range(256)) * 4,
             'truncated': data[:len(data) // 2], 'text': b'not a checkpoint'}
    for name, content in files.items():
        (folder / f'{name}.pth').write_bytes(content)
    return {name: str(folder / f'{name}.pth') for name in files}


def test_broken_checkpoints_are_named(tmp_path):
    for kind, path in broken_checkpoints(tmp_path).items():
        compat.trust_checkpoint(path)  # even fully unpickled, a named error
        with pytest.raises(compat.CheckpointReadError) as error:
            _load_checkpoint(path)
        assert path in str(error.value), kind
    assert 'empty (0 bytes)' in str(
        pytest.raises(compat.CheckpointReadError, compat.load_checkpoint_file,
                      str(tmp_path / 'empty.pth')).value)


def test_broken_untrusted_checkpoints_are_named(tmp_path):
    for kind, path in broken_checkpoints(tmp_path).items():
        # Untrusted, the safe unpickler's refusal is all that can be said.
        with pytest.raises(compat.CheckpointError) as error:
            _load_checkpoint(path)
        assert path in str(error.value), kind


def test_payload_runs_only_when_trusted(tmp_path):
    from tests.tools.payloads import save_with_payload
    marker = tmp_path / 'marker'
    path = save_with_payload({'state_dict': {}}, tmp_path / 'evil.pth',
                             marker)
    with pytest.raises(compat.UntrustedCheckpointError,
                       match='mkdir|makedirs'):
        _load_checkpoint(path)
    assert not marker.exists()
    compat.trust_checkpoint(path)
    _load_checkpoint(path)
    assert marker.exists()


def test_url_checkpoints_follow_the_same_policy(tmp_path, monkeypatch):
    from tests.tools.payloads import save_with_payload, serve_folder
    served = tmp_path / 'served'
    served.mkdir()
    markers = {name: tmp_path / f'marker_{name}'
               for name in ('upstream', 'unnamed', 'zoo', 'named')}
    for name, marker in markers.items():
        save_with_payload({'state_dict': {}}, served / f'{name}.pth', marker)
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    with serve_folder(served) as base:
        # Upstream: mmengine unpickles a downloaded file fully, unasked.
        proc = run_python(
            'from mmengine.runner.checkpoint import _load_checkpoint; '
            f'_load_checkpoint({base + "/upstream.pth"!r})',
            dict(TORCH_HOME=str(tmp_path / 'torch_home_upstream')))
        assert proc.returncode == 0, proc.stdout[-2000:]
        assert markers['upstream'].exists()

        with pytest.raises(compat.UntrustedCheckpointError) as error:
            _load_checkpoint(base + '/unnamed.pth')
        assert base + '/unnamed.pth' in str(error.value)
        assert not markers['unnamed'].exists()
        # torchvision:// (and open-mmlab://, mmcls://) end up at a URL too.
        from mmengine.runner import checkpoint
        monkeypatch.setattr(checkpoint, 'get_torchvision_models',
                            lambda: dict(zoo=base + '/zoo.pth'))
        with pytest.raises(compat.UntrustedCheckpointError):
            _load_checkpoint('torchvision://zoo')
        assert not markers['zoo'].exists()

        compat.trust_checkpoint(base + '/named.pth')
        assert 'state_dict' in _load_checkpoint(base + '/named.pth')
        assert markers['named'].exists()


def test_plain_data_meta_needs_no_trust(tmp_path):
    path = str(tmp_path / 'plain.pth')
    torch.save({'state_dict': {'w': torch.ones(1)},
                'meta': {'mean': np.array([1.0, 2.0]), 'epoch': np.int64(3)}},
               path)
    assert _load_checkpoint(path)['meta']['epoch'] == 3


class ToyModel(BaseModel):
    """One weight; ``loss`` mode returns its square."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(1))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return dict(loss=(self.weight * inputs.mean()) ** 2)


def test_what_the_runner_saves_is_trusted_and_plain_torch_load_reads_it(
        tmp_path):
    from torch.utils.data import DataLoader
    work_dir = str(tmp_path / 'work')
    runner = Runner(
        model=ToyModel(), work_dir=work_dir,
        experiment_name=f'trust_on_save_{id(tmp_path)}',
        train_dataloader=DataLoader([dict(inputs=torch.ones(2))] * 4,
                                    batch_size=2),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                           interval=1)))
    runner.train()
    saved = osp.join(work_dir, 'epoch_1.pth')
    copy = str(tmp_path / 'copy.pth')
    shutil.copy(saved, copy)
    # Both stacks: mmengine's loaders read the runner's own file, not a copy.
    assert _load_checkpoint(saved)['meta']['epoch'] == 1
    with pytest.raises(compat.UntrustedCheckpointError, match='copy.pth'):
        _load_checkpoint(copy)
    # What MMRazor's own tests do after a run, refused by torch >= 2.6:
    assert torch.load(saved)['meta']['epoch'] == 1
    if WEIGHTS_ONLY_BY_DEFAULT:
        with pytest.raises(pickle.UnpicklingError) as error:
            torch.load(copy)
        assert isinstance(error.value, compat.UntrustedCheckpointError)
        assert copy in str(error.value)
    else:
        # The torch 2.1 stack: a plain torch.load is torch's own, which
        # unpickles any file fully (README, "Reliability and security").
        assert torch.load(copy)['meta']['epoch'] == 1
    # Explicit arguments are torch's own business.
    assert torch.load(copy, weights_only=False)['meta']['epoch'] == 1


# The safe unpickler on both stacks: torch's own with safe_globals (torch >=
# 2.5), the restricted unpickler on torch 2.1.
class MakesADirectoryWhenUnpickled:
    """Stands for a checkpoint that runs code when it is unpickled."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return os.mkdir, (self.path, )


def checkpoint_with(path: str, **extra) -> None:
    torch.save({'w': torch.arange(3.0), 'stats': OrderedDict(n=torch.ones(1)),
                'mean': np.array([1.0, 2.0]), **extra}, path)


@pytest.mark.parametrize('loader', ['_load_weights_only', '_load_restricted'])
def test_safe_unpickler_admits_only_the_allowed_globals(tmp_path, loader):
    """Both stacks, both the path each stack takes and the restricted
    unpickler torch 2.1 needs."""
    load = getattr(compat, loader)
    safe = compat._safe_checkpoint_globals()
    path = str(tmp_path / 'ckpt.pth')
    checkpoint_with(path, args=argparse.Namespace(lr=0.1))
    loaded = load(path, 'cpu', [*safe, argparse.Namespace])
    assert loaded['args'] == argparse.Namespace(lr=0.1)
    assert torch.equal(loaded['w'], torch.arange(3.0))
    assert list(loaded['stats']) == ['n']
    assert loaded['mean'].tolist() == [1.0, 2.0]
    with pytest.raises(pickle.UnpicklingError, match='argparse.Namespace'):
        load(path, 'cpu', safe)
    marker = tmp_path / 'made_by_unpickling'
    checkpoint_with(path, hook=MakesADirectoryWhenUnpickled(str(marker)))
    with pytest.raises(pickle.UnpicklingError, match='mkdir'):
        load(path, 'cpu', [*safe, argparse.Namespace])
    assert not marker.exists()


def test_safe_unpickler_path_on_this_stack(tmp_path, monkeypatch):
    """torch 2.13 stack: torch's own safe_globals. torch 2.1 stack (no
    safe_globals): the restricted unpickler, with the plain-data types and
    the caller's ``safe_globals``."""
    path = str(tmp_path / 'ckpt.pth')
    checkpoint_with(path)
    restricted = []
    monkeypatch.setattr(compat, '_load_restricted',
                        lambda *args: restricted.append(args) or {})
    allowed = torch.serialization.get_safe_globals() \
        if HAS_SAFE_GLOBALS else None
    compat.load_checkpoint_file(path, safe_globals=[argparse.Namespace])
    assert hasattr(torch.serialization, 'safe_globals') == HAS_SAFE_GLOBALS
    expected = [*compat._safe_checkpoint_globals(), argparse.Namespace]
    assert restricted == ([] if HAS_SAFE_GLOBALS else
                          [(path, None, expected)])
    if HAS_SAFE_GLOBALS:
        # The process-wide list is as before: neither the plain-data types
        # the shim allowed for torch's default were dropped, nor was
        # argparse.Namespace left allowed. (torch keeps them in a set: the
        # order of get_safe_globals() is not part of it.)
        assert sorted(map(repr, torch.serialization.get_safe_globals())) == \
            sorted(map(repr, allowed))


# 3. torchrun and srun on CPU -----------------------------------------------
DDP_CODE = '''
import torch
{prelude}
from mmengine.dist import init_dist
from mmengine.model import MMDistributedDataParallel
init_dist({launcher!r}, backend='gloo')
model = MMDistributedDataParallel(torch.nn.Linear(2, 2), device_ids=[0])
print('wrapped', type(model).__name__, 'rank', torch.distributed.get_rank(),
      'of', torch.distributed.get_world_size())
'''
#: What torchrun, and srun for a one-task step, set for the process.
LAUNCHER_ENV = {
    'pytorch': dict(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1',
                    MASTER_ADDR='127.0.0.1'),
    'slurm': dict(SLURM_PROCID='0', SLURM_LOCALID='0', SLURM_NTASKS='1',
                  SLURM_NODELIST='localhost', MASTER_ADDR='127.0.0.1'),
}
CPU_ONLY = pytest.mark.skipif(torch.cuda.is_available(),
                              reason='the symptom needs a machine without '
                              'CUDA')


@CPU_ONLY
@pytest.mark.parametrize('launcher, port', [('pytorch', 29547),
                                            ('slurm', 29549)])
def test_cpu_distributed_fails_upstream(launcher, port):
    """Both stacks, without CUDA: mmengine selects a CUDA device anyway."""
    proc = run_python(DDP_CODE.format(prelude='', launcher=launcher),
                      dict(LAUNCHER_ENV[launcher], MASTER_PORT=str(port)))
    assert proc.returncode != 0
    assert 'NVIDIA driver' in proc.stdout or 'CUDA' in proc.stdout


@pytest.mark.parametrize('launcher, port', [('pytorch', 29548),
                                            ('slurm', 29550)])
def test_cpu_distributed_fixed(launcher, port):
    proc = run_python(
        DDP_CODE.format(prelude='import mmkd_ccd', launcher=launcher),
        dict(LAUNCHER_ENV[launcher], MASTER_PORT=str(port)))
    assert proc.returncode == 0, proc.stdout
    assert 'wrapped MMDistributedDataParallel rank 0 of 1' in proc.stdout


# 4. strict teacher checkpoints ----------------------------------------------
def test_teacher_checkpoint_must_match(tmp_path):
    """Both stacks: MMRazor's non-strict load does not depend on torch."""
    from mmengine.runner import load_checkpoint

    from tests.models.distillers.test_paired_distiller import (algorithm,
                                                               classifier)
    wrong = str(tmp_path / 'wrong_teacher.pth')
    torch.save({'state_dict': {'fc.weight': torch.zeros(5, 8)}}, wrong)
    # Upstream behaviour: mmengine's non-strict load only warns.
    load_checkpoint(torch.nn.Linear(8, 5), wrong)
    with pytest.raises(compat.CheckpointMismatchError,
                       match='wrong_teacher.pth does not fit'):
        algorithm(dict(loss_ccd=dict(type='CCDLoss')), teacher_ckpt=wrong)

    from mmengine.registry import MODELS
    teacher = MODELS.build(classifier(16))
    right = str(tmp_path / 'teacher.pth')
    torch.save({'state_dict': teacher.state_dict()}, right)
    model = algorithm(dict(loss_ccd=dict(type='CCDLoss')), teacher_ckpt=right)
    assert torch.equal(model.teacher.head.fc.weight, teacher.head.fc.weight)


# 5. mmcls -> mmpretrain -----------------------------------------------------
MMRAZOR_KD = 'mmrazor::distill/mmcls/kd/kd_logits_resnet34_resnet18_8xb32_in1k.py'


def inheriting(tmp_path, base: str) -> str:
    """A user config that inherits ``base`` unchanged."""
    path = tmp_path / 'user_config.py'
    path.write_text(f'_base_ = {base!r}\n')
    return str(path)


def test_mmcls_config_fails_upstream(tmp_path):
    """Both stacks: mmcls is not installed on either."""
    proc = run_python('from mmengine.config import Config; '
                      f'Config.fromfile({inheriting(tmp_path, MMRAZOR_KD)!r})')
    assert proc.returncode != 0
    assert 'mmcls is not installed' in proc.stdout


def test_rewrite_mmcls_references():
    cfg = {
        'default_scope': 'mmcls',
        'pipeline': [dict(type='mmcls.PackClsInputs'),
                     dict(type='mmcls.LoadImageFromFile')],
        'rec': dict(source='mmcls.models.heads.ClsHead._get_loss'),
        'arch': dict(cfg_path='mmcls::resnet/resnet18_8xb32_in1k.py'),
        'renamed': 'mmcls::deit/deit-base_pt-16xb64_in1k.py',
        'other': 'mmclsx', 'mmcls': 1,
    }
    compat.rewrite_mmcls_references(cfg)
    assert cfg['default_scope'] == 'mmpretrain'
    assert [p['type'] for p in cfg['pipeline']] == [
        'mmpretrain.PackInputs', 'mmpretrain.LoadImageFromFile']
    assert cfg['rec']['source'] == 'mmpretrain.models.heads.ClsHead._get_loss'
    assert cfg['arch']['cfg_path'] == 'mmpretrain::resnet/resnet18_8xb32_in1k.py'
    assert cfg['renamed'] == 'mmpretrain::deit/deit-base_16xb64_in1k.py'
    assert cfg['other'] == 'mmclsx' and cfg['mmcls'] == 1


@pytest.mark.parametrize('path, loss', [
    (MMRAZOR_KD, 'loss_kl'),
    ('mmrazor::distill/mmcls/dkd/dkd_resnet34_resnet18_8xb32_in1k.py',
     'loss_dkd'),
    ('mmrazor::distill/mmcls/wsld/wsld_logits_resnet34_resnet18_8xb32_in1k.py',
     'loss_wsld'),
    ('mmrazor::distill/mmcls/dist/dist_logits_resnet34_resnet18_8xb32_in1k.py',
     'loss_kl'),
])
def test_mmrazor_shipped_configs_train_on_mmpretrain(tmp_path, path, loss):
    from mmengine.registry import MODELS, DefaultScope
    from mmpretrain.structures import DataSample
    cfg = Config.fromfile(inheriting(tmp_path, path))
    assert cfg.default_scope == 'mmpretrain'
    assert cfg.model.architecture.cfg_path.startswith('mmpretrain::')
    assert 'mmcls' not in cfg.pretty_text
    # No network: no teacher weights (checkpoint or hub 'pretrained').
    cfg.model.teacher_ckpt = None
    cfg.model.teacher.pretrained = False
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
    data = dict(
        inputs=[torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
                for _ in range(4)],
        data_samples=[DataSample().set_gt_label(i) for i in range(4)])
    losses = model(**model.data_preprocessor(data, True), mode='loss')
    distill = [k for k in losses if k.startswith('distill.')]
    assert distill and any(loss in k for k in distill)
    assert all(torch.isfinite(v).all() for v in losses.values())
    assert osp.basename(type(model.student).__module__).startswith(
        'mmpretrain')


def test_mmcls_modules_keep_placeholders_upstream():
    proc = run_python('from mmrazor.datasets.transforms import '
                      'PackCRDClsInputs; PackCRDClsInputs()')
    assert proc.returncode != 0
    assert '`mmcls` is not installed properly' in proc.stdout


def test_mmcls_imports_are_mmpretrain():
    import mmcls.models.losses.cross_entropy_loss as losses
    import mmpretrain
    from mmcls.datasets.transforms.formatting import PackClsInputs, to_tensor
    from mmcls.structures import ClsDataSample
    from mmcls.visualization import ClsVisualizer
    assert ClsDataSample is mmpretrain.structures.DataSample
    assert PackClsInputs is mmpretrain.datasets.PackInputs
    assert ClsVisualizer is mmpretrain.visualization.UniversalVisualizer
    assert to_tensor is mmpretrain.datasets.transforms.formatting.to_tensor
    assert losses.soft_cross_entropy is (
        mmpretrain.models.losses.cross_entropy_loss.soft_cross_entropy)
    with pytest.raises(ImportError):
        import mmcls.no_such_module  # noqa: F401
    # mmengine still sees no mmcls package (no config lookups into it).
    from mmengine.utils import is_installed
    assert not is_installed('mmcls')


def test_kd_soft_ce_loss_works_and_matches_hand_computation():
    from mmrazor.models.losses import KDSoftCELoss
    student = torch.tensor([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    teacher = torch.tensor([[2.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
    tau = 2.0
    expected = -(torch.softmax(teacher / tau, 1) *
                 torch.log_softmax(student / tau, 1)).sum(1).mean() * tau**2
    loss = KDSoftCELoss(tau=tau, reduction='mean')(student, teacher)
    torch.testing.assert_close(loss, expected)


def test_crd_packer_packs_with_mmpretrain():
    from mmpretrain.structures import DataSample
    from mmrazor.datasets.transforms import PackCRDClsInputs
    packed = PackCRDClsInputs()(dict(
        img=np.zeros((4, 5, 3), np.uint8), gt_label=2, sample_idx=7,
        contrast_sample_idxs=np.array([7, 1, 3])))
    assert packed['inputs'].shape == (3, 4, 5)
    sample = packed['data_samples']
    assert isinstance(sample, DataSample)
    assert sample.gt_label.tolist() == [2]
    assert sample.contrast_sample_idxs.tolist() == [7, 1, 3]


def test_mmcls_cfg_path_models_build_from_python():
    """MMRazor builds ``cfg_path`` models through mmengine.hub, also for
    dicts that never went through a config file."""
    from mmengine.hub import get_config
    from mmpretrain.models import ImageClassifier
    from mmrazor.registry import MODELS
    cfg = get_config('mmcls::resnet/resnet18_8xb16_cifar10.py')
    assert cfg.model.backbone.type == 'ResNet_CIFAR'
    model = MODELS.build(dict(
        cfg_path='mmcls::resnet/resnet18_8xb16_cifar10.py', pretrained=False))
    assert isinstance(model, ImageClassifier)
    assert model.head.fc.out_features == 10


def test_mmcls_scope_finds_mmpretrain_registries():
    from mmengine.registry import MODELS, DefaultScope
    from mmpretrain.models import ClsDataPreprocessor
    from mmpretrain.datasets import PackInputs
    from mmrazor.registry import TRANSFORMS
    with DefaultScope.overwrite_default_scope('mmrazor'):
        built = MODELS.build(dict(type='mmcls.ClsDataPreprocessor'))
        packers = [TRANSFORMS.build(dict(type=name, **scope)) for name, scope
                   in [('PackClsInputs', dict(_scope_='mmcls')),
                       ('mmcls.PackClsInputs', {}),
                       ('PackClsInputs', dict(_scope_='mmpretrain'))]]
    assert type(built) is ClsDataPreprocessor
    assert all(type(packer) is PackInputs for packer in packers)


def tiny_classifier(**kwargs) -> dict:
    return dict(type='mmpretrain.ImageClassifier',
                backbone=dict(type='mmpretrain.ResNet_CIFAR', depth=18,
                              stem_channels=4, base_channels=4),
                neck=dict(type='mmpretrain.GlobalAveragePooling'),
                head=dict(type='mmpretrain.LinearClsHead', num_classes=3,
                          in_channels=32), **kwargs)


def test_inline_classifier_builds_under_the_mmrazor_scope():
    from mmengine.registry import MODELS, DefaultScope
    from mmpretrain.models import ClsDataPreprocessor, ImageClassifier
    original = ImageClassifier.__init__.__wrapped__
    with DefaultScope.overwrite_default_scope('mmrazor'):
        with pytest.raises(KeyError, match='ClsDataPreprocessor is not in '
                           'the mmrazor::model registry'):
            original(ImageClassifier.__new__(ImageClassifier),
                     backbone=tiny_classifier()['backbone'])
        model = MODELS.build(tiny_classifier())
        given = MODELS.build(tiny_classifier(
            data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                                   mean=[1.0, 2.0, 3.0], std=[1, 1, 1])))
    assert type(model.data_preprocessor) is ClsDataPreprocessor
    assert given.data_preprocessor.mean.flatten().tolist() == [1.0, 2.0, 3.0]
    # By position, as MMRazor's SearchableImageClassifier passes it.
    cfg = tiny_classifier()
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        positional = ImageClassifier(
            cfg['backbone'], cfg['neck'], cfg['head'], None, None,
            dict(mean=[4.0, 5.0, 6.0], std=[1, 1, 1]))
    assert positional.data_preprocessor.mean.flatten().tolist() == [4, 5, 6]


def test_mmrazor_deit_head_reads_mmpretrain_deit():
    from mmengine.registry import MODELS, DefaultScope
    from mmrazor.models.architectures.heads.deit_head import DeiTClsHead
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        backbone = MODELS.build(dict(
            type='DistilledVisionTransformer', arch='deit-tiny',
            img_size=32, patch_size=16))
        head = MODELS.build(dict(type='mmrazor.DeiTClsHead', num_classes=5,
                                 in_channels=192))
    feats = backbone(torch.randn(2, 3, 32, 32))
    assert len(feats[-1]) == 2  # (cls_token, dist_token), not mmcls's three
    with pytest.raises(ValueError, match='not enough values to unpack'):
        DeiTClsHead.pre_logits.__wrapped__(head, feats)
    scores = head(feats)
    assert scores.shape == (2, 5)
    cls_token = feats[-1][0]
    torch.testing.assert_close(scores, head.layers.head(cls_token))


def test_universal_visualizer_draws_mmcls_datasamples(tmp_path):
    from mmpretrain.visualization import UniversalVisualizer
    image = np.random.default_rng(0).integers(0, 256, (20, 30, 3), np.uint8)
    out_file = str(tmp_path / 'drawn.png')
    visualizer = UniversalVisualizer(name=f'compat_{id(tmp_path)}')
    visualizer.add_datasample('features', image, draw_gt=False,
                              draw_pred=False, out_file=out_file)
    saved = cv2.imread(out_file)
    np.testing.assert_array_equal(saved[..., ::-1], image)


def test_crd_dataset_indexes_classes_of_different_sizes(tmp_path):
    from mmengine.registry import DefaultScope
    from mmrazor.datasets import crd_dataset_wrapper
    from mmrazor.registry import DATASETS

    from mmkd_ccd.datasets import toy_data
    samples = toy_data.make_shapes(3, 4, size=8)[:-2]  # class sizes 4, 4, 2
    toy_data.write_custom_dataset(str(tmp_path), {'train': samples})
    cfg = dict(type='CRDDataset', neg_num=2, percent=1.0,
               dataset=dict(type='mmpretrain.CustomDataset',
                            data_root=str(tmp_path), data_prefix='train',
                            pipeline=[]))
    patched = crd_dataset_wrapper.np
    with DefaultScope.overwrite_default_scope('mmrazor'):
        try:
            crd_dataset_wrapper.np = np  # upstream
            with pytest.raises(ValueError, match='inhomogeneous'):
                DATASETS.build(cfg)
        finally:
            crd_dataset_wrapper.np = patched
        dataset = DATASETS.build(cfg)
    assert [len(p) for p in dataset.cls_positive] == [4, 4, 2]
    assert [len(n) for n in dataset.cls_negative] == [6, 6, 8]
    contrast = dataset[9]['contrast_sample_idxs']  # an image of class 2
    assert contrast[0] == 9 and set(contrast[1:]) <= set(range(8))


MMRAZOR_CONFIGS = osp.join(osp.dirname(__import__('mmrazor').__file__),
                           '.mim', 'configs', 'distill', 'mmcls')


def mmrazor_distill_configs() -> list:
    import glob
    return sorted(osp.relpath(path, MMRAZOR_CONFIGS) for path in glob.glob(
        osp.join(MMRAZOR_CONFIGS, '**', '*.py'), recursive=True))


def without_downloads(cfg: Any) -> Any:
    """``cfg`` with every teacher checkpoint and pretrained flag removed: no
    network here."""
    if isinstance(cfg, dict):
        cfg.pop('ckpt_path', None)  # DataFreeDistillation's teachers
        for key in list(cfg):
            if key == 'teacher_ckpt':
                cfg[key] = None
            elif key == 'pretrained' and cfg[key] is True:
                cfg[key] = False
            else:
                without_downloads(cfg[key])
    elif isinstance(cfg, list):
        for item in cfg:
            without_downloads(item)
    return cfg


def test_all_twenty_mmrazor_distill_configs_are_found():
    assert len(mmrazor_distill_configs()) == 20


@pytest.mark.parametrize('name', mmrazor_distill_configs())
def test_mmrazor_distill_config_loads_and_builds(name):
    from mmcv.transforms import Compose
    from mmengine.registry import MODELS, DefaultScope
    cfg = Config.fromfile(osp.join(MMRAZOR_CONFIGS, name))
    # No mmcls scope, type or config path is left (MMRazor's own paths,
    # e.g. 'mmrazor::vanilla/mmcls/...', stay).
    assert not re.search(r"""['"]mmcls[.:'"]""", cfg.pretty_text)
    dataset = cfg.train_dataloader.dataset
    while 'pipeline' not in dataset:  # e.g. inside CRD's dataset wrapper
        dataset = dataset.dataset
    # A datasets-only base (CRD's) has no scope of its own: mmpretrain's.
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'mmpretrain')):
        pipeline = Compose(dataset.pipeline)
        assert len(pipeline.transforms) == len(dataset.pipeline)
        if 'model' not in cfg:
            return
        model = MODELS.build(without_downloads(cfg.model))
    assert sum(p.numel() for p in model.parameters()) > 0
    if name.startswith('deit/'):
        # DeiT's teacher is timm's RegNetY-160 (timm: the tests extra).
        assert type(model.teacher.backbone.timm_model).__module__.startswith(
            'timm.')
        assert type(model.student.head).__name__ == 'DeiTClsHead'


# 6. image loading errors name the file ---------------------------------------
def test_image_that_fails_to_load_is_named(tmp_path):
    from mmcv.transforms import LoadImageFromFile
    empty = tmp_path / 'empty.png'
    empty.write_bytes(b'')
    results = dict(img_path=str(empty))
    # mmcv 2.1.0: OpenCV's assertion, without the path.
    with pytest.raises(cv2.error, match=re.escape('!buf.empty()')) as error:
        LoadImageFromFile.transform.__wrapped__(LoadImageFromFile(), results)
    assert str(empty) not in str(error.value)
    with pytest.raises(OSError, match=re.escape(f'{empty}: the file is '
                                                'empty (0 bytes)')):
        LoadImageFromFile()(results)
    assert LoadImageFromFile(ignore_empty=True)(results) is None


# ===========================================================================
# Exact resume: atomic checkpoint writes, worker seeds per iterator
# ===========================================================================
OLD_CHECKPOINT = b'the complete previous checkpoint'


def test_interrupted_checkpoint_write_truncates_upstream(tmp_path):
    path = tmp_path / 'epoch_1.pth'
    path.write_bytes(OLD_CHECKPOINT)
    # A write that fails after the file was opened: what a kill mid-write
    # leaves behind.
    proc = run_python(
        'from mmengine.fileio.backends import LocalBackend\n'
        f'LocalBackend().put(12345, {str(path)!r})')
    assert 'bytes-like object is required' in proc.stdout
    assert path.read_bytes() == b''


@pytest.mark.parametrize('module', ['local_backend', 'checkpoint_hook'])
def test_interrupted_write_keeps_the_previous_file(tmp_path, module):
    from mmengine.fileio.backends import local_backend
    from mmengine.hooks import checkpoint_hook
    path = tmp_path / 'last_checkpoint'
    path.write_bytes(OLD_CHECKPOINT)
    with pytest.raises(TypeError):
        if module == 'local_backend':
            local_backend.LocalBackend().put(12345, str(path))
        else:  # how CheckpointHook writes last_checkpoint
            with checkpoint_hook.open(str(path), 'w') as f:
                f.write(12345)
    assert path.read_bytes() == OLD_CHECKPOINT
    assert sorted(p.name for p in tmp_path.iterdir()) == ['last_checkpoint']


def test_checkpoint_killed_before_rename_keeps_the_previous_file(tmp_path):
    path = tmp_path / 'epoch_1.pth'
    path.write_bytes(OLD_CHECKPOINT)
    # Killed at the last moment before the rename: new data written and
    # being flushed to disk.
    proc = run_python(
        'import os, signal\n'
        'import mmkd_ccd\n'
        'from mmengine.runner import save_checkpoint\n'
        'os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)\n'
        f'save_checkpoint(dict(state_dict=dict()), {str(path)!r})')
    assert proc.returncode == -9, proc.stdout
    assert path.read_bytes() == OLD_CHECKPOINT


def test_checkpoint_and_last_checkpoint_written_whole(tmp_path):
    import os

    from mmengine.hooks import checkpoint_hook
    from mmengine.runner import save_checkpoint
    path = str(tmp_path / 'epoch_2.pth')
    save_checkpoint(dict(state_dict=dict(w=torch.arange(3))), path)
    loaded = torch.load(path, weights_only=True)
    assert torch.equal(loaded['state_dict']['w'], torch.arange(3))
    last = str(tmp_path / 'last_checkpoint')
    with checkpoint_hook.open(last, 'w') as f:
        f.write(path)
    with checkpoint_hook.open(last) as f:  # reading is plain open
        assert f.read() == path
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask  # as open()
    assert sorted(os.listdir(tmp_path)) == ['epoch_2.pth', 'last_checkpoint']


def test_workers_replay_every_epoch_upstream():
    proc = run_python(
        'import torch\n'
        'from tests.engine.toy_training import worker_epochs\n'
        'first, second = worker_epochs(0)\n'
        'print(torch.equal(first, second))')
    assert proc.stdout.strip().splitlines()[-1] == 'True', proc.stdout


def test_workers_draw_anew_every_epoch_and_reproducibly():
    from tests.engine.toy_training import worker_epochs
    first, second = worker_epochs(0)
    # Same samples, other draws, in every sample.
    assert torch.equal(first[:, 0], second[:, 0])
    assert (first[:, 1:] != second[:, 1:]).all()
    again = worker_epochs(0)
    assert torch.equal(first, again[0]) and torch.equal(second, again[1])
