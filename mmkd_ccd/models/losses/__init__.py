from .ccd_loss import CCDLoss, ccd_loss, ccd_weights, kl_per_sample
from .paired_loss import PairedLoss

__all__ = ['CCDLoss', 'PairedLoss', 'ccd_loss', 'ccd_weights', 'kl_per_sample']
