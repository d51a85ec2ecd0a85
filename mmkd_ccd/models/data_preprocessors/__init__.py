from .paired_data_preprocessor import PairedDataPreprocessor

__all__ = ['PairedDataPreprocessor']
