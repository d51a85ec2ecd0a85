# Demo baseline: the student trained alone.
_base_ = './resnet18-w16_1xb64_digits.py'
model = dict(_base_.student_model, _delete_=True, data_preprocessor=dict(
    type='mmpretrain.ClsDataPreprocessor', **_base_.data_preprocessor_cfg))
