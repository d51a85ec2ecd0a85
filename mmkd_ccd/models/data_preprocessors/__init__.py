from .paired_data_preprocessor import PairedDataPreprocessor
from .paired_det_data_preprocessor import PairedDetDataPreprocessor

__all__ = ['PairedDataPreprocessor', 'PairedDetDataPreprocessor']
