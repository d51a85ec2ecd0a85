# CCD+JDA under MMRazor's standard ImageNet protocol -- the settings of its
# KD/DKD/DIST/WSLD ResNet-34 -> ResNet-18 configs: 100 epochs, 256 images per
# step (8 GPUs x 32), SGD lr 0.1, lr x0.1 at 30/60/90.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/models/ccd_resnet34_resnet18.py',
]

train_dataloader = dict(dataset=dict(pipeline=_base_.jda_train_pipeline))
val_cfg = dict(type='mmrazor.SingleTeacherDistillValLoop')
test_cfg = dict(type='DistillTestLoop', evaluate_teacher=True)
