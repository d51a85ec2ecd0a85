"""The package's declared dependencies, read back with importlib.metadata
from a wheel built from this checkout, and what they promise: the running
stack satisfies them, they are the ranges ``import mmkd_ccd`` enforces, and
without the ``det`` extra (mmdet) the package still imports."""
import importlib.metadata
import shutil
import subprocess
import sys
import zipfile

import pytest
from packaging.requirements import Requirement

import mmkd_ccd
from mmkd_ccd import compat
from tests.utils import repo_path


@pytest.fixture(scope='module')
def built(tmp_path_factory) -> importlib.metadata.Distribution:
    """The metadata of a wheel built from a copy of this checkout (a copy:
    building in place would leave build files in the repository)."""
    root = tmp_path_factory.mktemp('packaging')
    source = root / 'source'
    source.mkdir()
    for name in ('setup.py', 'README.md'):
        shutil.copy(repo_path(name), source / name)
    for name in ('requirements', 'mmkd_ccd'):
        shutil.copytree(repo_path(name), source / name,
                        ignore=shutil.ignore_patterns('__pycache__'))
    proc = subprocess.run(
        [sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-index',
         '--no-build-isolation', '-q', str(source), '-w', str(root / 'dist')],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stdout
    (wheel, ) = (root / 'dist').glob('mmkd_ccd-*.whl')
    with zipfile.ZipFile(wheel) as f:
        f.extractall(root / 'unpacked')
    (dist_info, ) = (root / 'unpacked').glob('*.dist-info')
    return importlib.metadata.Distribution.at(dist_info)


def requirement_lines(name: str) -> list:
    with open(repo_path('requirements', f'{name}.txt')) as f:
        lines = (line.split('#', 1)[0].strip() for line in f)
        return [Requirement(line) for line in lines if line]


def declared(dist: importlib.metadata.Distribution, extra: str = None):
    """``{name: specifier}`` of the wheel's requirements: the unconditional
    ones, or those of ``extra``."""
    found = {}
    for line in dist.requires:
        req = Requirement(line)
        if extra is None:
            wanted = req.marker is None
        else:
            wanted = req.marker is not None and req.marker.evaluate(
                {'extra': extra})
        if wanted:
            found[req.name] = str(req.specifier)
    return found


def as_dict(requirements) -> dict:
    return {r.name: str(r.specifier) for r in requirements}


def test_wheel_declares_requirements_and_extras(built):
    assert built.metadata['Name'] == 'mmkd_ccd'
    assert built.version == mmkd_ccd.__version__
    assert sorted(built.metadata.get_all('Provides-Extra')) == [
        'demo', 'det', 'tests']
    runtime = declared(built)
    assert runtime == as_dict(requirement_lines('runtime'))
    assert runtime['mmcv'] == '<2.2.0,>=2.0.0'
    assert runtime['numpy'] == '<2,>=1.25'
    assert 'joblib' in runtime  # mmrazor 1.0.0 imports it undeclared
    assert declared(built, 'det') == {'mmdet': '<4.0.0,>=3.0.0'}
    assert declared(built, 'demo') == {'scikit-learn': ''}
    assert declared(built, 'tests') == {'mmdet': '<4.0.0,>=3.0.0',
                                        'scikit-learn': '', 'pytest': '',
                                        'wheel': '', 'timm': ''}


def test_import_guard_enforces_the_declared_ranges(built):
    """One set of ranges: what pip is told is what ``import mmkd_ccd``
    checks."""
    runtime = declared(built)
    for name, (spec, _) in compat.SUPPORTED_VERSIONS.items():
        assert Requirement(f'{name}{spec}').specifier == Requirement(
            f'{name}{runtime[name]}').specifier, name
    (spec, _), = compat.OPTIONAL_VERSIONS.values()
    assert Requirement(f'mmdet{spec}').specifier == Requirement(
        f'mmdet{declared(built, "det")["mmdet"]}').specifier
    unchecked = set(runtime) - set(compat.SUPPORTED_VERSIONS)
    assert unchecked == {'torchvision', 'joblib', 'matplotlib', 'packaging',
                         'scipy'}


def test_running_stack_satisfies_every_declared_requirement(built):
    for extra in (None, 'det', 'demo', 'tests'):
        for name, spec in declared(built, extra).items():
            version = importlib.metadata.version(name)
            assert Requirement(f'{name}{spec}').specifier.contains(
                version, prereleases=True), (extra, name, version, spec)


def test_imports_without_mmdet():
    """mmdet is the ``det`` extra: without it the classification parts
    import and register, the detection parts are absent."""
    code = (
        'import sys\n'
        "sys.modules['mmdet'] = None  # import mmdet now raises\n"
        'import mmkd_ccd\n'
        'from mmengine.registry import MODELS, TRANSFORMS\n'
        "print(sorted(k for k in ('JDA', 'PairedViews', 'DevicePairedViews', "
        "'DetJDA', 'PackPairedDetInputs') if TRANSFORMS.get(k)),\n"
        "      sorted(k for k in ('CCDLoss', 'PairedDataPreprocessor', "
        "'PairedDetDataPreprocessor') if MODELS.get(k)))\n")
    proc = subprocess.run([sys.executable, '-c', code], cwd=repo_path(),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == (
        "['DevicePairedViews', 'JDA', 'PairedViews'] "
        "['CCDLoss', 'PairedDataPreprocessor']")
