"""The checkpoint trust policy at every entry point, with harmless payloads.

Each payload file holds a pickled object whose unpickling creates a marker
folder (tests/tools/payloads.py). A file the user names is trusted: it
loads, fully unpickled (the marker appears). Any other file goes through
the safe unpickler only: it is refused with a message that names it and
says how to trust it, and its marker never appears. Entry points: training
(``--resume CKPT``, a bare ``--resume``, ``load_from``, ``teacher_ckpt``, a
``Pretrained`` ``init_cfg``, URLs served on localhost), ``tools/test.py``,
``tools/export_student.py``, ``tools/analyze_ccd.py`` and the converters.
"""
import os.path as osp
import shutil
from pathlib import Path

import pytest
import torch

from mmkd_ccd import compat
from tests.tools.payloads import save_with_payload, serve_folder
from tests.utils import load_tool, repo_path

TRAIN = load_tool(repo_path('tools', 'train.py'))
TEST = load_tool(repo_path('tools', 'test.py'))
EXPORT = load_tool(repo_path('tools', 'export_student.py'))
ANALYZE = load_tool(repo_path('tools', 'analyze_ccd.py'))
RESNET = load_tool(
    repo_path('tools', 'convert', 'torchvision_resnet_to_mmpretrain.py'))
CIFAR = load_tool(
    repo_path('tools', 'convert', 'cifar_teacher_to_mmpretrain.py'))

# The digits demo's CCD+JDA config on the tiny generated dataset: small
# CIFAR ResNets, 4 iterations of 8 images per epoch.
CONFIG = f'''
_base_ = {repo_path('configs', 'demo', 'ccd_logits_resnet18-w16_resnet18-w4_1xb32_digits.py')!r}
tiny = dict(data_root='data/tiny')
train_dataloader = dict(batch_size=8, dataset=tiny)
val_dataloader = dict(batch_size=16, dataset=tiny)
test_dataloader = dict(batch_size=16, dataset=dict(tiny, data_prefix='val'))
train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
allow_random_teacher = True
'''


@pytest.fixture(scope='module')
def config(tiny_workspace) -> str:
    path = osp.join(tiny_workspace, 'trust_ccd_digits.py')
    with open(path, 'w') as f:
        f.write(CONFIG)
    return path


def run(tool, argv, folder, monkeypatch):
    """``tool.main(argv)`` from ``folder`` (the config's data root is
    relative), with an experiment name of its own."""
    monkeypatch.chdir(folder)
    run.count = getattr(run, 'count', 0) + 1
    options = ['--cfg-options', f'experiment_name=trust_{run.count}']
    if '--cfg-options' in argv:
        at = argv.index('--cfg-options')
        argv = argv[:at] + options + argv[at + 1:]
    else:
        argv = argv + options
    return tool.main(argv)


@pytest.fixture(scope='module')
def trained(config, tiny_workspace, tmp_path_factory):
    """One epoch of the config: its checkpoint (an mmengine checkpoint,
    which needs full unpickling) and the parts of its state dict."""
    work_dir = str(tmp_path_factory.mktemp('trained'))
    monkeypatch = pytest.MonkeyPatch()
    try:
        run(TRAIN, [config, '--work-dir', work_dir], tiny_workspace,
            monkeypatch)
    finally:
        monkeypatch.undo()
    checkpoint = torch.load(osp.join(work_dir, 'epoch_1.pth'),
                            weights_only=False)
    state_dict = checkpoint['state_dict']
    teacher = {k[len('teacher.'):]: v for k, v in state_dict.items()
               if k.startswith('teacher.')}
    student = {k[len('architecture.'):]: v for k, v in state_dict.items()
               if k.startswith('architecture.')}
    return dict(checkpoint=checkpoint, teacher=teacher, student=student)


def payload_file(tmp_path: Path, name: str, content: dict) -> tuple:
    """``(path, marker)`` of a new payload checkpoint holding
    ``content``."""
    marker = tmp_path / f'marker_{name}'
    path = save_with_payload(content, tmp_path / f'{name}.pth', marker)
    return path, marker


def refused(call, path: str) -> str:
    """The refusal ``call()`` raises for ``path``; its message names the
    file and how to trust it."""
    with pytest.raises(compat.UntrustedCheckpointError) as error:
        call()
    message = str(error.value)
    assert path in message and 'trusted_checkpoints' in message
    return message


# ---------------------------------------------------------------------------
# tools/train.py
# ---------------------------------------------------------------------------
def test_resume_named_checkpoint(config, trained, tiny_workspace, tmp_path,
                                 monkeypatch):
    path, marker = payload_file(tmp_path, 'resume', trained['checkpoint'])
    work_dir = str(tmp_path / 'work')
    run(TRAIN, [config, '--work-dir', work_dir, '--resume', path,
                '--cfg-options', 'train_cfg.max_epochs=2'], tiny_workspace,
        monkeypatch)
    assert marker.exists()
    assert osp.isfile(osp.join(work_dir, 'epoch_2.pth'))
    assert not osp.isfile(osp.join(work_dir, 'epoch_1.pth'))  # resumed


def test_bare_resume_trusts_the_file_last_checkpoint_names_only(
        config, trained, tiny_workspace, tmp_path, monkeypatch):
    work_dir = tmp_path / 'work'
    work_dir.mkdir()
    named, named_marker = payload_file(work_dir, 'latest',
                                       trained['checkpoint'])
    (work_dir / 'last_checkpoint').write_text(named)
    # A file planted in the work dir, and a Pretrained init_cfg pointing at
    # it: nothing about the work dir makes it trusted.
    planted, planted_marker = payload_file(
        work_dir, 'planted', {'state_dict': trained['student']})
    init = ['model.architecture.init_cfg.type=Pretrained',
            f'model.architecture.init_cfg.checkpoint={planted}']
    argv = [config, '--work-dir', str(work_dir), '--resume', '--cfg-options',
            'train_cfg.max_epochs=2']
    refused(lambda: run(TRAIN, argv + init, tiny_workspace, monkeypatch),
            planted)
    assert not planted_marker.exists() and not named_marker.exists()

    run(TRAIN, argv, tiny_workspace, monkeypatch)
    assert named_marker.exists() and not planted_marker.exists()
    assert osp.isfile(work_dir / 'epoch_2.pth')


def test_init_cfg_checkpoint_loads_once_listed_as_trusted(
        config, trained, tiny_workspace, tmp_path, monkeypatch):
    path, marker = payload_file(tmp_path, 'init',
                                {'state_dict': trained['student']})
    run(TRAIN, [config, '--work-dir', str(tmp_path / 'work'), '--cfg-options',
                'model.architecture.init_cfg.type=Pretrained',
                f'model.architecture.init_cfg.checkpoint={path}',
                f'trusted_checkpoints=[{path}]'], tiny_workspace, monkeypatch)
    assert marker.exists()


def test_load_from_named_checkpoint(config, trained, tiny_workspace, tmp_path,
                                    monkeypatch):
    path, marker = payload_file(tmp_path, 'load_from', trained['checkpoint'])
    run(TRAIN, [config, '--work-dir', str(tmp_path / 'work'), '--cfg-options',
                f'load_from={path}'], tiny_workspace, monkeypatch)
    assert marker.exists()


def test_teacher_ckpt_named_checkpoint(config, trained, tiny_workspace,
                                       tmp_path, monkeypatch):
    path, marker = payload_file(tmp_path, 'teacher',
                                {'state_dict': trained['teacher']})
    run(TRAIN, [config, '--work-dir', str(tmp_path / 'work'), '--cfg-options',
                f'model.teacher_ckpt={path}'], tiny_workspace, monkeypatch)
    assert marker.exists()


def test_urls_follow_the_same_policy(config, trained, tiny_workspace,
                                     tmp_path, monkeypatch):
    served = tmp_path / 'served'
    served.mkdir()
    _, unnamed_marker = payload_file(served, 'student',
                                     {'state_dict': trained['student']})
    _, named_marker = payload_file(served, 'teacher',
                                   {'state_dict': trained['teacher']})
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    with serve_folder(served) as base:
        student_url, teacher_url = base + '/student.pth', base + '/teacher.pth'
        refused(lambda: run(TRAIN, [
            config, '--work-dir', str(tmp_path / 'work1'), '--cfg-options',
            'model.architecture.init_cfg.type=Pretrained',
            f'model.architecture.init_cfg.checkpoint={student_url}'
        ], tiny_workspace, monkeypatch), student_url)
        assert not unnamed_marker.exists()

        run(TRAIN, [config, '--work-dir', str(tmp_path / 'work2'),
                    '--cfg-options', f'model.teacher_ckpt={teacher_url}'],
            tiny_workspace, monkeypatch)
        assert named_marker.exists()


# ---------------------------------------------------------------------------
# tools/test.py, tools/export_student.py, tools/analyze_ccd.py
# ---------------------------------------------------------------------------
def test_test_loads_the_named_checkpoint(config, trained, tiny_workspace,
                                         tmp_path, monkeypatch):
    path, marker = payload_file(tmp_path, 'test', trained['checkpoint'])
    metrics = run(TEST, [config, path, '--work-dir', str(tmp_path / 'test')],
                  tiny_workspace, monkeypatch)
    assert marker.exists()
    assert 0 <= metrics['accuracy/top1'] <= 100


def test_export_loads_the_named_checkpoint(trained, tmp_path):
    path, marker = payload_file(tmp_path, 'export', trained['checkpoint'])
    assert EXPORT.main([path, str(tmp_path / 'out')]) == 0
    assert marker.exists()
    exported = torch.load(tmp_path / 'out' / 'export_classifier.pth',
                          weights_only=True)
    assert exported['state_dict'].keys() == trained['student'].keys()


def test_analyze_loads_the_named_checkpoint(config, trained, tiny_workspace,
                                            tmp_path, monkeypatch):
    path, marker = payload_file(tmp_path, 'analyze',
                                {'state_dict': trained['teacher']})
    monkeypatch.chdir(tiny_workspace)
    summary = ANALYZE.main([config, path, '--num-images', '4', '--out-dir',
                            str(tmp_path / 'analysis'), '--device', 'cpu'])
    assert marker.exists()
    assert len(summary['images']) == 4


# ---------------------------------------------------------------------------
# Converters: third-party files, safe unless --no-weights-only
# ---------------------------------------------------------------------------
def test_resnet_converter_reads_untrusted_files_safely_only(tmp_path, capsys):
    import torchvision
    weights = torchvision.models.resnet18(weights=None).state_dict()
    src, marker = payload_file(tmp_path, 'resnet18', {'state_dict': weights})
    assert RESNET.main([src, str(tmp_path / 'a.pth')]) == 1
    err = capsys.readouterr().err
    assert src in err and '--no-weights-only' in err
    assert not marker.exists()
    assert RESNET.main([src, str(tmp_path / 'b.pth'),
                        '--no-weights-only']) == 0
    assert marker.exists()


def test_cifar_converter_reads_untrusted_files_safely_only(tmp_path, capsys):
    from mmengine.registry import MODELS

    from mmkd_ccd.models.backbones import cifar_classifier_cfg
    classifier = MODELS.build(cifar_classifier_cfg('wrn-16-2', 10))
    crd_state = {CIFAR.to_crd_key(k, 'wrn-16-2'): v
                 for k, v in classifier.state_dict().items()}
    src, marker = payload_file(tmp_path, 'wrn', {'model': crd_state})
    argv = [src, str(tmp_path / 'out.pth'), '--arch', 'wrn-16-2']
    assert CIFAR.main(argv) == 1
    err = capsys.readouterr().err
    assert src in err and '--no-weights-only' in err
    assert not marker.exists()
    assert CIFAR.main(argv + ['--no-weights-only']) == 0
    assert marker.exists()


def test_a_copy_of_a_saved_checkpoint_is_not_trusted(trained, tmp_path):
    """Only the exact file this process's runner wrote is trusted."""
    copy = str(tmp_path / 'copy.pth')
    torch.save(trained['checkpoint'], copy)
    refused(lambda: compat.load_from_local(copy), copy)
    shutil.copy(copy, tmp_path / 'again.pth')
    refused(lambda: compat.load_from_local(str(tmp_path / 'again.pth')),
            str(tmp_path / 'again.pth'))
