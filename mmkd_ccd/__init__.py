"""mmkd_ccd: JDA + CCD knowledge distillation as an MMRazor plugin.

Importing the package applies the upstream compatibility shims
(:mod:`mmkd_ccd.compat`) and registers every component in mmengine's root
registries, where the mmpretrain, mmdet and mmrazor scopes find them.
"""
from . import compat

compat.apply_all()

from . import datasets, engine, models, structures  # noqa: E402
from .version import __version__  # noqa: E402

__all__ = ['__version__', 'compat', 'datasets', 'engine', 'models',
           'structures']
