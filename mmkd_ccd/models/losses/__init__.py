from .ccd_loss import CCDLoss, ccd_loss, ccd_weights, kl_per_sample

__all__ = ['CCDLoss', 'ccd_loss', 'ccd_weights', 'kl_per_sample']
