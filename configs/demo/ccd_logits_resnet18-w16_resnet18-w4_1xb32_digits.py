# Digits: CCD + JDA (1.0 * CE on all views + T^2 (L_orig + L_aug) / 2, T=4),
# JDA with the paper's CIFAR-100 policy (p=0.3).
_base_ = [
    './kd_logits_resnet18-w16_resnet18-w4_1xb32_digits.py',
    '../_base_/models/ccd_distiller.py',
]
train_dataloader = dict(dataset=dict(pipeline=_base_.paired_train_pipeline))
model = dict(
    data_preprocessor=dict(type='PairedDataPreprocessor'),
    distiller=dict(_base_.ccd_distiller, _delete_=True))
