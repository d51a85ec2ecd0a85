from .ccd_loss import (CCDLoss, ccd_loss, ccd_weights, combine_views,
                       kl_per_row, paired_divergence)
from .dense_ccd_loss import DenseCCDLoss, dense_ccd_loss
from .paired_loss import PairedLoss

__all__ = [
    'CCDLoss', 'DenseCCDLoss', 'PairedLoss', 'ccd_loss', 'ccd_weights',
    'combine_views', 'dense_ccd_loss', 'kl_per_row', 'paired_divergence'
]
