# CCD+JDA, ResNet-34 -> ResNet-18 on ImageNet: the model shared by
# configs/ccd/*resnet34_resnet18*.py. Leaf configs also set
# `train_dataloader = dict(dataset=dict(pipeline=_base_.jda_train_pipeline))`.
_base_ = ['../jda_imagenet.py', './ccd_distiller.py']

model = dict(
    _scope_='mmrazor',
    type='SingleTeacherDistill',
    data_preprocessor=_base_.jda_data_preprocessor,
    architecture=dict(
        cfg_path='mmpretrain::resnet/resnet18_8xb32_in1k.py', pretrained=False),
    teacher=dict(
        cfg_path='mmpretrain::resnet/resnet34_8xb32_in1k.py', pretrained=False),
    teacher_ckpt=_base_.teacher_checkpoints['resnet34_in1k'],
    distiller=_base_.ccd_distiller)

find_unused_parameters = True
# Leaf configs set, as schedule bases define the keys too:
# val_cfg = dict(type='mmrazor.SingleTeacherDistillValLoop')
# test_cfg = dict(type='DistillTestLoop', evaluate_teacher=True)
