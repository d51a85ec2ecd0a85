from .few_shot import FewShotDataset
from .transforms import DetJDA, JDA, PairedViews, SingleRotation

__all__ = ['DetJDA', 'FewShotDataset', 'JDA', 'PairedViews', 'SingleRotation']
