# CCD+JDA mixed into MMRazor's own shipped KD config by inheritance.
# MMRazor 1.0.0 wrote it for mmcls; mmkd_ccd.compat resolves its mmcls
# references to mmpretrain when it is read (use this project's tools/*.py,
# or `import mmkd_ccd` before Config.fromfile).
_base_ = 'mmrazor::distill/mmcls/kd/kd_logits_resnet34_resnet18_8xb32_in1k.py'
custom_imports = dict(imports=['mmkd_ccd'], allow_failed_imports=False)

teacher_ckpt = 'checkpoints/resnet34_torchvision_in1k_mmpretrain.pth'

# 1. Two views per image: the inherited train pipeline, minus loading and
#    packing, runs on both; JDA runs first on the augmented view.
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile'),
        dict(
            type='PairedViews',
            view_pipeline=[
                dict(type='RandomResizedCrop', scale=224),
                dict(type='RandomFlip', prob=0.5, direction='horizontal'),
            ],
            augment=[dict(type='JDA', policy='imagenet', prob=0.2)]),
        dict(
            type='PackInputs',
            meta_keys=('sample_idx', 'img_path', 'ori_shape', 'img_shape',
                       'flip', 'flip_direction', 'jda_ops')),
    ]))

model = dict(
    teacher_ckpt=teacher_ckpt,
    # 2. Paired batches instead of MMRazor's ImgDataPreprocessor.
    data_preprocessor=dict(
        _delete_=True,
        type='PairedDataPreprocessor',
        num_classes=1000,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    # 3. The pair-aware distiller and the CCD loss replace KLDivergence.
    distiller=dict(
        type='PairedDistiller',
        distill_losses=dict(
            _delete_=True,
            loss_ccd=dict(type='CCDLoss', tau=4.0, loss_weight=1.0)),
        loss_forward_mappings=dict(
            _delete_=True,
            loss_ccd=dict(
                preds_S=dict(from_student=True, recorder='fc'),
                preds_T=dict(from_student=False, recorder='fc')))))
