# Digits teacher: CIFAR-style ResNet-18 with 16 base channels, trained alone
# on the whole training split (30 epochs, batch 64; ~97-98% test top-1).
# python tools/train.py configs/demo/resnet18-w16_1xb64_digits.py --test
# (after mmkd_ccd.datasets.toy_data.ensure_digits() wrote data/digits).
_base_ = [
    '../_base_/datasets/digits.py',
    '../_base_/schedules/digits.py',
    '../_base_/models/digits_models.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmkd_ccd'], allow_failed_imports=False)
model = dict(_base_.teacher_model, data_preprocessor=dict(
    type='mmpretrain.ClsDataPreprocessor', **_base_.data_preprocessor_cfg))
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=_base_.max_epochs))
