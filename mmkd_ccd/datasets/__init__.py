from .few_shot import FewShotDataset
from .transforms import JDA, PairedViews, SingleRotation

# DetJDA (with mmdet installed): mmkd_ccd.datasets.transforms.DetJDA.
__all__ = ['FewShotDataset', 'JDA', 'PairedViews', 'SingleRotation']
