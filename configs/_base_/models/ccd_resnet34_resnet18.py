# CCD+JDA, ResNet-34 -> ResNet-18 on ImageNet: the model and the paired
# train pipeline shared by configs/ccd/*resnet34_resnet18*.py. Leaf configs
# set `train_dataloader = dict(dataset=dict(pipeline=_base_.ccd_train_pipeline))`.
custom_imports = dict(imports=['mmkd_ccd'], allow_failed_imports=False)

# torchvision's ResNet-34 (73.31% top-1) converted to mmpretrain format with
# tools/convert/torchvision_resnet_to_mmpretrain.py
teacher_ckpt = 'checkpoints/resnet34_torchvision_in1k_mmpretrain.pth'

# The dataset's ordinary train pipeline, applied to both views with
# independent randomness; JDA comes first on the augmented view only.
ccd_view_pipeline = [
    dict(type='RandomResizedCrop', scale=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
]
ccd_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='PairedViews',
        view_pipeline=ccd_view_pipeline,
        augment=[dict(type='JDA', policy='imagenet', prob=0.2)]),
    dict(
        type='PackInputs',
        meta_keys=('sample_idx', 'img_path', 'ori_shape', 'img_shape',
                   'flip', 'flip_direction', 'jda_ops')),
]

model = dict(
    _scope_='mmrazor',
    type='SingleTeacherDistill',
    data_preprocessor=dict(
        type='PairedDataPreprocessor',
        augmented_fraction=1.0,
        num_classes=1000,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    architecture=dict(
        cfg_path='mmpretrain::resnet/resnet18_8xb32_in1k.py', pretrained=False),
    teacher=dict(
        cfg_path='mmpretrain::resnet/resnet34_8xb32_in1k.py', pretrained=False),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        type='PairedDistiller',
        student_recorders=dict(fc=dict(type='ModuleOutputs', source='head.fc')),
        teacher_recorders=dict(fc=dict(type='ModuleOutputs', source='head.fc')),
        distill_losses=dict(
            # confidence='none' turns CCD+JDA into the KD+JDA baseline.
            loss_ccd=dict(
                type='CCDLoss', tau=4.0, loss_weight=1.0,
                confidence='cosine')),
        loss_forward_mappings=dict(
            loss_ccd=dict(
                preds_S=dict(from_student=True, recorder='fc'),
                preds_T=dict(from_student=False, recorder='fc')))))

find_unused_parameters = True
# Leaf configs set, as schedule bases define the keys too:
# val_cfg = dict(type='mmrazor.SingleTeacherDistillValLoop')
# test_cfg = dict(type='DistillTestLoop', evaluate_teacher=True)
