# The paper's ImageNet recipe (docs/method.md, section 3): CCD+JDA, ResNet-34 (torchvision
# weights) -> ResNet-18, 200 epochs, 768 images = 1536 views per step
# (8 GPUs x 96), SGD lr 0.1 momentum 0.9 wd 1e-4, lr x0.1 at 60/120/180,
# gradient-norm clip 20. The paper trained with mixed precision: add --amp.
# Test: resize 256, centre-crop 224 (mmpretrain's imagenet_bs32 test pipeline).
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/models/ccd_resnet34_resnet18.py',
]

train_dataloader = dict(
    batch_size=96, dataset=dict(pipeline=_base_.jda_train_pipeline))

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=20))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[60, 120, 180], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=1)
auto_scale_lr = dict(base_batch_size=768)
val_cfg = dict(type='mmrazor.SingleTeacherDistillValLoop')
test_cfg = dict(type='DistillTestLoop', evaluate_teacher=True)
