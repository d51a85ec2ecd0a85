import importlib.util

from .device_paired_views import DevicePairedViews
from .jda import JDA
from .paired_views import PairedViews
from .rotation import SingleRotation

__all__ = ['DevicePairedViews', 'JDA', 'PairedViews', 'SingleRotation']

# The box-aware transforms build on mmdet, the optional ``det`` extra.
if importlib.util.find_spec('mmdet') is not None:
    from .det_jda import DetJDA  # noqa: F401
    from .pack_paired_det import PackPairedDetInputs  # noqa: F401
    __all__ += ['DetJDA', 'PackPairedDetInputs']
