"""The config tree keeps its own rules: one naming scheme, one teacher
checkpoint per teacher, ``custom_imports`` only where not inherited, the
CIFAR arch table equal to the package's, and a metafile listing every
config (configs/ccd/README.md, "Config names")."""
import ast
import glob
import os.path as osp
import re
from typing import Dict, List, Optional

import pytest
import yaml
from mmengine.config import Config

from mmkd_ccd.models.backbones import CIFAR_ARCHS, cifar_classifier_cfg
from tests.utils import REPO

CONFIG_DIR = osp.join(REPO, 'configs')
ALL_CONFIGS = sorted(
    path for path in glob.glob(osp.join(CONFIG_DIR, '**', '*.py'),
                               recursive=True)
    if '_base_' not in path and 'sweeps' not in path
    and 'studies' not in path)

ARCH = r'[a-z][a-z0-9.]*(?:-[a-z0-9.]+)*'
METHOD = r'[a-z][a-z0-9.]*(?:-[a-z0-9.]+)*'
SETTING = r'\d+xb\d+(?:-[a-z0-9]+)*'
DATASET = r'[a-z][a-z0-9]*(?:-[a-z0-9]+)*'
#: {method}_{position}_{teacher}_{student}_{gpus}xb{batch}[-{setting}]_
#: {dataset}[_mmrazor-{its config}]
DISTILL = re.compile(rf'^{METHOD}_(?:logits|fpn|cls-scores)_{ARCH}_{ARCH}_'
                     rf'{SETTING}_{DATASET}(?:_mmrazor-[a-z]+)?\.py$')
#: mmpretrain's {arch}_{gpus}xb{batch}[-{setting}]_{dataset}
CLASSIFIER = re.compile(rf'^{ARCH}_{SETTING}_{DATASET}\.py$')
#: MMRazor's detection form: {method}_{position}_{teacher detector}_
#: {teacher backbone}_{student detector}_{student backbone}_{schedule}
#: _{dataset}
DET_DISTILL = re.compile(rf'^{METHOD}_(?:fpn|cls-scores)_[a-z]+_r\d+_'
                         rf'[a-z]+_r\d+_(?:\dx|\d+xb\d+)_{DATASET}\.py$')
#: mmdet's {model}_{backbone}_{neck}_[{variant}]_{schedule}_{dataset}
DETECTOR = re.compile(rf'^[a-z-]+_r\d+_fpn(?:_[a-z-]+)?_(?:\dx|\d+xb\d+)_'
                      rf'{DATASET}\.py$')


def rel(path: str) -> str:
    return osp.relpath(path, REPO)


@pytest.mark.parametrize('path', ALL_CONFIGS, ids=rel)
def test_name_follows_the_scheme(path):
    name = osp.basename(path)
    if rel(path).startswith('configs/ccd_det/'):
        assert DET_DISTILL.match(name) or DETECTOR.match(name), name
    else:
        assert DISTILL.match(name) or CLASSIFIER.match(name), name


def _bases(path: str) -> List[str]:
    """The local files ``path`` names in ``_base_`` (OpenMMLab packages'
    ``pkg::`` bases never set ``custom_imports``)."""
    tree = ast.parse(open(path).read())
    for node in tree.body:
        if (isinstance(node, ast.Assign)
                and getattr(node.targets[0], 'id', None) == '_base_'):
            value = ast.literal_eval(node.value)
            names = [value] if isinstance(value, str) else list(value)
            return [
                osp.normpath(osp.join(osp.dirname(path), name))
                for name in names if '::' not in name
            ]
    return []


def _sets_custom_imports(path: str) -> bool:
    return any(
        isinstance(node, ast.Assign)
        and getattr(node.targets[0], 'id', None) == 'custom_imports'
        for node in ast.parse(open(path).read()).body)


def _inherits_custom_imports(path: str) -> Optional[str]:
    for base in _bases(path):
        if _sets_custom_imports(base):
            return base
        found = _inherits_custom_imports(base)
        if found:
            return found
    return None


CONFIG_FILES = sorted(
    glob.glob(osp.join(CONFIG_DIR, '**', '*.py'), recursive=True))


@pytest.mark.parametrize('path', CONFIG_FILES, ids=rel)
def test_custom_imports_only_where_not_inherited(path):
    if _sets_custom_imports(path):
        assert _inherits_custom_imports(path) is None, (
            f'{rel(path)} restates custom_imports, which it inherits from '
            f'{rel(_inherits_custom_imports(path))}')


def test_every_config_imports_the_plugin():
    for path in ALL_CONFIGS:
        imports = Config.fromfile(path).get('custom_imports', {})
        assert 'mmkd_ccd' in imports.get('imports', []), rel(path)


def _teacher_identity(model: dict) -> str:
    teacher = model['teacher']
    return str(teacher.get('cfg_path') or teacher.get('backbone'))


def test_one_checkpoint_per_teacher():
    table = Config.fromfile(
        osp.join(CONFIG_DIR, '_base_', 'teacher_checkpoints.py'))
    known = set(table.teacher_checkpoints.values())
    by_teacher: Dict[str, set] = {}
    for path in ALL_CONFIGS:
        model = Config.fromfile(path).model
        checkpoint = model.get('teacher_ckpt')
        if 'teacher' not in model or checkpoint is None:
            continue
        assert checkpoint in known, (
            f'{rel(path)}: teacher_ckpt {checkpoint} is not in '
            'configs/_base_/teacher_checkpoints.py')
        by_teacher.setdefault(_teacher_identity(model),
                              {}).setdefault(checkpoint, rel(path))
    # The JDA-trained WRN-40-2 of analysis (b) is another teacher on the
    # same network; every other network has one file.
    for teacher, checkpoints in by_teacher.items():
        names = {c for c in checkpoints if 'jda' not in c}
        assert len(names) <= 1, f'{teacher}: {checkpoints}'
    assert len(by_teacher) >= 6


def test_cifar_arch_table_equals_the_packages():
    archs = Config.fromfile(
        osp.join(CONFIG_DIR, '_base_', 'models',
                 'cifar100_archs.py')).cifar100_archs
    for name, classifier in archs.items():
        assert name in CIFAR_ARCHS, name
        expected = cifar_classifier_cfg(name)
        assert dict(classifier.backbone) == dict(expected['backbone']), name
        assert classifier.head.in_channels == expected['head'][
            'in_channels'], name


def _metafile_configs() -> List[str]:
    listed = []
    for path in glob.glob(osp.join(CONFIG_DIR, '*', 'metafile.yml')):
        with open(path) as f:
            meta = yaml.safe_load(f)
        for model in meta['Models']:
            assert osp.isfile(osp.join(REPO, model['Config'])), model
            assert model['Name'] == osp.splitext(
                osp.basename(model['Config']))[0], model
            assert model['Metadata'].get('Reproduces'), model['Name']
            listed.append(model['Config'])
    return listed


def test_metafiles_list_every_config_once():
    listed = _metafile_configs()
    assert len(listed) == len(set(listed))
    expected = [
        rel(p) for p in ALL_CONFIGS
        if rel(p).startswith(('configs/ccd/', 'configs/ccd_det/'))
    ]
    assert sorted(listed) == sorted(expected)
