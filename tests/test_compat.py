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
2 checkpoints, weights_only     active              not needed: torch.load
                                                    unpickles everything,
                                                    mmengine's loader kept
3 torchrun / srun on CPU        active without      active without CUDA
                                CUDA
4 strict teacher_ckpt           active              active
5 mmcls -> mmpretrain           active              active
6 load_weights_only             torch's             the restricted
                                safe_globals        unpickler
==============================  ==================  ======================
"""
import argparse
import os
import os.path as osp
import pickle
import subprocess
import sys
from collections import OrderedDict

import mmengine.dist.utils as dist_utils
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging.history_buffer import HistoryBuffer
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


def test_shims_active_on_this_stack():
    """The table above, for the stack this runs on."""
    from mmrazor.structures.quantization.backend_config import mapping
    from mmrazor.models.algorithms.distill.configurable import \
        single_teacher_distill
    assert isinstance(mapping.BackendConfigs,
                      compat._UnavailableBackendConfigs)
    assert (CheckpointLoader._schemes[''] is compat._load_local_checkpoint
            ) == WEIGHTS_ONLY_BY_DEFAULT
    for launcher in (dist_utils._init_dist_pytorch,
                     dist_utils._init_dist_slurm):
        assert launcher.__module__ == compat.__name__
    assert single_teacher_distill.load_checkpoint.__module__ == \
        compat.__name__
    assert Config.fromfile.__module__ == compat.__name__


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


# 2. mmengine checkpoints under torch >= 2.6 --------------------------------
def mmengine_like_checkpoint(path: str) -> None:
    buffer = HistoryBuffer()
    buffer.update(1.5)
    torch.save({'state_dict': {'w': torch.ones(2)},
                'message_hub': {'log_scalars': {'train/loss': buffer}}}, path)


@pytest.mark.skipif(not WEIGHTS_ONLY_BY_DEFAULT,
                    reason='torch < 2.6 (the torch 2.1 stack): torch.load '
                    'unpickles everything; test_checkpoint_shim_not_needed')
def test_mmengine_checkpoint_refused_by_default_torch_load(tmp_path):
    path = str(tmp_path / 'ckpt.pth')
    mmengine_like_checkpoint(path)
    with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer'):
        torch.load(path)
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
                    reason='torch >= 2.6 (the torch 2.13 stack) needs the '
                    'shim: test_mmengine_checkpoint_refused_by_default_'
                    'torch_load')
def test_checkpoint_shim_not_needed(tmp_path):
    """torch < 2.6 (the torch 2.1 stack): torch.load unpickles everything,
    as mmengine 0.10.7 expects, so the shim leaves mmengine's loader in
    place and any checkpoint loads as upstream -- trusted or not."""
    from mmengine.runner.checkpoint import load_from_local
    path = str(tmp_path / 'ckpt.pth')
    mmengine_like_checkpoint(path)
    loaded = torch.load(path)
    assert loaded['message_hub']['log_scalars']['train/loss'].current() == 1.5
    assert CheckpointLoader._schemes[''] is load_from_local
    assert 'state_dict' in _load_checkpoint(path)


@pytest.mark.skipif(not WEIGHTS_ONLY_BY_DEFAULT,
                    reason='torch < 2.6 (the torch 2.1 stack) loads it as '
                    'upstream: test_checkpoint_shim_not_needed')
def test_untrusted_checkpoint_refused_with_advice(tmp_path):
    path = str(tmp_path / 'untrusted.pth')
    mmengine_like_checkpoint(path)
    with pytest.raises(pickle.UnpicklingError, match='trust_checkpoint'):
        _load_checkpoint(path)


def test_named_checkpoint_loads(tmp_path):
    path = str(tmp_path / 'named.pth')
    mmengine_like_checkpoint(path)
    other = str(tmp_path / 'other.pth')
    mmengine_like_checkpoint(other)
    cfg = Config(dict(load_from=path, model=dict(teacher_ckpt=None)))
    compat.trust_checkpoints_named_by(cfg)
    loaded = _load_checkpoint(path)
    assert loaded['message_hub']['log_scalars']['train/loss'].current() == 1.5
    if WEIGHTS_ONLY_BY_DEFAULT:
        with pytest.raises(pickle.UnpicklingError):
            _load_checkpoint(other)
    else:
        # torch 2.1 stack: unnamed checkpoints load too, as upstream.
        assert 'state_dict' in _load_checkpoint(other)


def test_auto_resume_trusts_the_work_dir(tmp_path):
    work_dir = tmp_path / 'work'
    work_dir.mkdir()
    path = str(work_dir / 'epoch_3.pth')
    mmengine_like_checkpoint(path)
    compat.trust_checkpoints_named_by(
        Config(dict(resume=True, load_from=None, work_dir=str(work_dir))))
    assert 'state_dict' in _load_checkpoint(path)


def test_plain_data_meta_needs_no_trust(tmp_path):
    path = str(tmp_path / 'plain.pth')
    torch.save({'state_dict': {'w': torch.ones(1)},
                'meta': {'mean': np.array([1.0, 2.0]), 'epoch': np.int64(3)}},
               path)
    assert _load_checkpoint(path)['meta']['epoch'] == 3


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
    with pytest.raises(ValueError, match='wrong_teacher.pth does not match'):
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
        'other': 'mmclsx', 'mmcls': 1,
    }
    compat.rewrite_mmcls_references(cfg)
    assert cfg['default_scope'] == 'mmpretrain'
    assert [p['type'] for p in cfg['pipeline']] == [
        'mmpretrain.PackInputs', 'mmpretrain.LoadImageFromFile']
    assert cfg['rec']['source'] == 'mmpretrain.models.heads.ClsHead._get_loss'
    assert cfg['arch']['cfg_path'] == 'mmpretrain::resnet/resnet18_8xb32_in1k.py'
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


# 6. weights-only loading that admits a few more classes ---------------------
class MakesADirectoryWhenUnpickled:
    """Stands for a checkpoint that runs code when it is unpickled."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return os.mkdir, (self.path, )


def checkpoint_with(path: str, **extra) -> None:
    torch.save({'w': torch.arange(3.0), 'stats': OrderedDict(n=torch.ones(1)),
                **extra}, path)


@pytest.mark.parametrize('loader', ['load_weights_only', '_load_restricted'])
def test_weights_only_load_admits_only_the_allowed_classes(tmp_path, loader):
    """Both stacks, both the path each stack takes and the restricted
    unpickler torch 2.1 needs."""
    load = getattr(compat, loader)
    path = str(tmp_path / 'ckpt.pth')
    checkpoint_with(path, args=argparse.Namespace(lr=0.1))
    loaded = load(path, [argparse.Namespace])
    assert loaded['args'] == argparse.Namespace(lr=0.1)
    assert torch.equal(loaded['w'], torch.arange(3.0))
    assert list(loaded['stats']) == ['n']
    with pytest.raises(pickle.UnpicklingError, match='argparse.Namespace'):
        load(path, [])
    marker = tmp_path / 'made_by_unpickling'
    checkpoint_with(path, hook=MakesADirectoryWhenUnpickled(str(marker)))
    with pytest.raises(pickle.UnpicklingError, match='mkdir'):
        load(path, [argparse.Namespace])
    assert not marker.exists()


def test_weights_only_load_path_on_this_stack(tmp_path, monkeypatch):
    """torch 2.13 stack: torch's own safe_globals. torch 2.1 stack (no
    safe_globals): the restricted unpickler."""
    path = str(tmp_path / 'ckpt.pth')
    checkpoint_with(path)
    restricted = []
    monkeypatch.setattr(compat, '_load_restricted',
                        lambda *args: restricted.append(args) or {})
    compat.load_weights_only(path, [argparse.Namespace])
    assert hasattr(torch.serialization, 'safe_globals') == HAS_SAFE_GLOBALS
    assert restricted == ([] if HAS_SAFE_GLOBALS else
                          [(path, [argparse.Namespace])])
