"""Where mmkd_ccd registers its components.

Every component is registered in mmengine's *root* registries. OpenMMLab
child registries (mmpretrain, mmdet, mmrazor scopes) fall back to their root
when a type is not found in their own scope, so registering at the root is
what makes ``type='JDA'`` resolve inside an mmpretrain or mmdet pipeline and
``type='CCDLoss'`` inside MMRazor's ``ConfigurableDistiller`` without a scope
prefix. A private ``mmkd_ccd`` scope would be a sibling of those scopes and
invisible from them.
"""
from mmengine.registry import DATASETS, HOOKS, LOOPS, MODELS, TRANSFORMS

__all__ = ['DATASETS', 'HOOKS', 'LOOPS', 'MODELS', 'TRANSFORMS']
