from .paired_distiller import PairedDistiller

__all__ = ['PairedDistiller']
