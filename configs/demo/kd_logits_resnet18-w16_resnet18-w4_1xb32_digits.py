# Demo: classic KD (MMRazor's KLDivergence, T=4) on the original views only.
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
    # tools/demo.py sets the teacher it trained
    teacher_ckpt=None,
    distiller=dict(
        _base_.kd_distiller,
        distill_losses=dict(
            loss_kl=dict(type='KLDivergence', tau=4, loss_weight=1.0))))
val_cfg = dict(type='mmrazor.SingleTeacherDistillValLoop')
test_cfg = dict(type='DistillTestLoop', evaluate_teacher=False)
