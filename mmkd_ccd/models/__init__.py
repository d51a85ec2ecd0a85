from . import backbones
from .data_preprocessors import PairedDataPreprocessor
from .distillers import PairedDistiller
from .losses import CCDLoss, ccd_loss, ccd_weights

__all__ = [
    'CCDLoss', 'PairedDataPreprocessor', 'PairedDistiller', 'ccd_loss',
    'ccd_weights'
]
