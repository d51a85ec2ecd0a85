"""Our components resolve from the mmpretrain, mmdet and mmrazor scopes."""
import pytest
from mmengine.registry import DefaultScope

import mmkd_ccd  # noqa: F401

COMPONENTS = [
    ('TRANSFORMS', 'JDA'),
    ('TRANSFORMS', 'DetJDA'),
    ('TRANSFORMS', 'PairedViews'),
    ('TRANSFORMS', 'PackPairedDetInputs'),
    ('TRANSFORMS', 'SingleRotation'),
    ('DATASETS', 'FewShotDataset'),
    ('MODELS', 'CCDLoss'),
    ('MODELS', 'DenseCCDLoss'),
    ('MODELS', 'PairedLoss'),
    ('MODELS', 'PairedDistiller'),
    ('MODELS', 'PairedDataPreprocessor'),
    ('MODELS', 'PairedDetDataPreprocessor'),
    ('LOOPS', 'DistillTestLoop'),
    ('HOOKS', 'ExactResumeHook'),
    ('HOOKS', 'RankAveragedLogHook'),
]


@pytest.mark.parametrize('scope', ['mmpretrain', 'mmdet', 'mmrazor'])
@pytest.mark.parametrize('registry, name', COMPONENTS)
def test_visible_from_scope(scope, registry, name):
    import importlib
    module = importlib.import_module(f'{scope}.registry')
    with DefaultScope.overwrite_default_scope(scope):
        found = getattr(module, registry).get(name)
    assert found is not None
    assert found.__module__.startswith('mmkd_ccd.')


def test_config_build_from_mmpretrain_pipeline():
    from mmpretrain.registry import TRANSFORMS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        jda = TRANSFORMS.build(dict(type='JDA', policy='cifar100'))
    assert len(jda.ops) == 14 and jda.prob == 0.3
