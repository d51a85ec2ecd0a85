from .transforms import JDA, PairedViews

__all__ = ['JDA', 'PairedViews']
