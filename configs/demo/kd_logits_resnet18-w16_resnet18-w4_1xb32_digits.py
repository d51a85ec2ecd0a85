# Digits: classic KD (MMRazor's KLDivergence, T=4, weight 1, plus the
# student's cross-entropy) on the original views only, batch 32. Set the
# teacher: --cfg-options model.teacher_ckpt=work_dirs/<teacher>/epoch_30.pth
# (the digits studies and tools/demo.py set the one they train).
_base_ = [
    './resnet18-w16_1xb64_digits.py',
    '../_base_/models/kd_distiller.py',
]

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='SingleTeacherDistill',
    data_preprocessor=dict(
        type='mmpretrain.ClsDataPreprocessor',
        **_base_.data_preprocessor_cfg),
    architecture=_base_.student_model,
    teacher=_base_.teacher_model,
    teacher_ckpt=None,
    distiller=dict(
        _base_.kd_distiller,
        distill_losses=dict(
            loss_kl=dict(type='KLDivergence', tau=4, loss_weight=1.0))))
train_dataloader = dict(batch_size=32)
val_cfg = dict(type='mmrazor.SingleTeacherDistillValLoop')
test_cfg = dict(type='DistillTestLoop', evaluate_teacher=False)
