"""mmkd_ccd: JDA + CCD knowledge distillation as an MMRazor plugin.

Importing the package checks the installed versions of its dependencies,
applies the upstream compatibility shims (:mod:`mmkd_ccd.compat`) and
registers every component in mmengine's root registries, where the
mmpretrain, mmdet and mmrazor scopes find them. The detection components
are registered only when mmdet (the ``det`` extra) is installed.
"""
from . import compat

compat.check_versions()
compat.apply_all()

from . import datasets, engine, models, structures  # noqa: E402
from .version import __version__  # noqa: E402

__all__ = ['__version__', 'compat', 'datasets', 'engine', 'models',
           'structures']
