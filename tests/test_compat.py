"""Each compat shim: the upstream symptom reproduced without mmkd_ccd (in a
fresh interpreter), and fixed with it (in this one, where conftest imported
mmkd_ccd)."""
import os.path as osp
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import _load_checkpoint

from mmkd_ccd import compat


def run_python(code: str, env=None) -> subprocess.CompletedProcess:
    import os
    return subprocess.run([sys.executable, '-c', code],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=300,
                          env=dict(os.environ, **(env or {})))


# 1. mmrazor.models on torch 2.x ------------------------------------------
def test_mmrazor_models_import_fails_upstream():
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
    with pytest.raises(pickle.UnpicklingError):
        _load_checkpoint(other)


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


# 3. torchrun on CPU ---------------------------------------------------------
DDP_CODE = '''
import torch
{prelude}
from mmengine.dist import init_dist
from mmengine.model import MMDistributedDataParallel
init_dist('pytorch', backend='gloo')
model = MMDistributedDataParallel(torch.nn.Linear(2, 2), device_ids=[0])
print('wrapped', type(model).__name__)
'''
DDP_ENV = dict(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1',
               MASTER_ADDR='127.0.0.1', MASTER_PORT='29547')


@pytest.mark.skipif(torch.cuda.is_available(), reason='the symptom needs a '
                    'machine without CUDA')
def test_cpu_distributed_fails_upstream():
    proc = run_python(DDP_CODE.format(prelude=''), DDP_ENV)
    assert proc.returncode != 0
    assert 'NVIDIA driver' in proc.stdout or 'CUDA' in proc.stdout


def test_cpu_distributed_fixed():
    env = dict(DDP_ENV, MASTER_PORT='29548')
    proc = run_python(DDP_CODE.format(prelude='import mmkd_ccd'), env)
    assert proc.returncode == 0, proc.stdout
    assert 'wrapped MMDistributedDataParallel' in proc.stdout


# 4. strict teacher checkpoints ----------------------------------------------
def test_teacher_checkpoint_must_match(tmp_path):
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
