from .det_jda import DetJDA
from .device_paired_views import DevicePairedViews
from .jda import JDA
from .pack_paired_det import PackPairedDetInputs
from .paired_views import PairedViews
from .rotation import SingleRotation

__all__ = [
    'DetJDA', 'DevicePairedViews', 'JDA', 'PackPairedDetInputs',
    'PairedViews', 'SingleRotation'
]
