from .loops import DistillTestLoop

__all__ = ['DistillTestLoop']
