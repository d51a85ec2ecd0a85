"""The bad-input catalogue: every wrong input a user can give this project,
the error it raises, and that the message names the key, value or file at
fault. Inputs that look odd but are fine (greyscale, RGBA and tiny images)
are here too, with what they become.

Data, transforms and model settings first, then checkpoints, then the
command line and config of ``tools/train.py`` / ``tools/test.py``.
"""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmengine.dataset import pseudo_collate
from mmengine.registry import DATASETS, MODELS, TRANSFORMS, DefaultScope
from mmpretrain.structures import DataSample

from mmkd_ccd import cli, compat
from mmkd_ccd.datasets import toy_data
from mmkd_ccd.datasets.transforms import JDA
from mmkd_ccd.models.data_preprocessors import PairedDataPreprocessor
from tests.utils import load_tool, repo_path

TRAIN = load_tool(repo_path('tools', 'train.py'))
TEST = load_tool(repo_path('tools', 'test.py'))
RESNET_CONVERTER = load_tool(
    repo_path('tools', 'convert', 'torchvision_resnet_to_mmpretrain.py'))
TINY_KD = repo_path('configs', 'kd',
                    'kd_logits_resnet34_resnet18_1xb8_tiny.py')
FULL_KD = repo_path('configs', 'kd',
                    'kd_logits_resnet34_resnet18_8xb32_in1k.py')


def raised(error_type, call, *args, **kwargs) -> str:
    """The message of the ``error_type`` that ``call(*args, **kwargs)``
    raises (fails the test if it raises nothing or something else)."""
    with pytest.raises(error_type) as error:
        call(*args, **kwargs)
    return str(error.value)


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------
def test_missing_dataset_folder_is_named(tmp_path):
    missing = str(tmp_path / 'no_such_dataset')
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        with pytest.raises(FileNotFoundError, match='no_such_dataset'):
            DATASETS.build(
                dict(type='CustomDataset', data_root=missing,
                     data_prefix='train', pipeline=[]))


def test_missing_cifar_folder_is_named_and_not_downloaded(tmp_path):
    missing = str(tmp_path / 'cifar100')
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        with pytest.raises(RuntimeError, match='cifar100'):
            DATASETS.build(
                dict(type='CIFAR100', data_root=missing, split='train',
                     download=False, pipeline=[]))


def load_image(path) -> dict:
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return Compose([dict(type='LoadImageFromFile')])(
            dict(img_path=str(path)))


def test_corrupt_image_is_named(tmp_path):
    root = tmp_path / 'data'
    toy_data.write_custom_dataset(
        str(root), {'train': toy_data.make_shapes(2, 1)})
    corrupt = root / 'train' / 'class_0' / '00000.png'
    corrupt.write_bytes(b'not an image')
    message = raised(OSError, load_image, corrupt)
    assert str(corrupt) in message and 'does not decode' in message


def test_empty_image_is_named(tmp_path):
    empty = tmp_path / 'empty.png'
    empty.write_bytes(b'')
    message = raised(OSError, load_image, empty)
    assert str(empty) in message and 'empty (0 bytes)' in message


@pytest.mark.parametrize('ext', ['.png', '.jpg'])
def test_truncated_image_is_named(tmp_path, ext):
    image = toy_data.make_shapes(1, 1, size=32)[0][0]
    path = tmp_path / f'truncated{ext}'
    cv2.imwrite(str(path), image)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    message = raised(OSError, load_image, path)
    assert str(path) in message


def test_missing_image_is_named(tmp_path):
    missing = tmp_path / 'gone.png'
    assert str(missing) in raised(FileNotFoundError, load_image, missing)


PAIRED_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='PairedViews',
         view_pipeline=[dict(type='RandomResizedCrop', scale=4)],
         augment=[dict(type='JDA', policy='cifar10', prob=1.0)]),
    dict(type='PackInputs'),
]


@pytest.mark.parametrize('name, image, expected', [
    ('grey', np.full((8, 8), 100, np.uint8), (100, 100, 100)),
    ('rgba', np.dstack([np.full((8, 8, 3), (10, 50, 90), np.uint8),
                        np.full((8, 8), 255, np.uint8)]), (10, 50, 90)),
    ('one_pixel', np.full((1, 1, 3), 7, np.uint8), (7, 7, 7)),
    ('two_by_three', np.full((2, 3, 3), 200, np.uint8), (200, 200, 200)),
])
def test_greyscale_rgba_and_tiny_images_become_colour_views(
        tmp_path, name, image, expected):
    path = str(tmp_path / f'{name}.png')
    cv2.imwrite(path, image)
    np.random.seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        packed = Compose(PAIRED_PIPELINE)(dict(img_path=path))
    original, augmented = packed['inputs']
    assert original.shape == augmented.shape == (3, 4, 4)
    # A constant image stays constant under the crop: BGR, alpha dropped.
    assert original.flatten(1).unique(dim=1).flatten().tolist() == list(
        expected)


@pytest.mark.parametrize('shape', [(8, 8), (8, 8, 4), (8, 8, 1)])
def test_jda_names_an_image_that_is_not_three_channel(shape):
    message = raised(ValueError, JDA(policy='cifar10'),
                     dict(img=np.zeros(shape, np.uint8)))
    assert "results['img']" in message and str(shape) in message


# ---------------------------------------------------------------------------
# Transforms and model settings
# ---------------------------------------------------------------------------
def test_unknown_jda_op_is_named():
    message = raised(ValueError, JDA,
                     policy=[dict(type='blur', magnitude=1)], prob=0.5)
    assert "'blur'" in message and 'policy[0]' in message


def test_jda_prob_outside_unit_interval_is_named():
    message = raised(ValueError, JDA, policy='cifar10', prob=1.5)
    assert 'prob' in message and '1.5' in message


def test_empty_augment_is_named():
    message = raised(ValueError, TRANSFORMS.build,
                     dict(type='PairedViews', view_pipeline=[], augment=[]))
    assert 'augment' in message


@pytest.mark.parametrize('fraction', [0, 2])
def test_augmented_fraction_outside_its_range_is_named(fraction):
    message = raised(ValueError, PairedDataPreprocessor,
                     augmented_fraction=fraction)
    assert 'augmented_fraction' in message and str(fraction) in message


def test_missing_paired_views_is_named():
    from tests.models.distillers.test_paired_distiller import algorithm
    model = algorithm(dict(loss_ccd=dict(type='CCDLoss')))
    single_view = pseudo_collate([
        dict(inputs=torch.zeros(3, 32, 32, dtype=torch.uint8),
             data_samples=DataSample().set_gt_label(0)) for _ in range(2)
    ])
    message = raised(ValueError, model,
                     **model.data_preprocessor(single_view, True),
                     mode='loss')
    assert 'PairedViews' in message


# ---------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------
def test_wrong_teacher_ckpt_is_named_with_its_keys(tmp_path):
    from tests.models.distillers.test_paired_distiller import algorithm
    wrong = str(tmp_path / 'wrong_teacher.pth')
    torch.save({'state_dict': {'fc.weight': torch.zeros(5, 8)}}, wrong)
    message = raised(compat.CheckpointMismatchError, algorithm,
                     dict(loss_ccd=dict(type='CCDLoss')), teacher_ckpt=wrong)
    assert wrong in message
    assert "unexpected keys ['fc.weight']" in message
    assert 'missing keys' in message and 'backbone.conv1.weight' in message


def test_teacher_ckpt_of_another_shape_is_named(tmp_path):
    from tests.models.distillers.test_paired_distiller import (algorithm,
                                                               classifier)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        teacher = MODELS.build(classifier(16)).state_dict()
    teacher['head.fc.weight'] = torch.zeros(3, 128)  # 3 classes, not 5
    path = str(tmp_path / 'three_classes.pth')
    torch.save({'state_dict': teacher}, path)
    message = raised(compat.CheckpointMismatchError, algorithm,
                     dict(loss_ccd=dict(type='CCDLoss')), teacher_ckpt=path)
    assert path in message and '1 shape mismatches' in message
    assert 'head.fc.weight' in message and '[3, 128]' in message


def test_missing_teacher_ckpt_is_named(tmp_path):
    from tests.models.distillers.test_paired_distiller import algorithm
    missing = str(tmp_path / 'no_teacher.pth')
    assert missing in raised(FileNotFoundError, algorithm,
                             dict(loss_ccd=dict(type='CCDLoss')),
                             teacher_ckpt=missing)


@pytest.mark.parametrize('kind', ['empty', 'random', 'truncated', 'text'])
def test_unreadable_checkpoint_is_named(tmp_path, kind):
    from tests.test_compat import broken_checkpoints
    path = broken_checkpoints(tmp_path)[kind]
    compat.trust_checkpoint(path)  # as --resume PATH trusts it
    message = raised(compat.CheckpointReadError, compat.load_from_local,
                     path)
    assert path in message


def run_in(folder, monkeypatch, tool, argv):
    """``tool.main(argv)`` from ``folder`` (the tiny configs' data root is
    relative); a unique experiment name per run keeps the runners'
    loggers and visualizers apart."""
    monkeypatch.chdir(folder)
    run_in.count = getattr(run_in, 'count', 0) + 1
    name = f'bad_input_{run_in.count}'
    if '--cfg-options' in argv:
        at = argv.index('--cfg-options') + 1
        argv = argv[:at] + [f'experiment_name={name}'] + argv[at:]
    else:
        argv = argv + ['--cfg-options', f'experiment_name={name}']
    return tool.main(argv)


def test_empty_resume_file_is_named_by_train(tiny_workspace, tmp_path,
                                             monkeypatch):
    empty = tmp_path / 'epoch_1.pth'
    empty.write_bytes(b'')
    with pytest.raises(compat.CheckpointReadError) as error:
        run_in(tiny_workspace, monkeypatch, TRAIN,
               [TINY_KD, '--work-dir', str(tmp_path / 'work'), '--resume',
                str(empty)])
    assert str(empty) in str(error.value)
    assert 'empty (0 bytes)' in str(error.value)


def test_test_refuses_a_checkpoint_of_another_model(tiny_workspace, tmp_path,
                                                    monkeypatch):
    """The exported student (a plain classifier) given with the
    distillation config: named, with the keys and what to do."""
    from mmengine.config import Config
    from mmrazor.registry import MODELS as RAZOR_MODELS
    cfg = Config.fromfile(TINY_KD)
    student = RAZOR_MODELS.build(cfg.model.architecture)  # its cfg_path
    checkpoint = str(tmp_path / 'student_classifier.pth')
    torch.save({'state_dict': student.state_dict()}, checkpoint)
    argv = [TINY_KD, checkpoint, '--work-dir', str(tmp_path / 'test')]
    with pytest.raises(compat.CheckpointMismatchError) as error:
        run_in(tiny_workspace, monkeypatch, TEST, argv)
    message = str(error.value)
    assert checkpoint in message
    assert 'missing keys' in message and 'architecture.backbone' in message
    assert 'unexpected keys' in message and "'backbone.conv1.weight'" in (
        message)
    assert "without the 'architecture.' prefix" in message
    assert '--no-strict' in message
    # The rare partial load, asked for: the student keys do not match, so
    # nothing of it is loaded, and the tool says so only in its log.
    metrics = run_in(tiny_workspace, monkeypatch, TEST, argv + ['--no-strict'])
    assert 0 <= metrics['accuracy/top1'] <= 100


def test_untrusted_checkpoint_says_how_to_trust_it(tmp_path):
    from tests.test_compat import mmengine_like_checkpoint
    path = str(tmp_path / 'init.pth')
    mmengine_like_checkpoint(path)
    message = raised(compat.UntrustedCheckpointError, compat.load_from_local,
                     path)
    assert path in message and 'trusted_checkpoints' in message


def test_resnet_converter_names_an_mmengine_checkpoint(tmp_path, capsys):
    """The converter wants a torchvision file; given an mmengine one it
    names the file and, once trusted, says what the file is."""
    from tests.test_compat import mmengine_like_checkpoint
    src = tmp_path / 'epoch_10.pth'
    torch.save({'state_dict': {'backbone.conv1.weight': torch.zeros(1)},
                'message_hub': {}}, src)
    mmengine_like_checkpoint(str(tmp_path / 'hub.pth'))
    hub = str(tmp_path / 'hub.pth')
    assert RESNET_CONVERTER.main([hub, str(tmp_path / 'a.pth')]) == 1
    err = capsys.readouterr().err
    assert hub in err and '--no-weights-only' in err
    assert RESNET_CONVERTER.main([str(src), str(tmp_path / 'b.pth')]) == 1
    err = capsys.readouterr().err
    assert str(src) in err and 'already an mmpretrain' in err


def test_trusting_a_folder_is_refused(tmp_path):
    assert str(tmp_path) in raised(IsADirectoryError,
                                   compat.trust_checkpoint, str(tmp_path))


def test_trusted_checkpoints_must_be_a_list_of_paths():
    from mmengine.config import Config
    message = raised(TypeError, compat.trust_checkpoints_named_by,
                     Config(dict(trusted_checkpoints='a.pth')))
    assert 'trusted_checkpoints' in message and 'a.pth' in message


# ---------------------------------------------------------------------------
# Command line and config of tools/train.py and tools/test.py
# ---------------------------------------------------------------------------
def train_config(*argv: str):
    return TRAIN.build_config(TRAIN.parse_args(list(argv)))


def test_misspelled_cfg_option_is_named_with_the_likely_key():
    message = raised(cli.ConfigKeyError, train_config, TINY_KD,
                     '--cfg-options', 'randomnes.seed=0')
    assert "'randomnes'" in message and 'randomness' in message
    assert 'randomnes.seed=0' in message


def test_cfg_option_without_its_parents_names_the_full_key(tmp_path):
    config = tmp_path / 'no_variable.py'
    config.write_text("model = dict(teacher_ckpt='teacher.pth')\n")
    message = raised(cli.ConfigKeyError, train_config, str(config),
                     '--cfg-options', 'teacher_ckpt=/data/teacher.pth')
    assert "no key 'teacher_ckpt'" in message
    assert 'model.teacher_ckpt' in message


def test_cfg_option_of_a_config_variable_names_the_key_to_set(tmp_path):
    # A user's config that keeps the checkpoint in a top-level variable:
    # overriding the variable changes nothing once the file is read.
    config = tmp_path / 'kd_with_variable.py'
    config.write_text(f"_base_ = ['{FULL_KD}']\n"
                      "teacher_ckpt = 'checkpoints/teacher.pth'\n"
                      'model = dict(teacher_ckpt=teacher_ckpt)\n')
    message = raised(cli.ConfigKeyError, train_config, str(config),
                     '--cfg-options', 'teacher_ckpt=/data/teacher.pth')
    assert "'teacher_ckpt' is a variable" in message
    assert 'model.teacher_ckpt' in message


def test_keys_the_runner_reads_need_not_be_in_the_config():
    cfg = train_config(TINY_KD, '--cfg-options', 'randomness.seed=3',
                       'compile=False', 'load_from_strict=False')
    assert cfg.randomness.seed == 3 and cfg.load_from_strict is False


def test_random_teacher_is_refused_and_names_the_keys(tmp_path):
    cfg = train_config(FULL_KD, '--work-dir', str(tmp_path), '--cfg-options',
                       'model.teacher_ckpt=None')
    message = raised(ValueError, cli.check_teacher_initialised, cfg)
    assert 'model.teacher_ckpt' in message
    assert 'allow_random_teacher=True' in message
    cli.check_teacher_initialised(train_config(
        FULL_KD, '--cfg-options', 'model.teacher_ckpt=None',
        'allow_random_teacher=True'))


@pytest.mark.parametrize('teacher_init', [
    dict(init_cfg=dict(type='Pretrained', checkpoint='t.pth')),
    dict(backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='b.pth'))),
    dict(pretrained=True),
])
def test_a_teacher_initialised_otherwise_is_accepted(teacher_init):
    cfg = train_config(FULL_KD, '--cfg-options', 'model.teacher_ckpt=None')
    cfg.model.teacher.update(teacher_init)
    cli.check_teacher_initialised(cfg)


def test_resume_with_nothing_to_resume_is_named(tmp_path):
    work_dir = str(tmp_path / 'work')
    cfg = train_config(TINY_KD, '--work-dir', work_dir, '--resume')
    message = raised(FileNotFoundError, cli.resolve_resume, cfg)
    assert osp.join(work_dir, 'last_checkpoint') in message
    assert '--resume CKPT' in message


def test_last_checkpoint_naming_a_missing_file_is_named(tmp_path):
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_9.pth'))
    cfg = train_config(TINY_KD, '--work-dir', str(tmp_path), '--resume')
    message = raised(FileNotFoundError, cli.resolve_resume, cfg)
    assert str(tmp_path / 'epoch_9.pth') in message
    assert str(tmp_path / 'last_checkpoint') in message


def test_missing_resume_checkpoint_is_named(tmp_path):
    missing = str(tmp_path / 'epoch_3.pth')
    assert missing in raised(FileNotFoundError, train_config, TINY_KD,
                             '--resume', missing)


def test_missing_test_checkpoint_is_named(tmp_path):
    missing = str(tmp_path / 'epoch_3.pth')
    assert missing in raised(FileNotFoundError, TEST.main, [TINY_KD, missing])
