# Analysis (b), step 1: train the WRN-40-2 teacher itself on original + JDA
# views (cross-entropy on both), with the CIFAR-100 recipe's schedule.
_base_ = '../_base_/ccd_cifar100.py'
model = dict(
    _base_.cifar100_archs['wrn-40-2'],
    _delete_=True,
    data_preprocessor=dict(
        type='PairedDataPreprocessor',
        num_classes=100,
        mean=[129.304, 124.070, 112.434],
        std=[68.170, 65.392, 70.418],
        to_rgb=False))
val_cfg = dict(_delete_=True)
test_cfg = dict(_delete_=True)
