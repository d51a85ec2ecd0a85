from .det_jda import DetJDA
from .jda import JDA
from .paired_views import PairedViews
from .rotation import SingleRotation

__all__ = ['DetJDA', 'JDA', 'PairedViews', 'SingleRotation']
