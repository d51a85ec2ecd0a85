from .det_jda import DetJDA
from .jda import JDA
from .pack_paired_det import PackPairedDetInputs
from .paired_views import PairedViews
from .rotation import SingleRotation

__all__ = [
    'DetJDA', 'JDA', 'PackPairedDetInputs', 'PairedViews', 'SingleRotation'
]
