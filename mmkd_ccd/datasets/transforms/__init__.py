from .jda import JDA
from .paired_views import PairedViews

__all__ = ['JDA', 'PairedViews']
