# Demo teacher: plain supervised training on digits.
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
