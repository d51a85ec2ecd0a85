# MMRazor's plain logit KD (ResNet-34 -> ResNet-18, KLDivergence), written
# against mmpretrain: the same model, loss and schedule as MMRazor 1.0.0's
# configs/distill/mmcls/kd/kd_logits_resnet34_resnet18_8xb32_in1k.py.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/teacher_checkpoints.py',
    '../_base_/models/kd_distiller.py',
]
custom_imports = dict(imports=['mmkd_ccd'], allow_failed_imports=False)

model = dict(
    _scope_='mmrazor',
    type='SingleTeacherDistill',
    data_preprocessor=dict(
        type='ImgDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    architecture=dict(
        cfg_path='mmpretrain::resnet/resnet18_8xb32_in1k.py', pretrained=False),
    teacher=dict(
        cfg_path='mmpretrain::resnet/resnet34_8xb32_in1k.py', pretrained=False),
    teacher_ckpt=_base_.teacher_checkpoints['resnet34_in1k'],
    distiller=_base_.kd_distiller)

find_unused_parameters = True

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
test_cfg = dict(type='DistillTestLoop', evaluate_teacher=True)
