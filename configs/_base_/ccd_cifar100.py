# The paper's CIFAR-100 recipe (docs/method.md, section 3), shared by
# configs/ccd/*_cifar100.py: CCD+JDA, 240 epochs, 128 images (256 views) per
# step on one GPU, SGD lr 0.1 momentum 0.9 nesterov wd 1e-4, lr x0.1 at
# 150/180/210, pad-4 random crop 32 + flip, JDA 'cifar100' policy (p=0.3).
# Leaf configs pick `architecture`, `teacher` and `teacher_ckpt`.
# CIFAR-100 is read from data/cifar100/cifar-100-python (the official python
# version); nothing is downloaded.
_base_ = [
    'mmpretrain::_base_/datasets/cifar100_bs16.py',
    'mmpretrain::_base_/default_runtime.py',
    './models/cifar100_archs.py',
    './models/ccd_distiller.py',
    './teacher_checkpoints.py',
]
custom_imports = dict(imports=['mmkd_ccd'], allow_failed_imports=False)

view_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
]
paired_train_pipeline = [
    dict(
        type='PairedViews',
        view_pipeline=view_pipeline,
        # mmpretrain's CIFAR datasets hold RGB images.
        augment=[dict(type='JDA', policy='cifar100', channel_order='rgb')]),
    dict(type='PackInputs', meta_keys=('sample_idx', 'jda_ops')),
]
train_dataloader = dict(
    batch_size=128,
    num_workers=4,
    persistent_workers=True,
    dataset=dict(download=False, pipeline=paired_train_pipeline))
val_dataloader = dict(
    batch_size=256,
    num_workers=4,
    persistent_workers=True,
    dataset=dict(download=False))
test_dataloader = val_dataloader

model = dict(
    _scope_='mmrazor',
    type='SingleTeacherDistill',
    data_preprocessor=dict(
        type='PairedDataPreprocessor',
        num_classes=100,
        mean=[129.304, 124.070, 112.434],
        std=[68.170, 65.392, 70.418],
        to_rgb=False),
    teacher_ckpt=None,
    distiller=_base_.ccd_distiller)
find_unused_parameters = True

optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4, nesterov=True))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[150, 180, 210], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=240, val_interval=5)
val_cfg = dict(type='mmrazor.SingleTeacherDistillValLoop')
test_cfg = dict(type='DistillTestLoop', evaluate_teacher=True)
auto_scale_lr = dict(base_batch_size=128)
