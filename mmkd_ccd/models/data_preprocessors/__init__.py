import importlib.util

from .paired_data_preprocessor import PairedDataPreprocessor

__all__ = ['PairedDataPreprocessor']

# The detection preprocessor builds on mmdet, the optional ``det`` extra.
if importlib.util.find_spec('mmdet') is not None:
    from .paired_det_data_preprocessor import \
        PairedDetDataPreprocessor  # noqa: F401
    __all__ += ['PairedDetDataPreprocessor']
