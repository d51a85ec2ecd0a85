# Pieces that add JDA views to an ImageNet distillation config, e.g. one of
# MMRazor's shipped configs inherited as a base. Variable names are prefixed
# so that this file can sit beside any config in a `_base_` list.
_base_ = ['./teacher_checkpoints.py']
custom_imports = dict(imports=['mmkd_ccd'], allow_failed_imports=False)
jda_view_pipeline = [
    dict(type='RandomResizedCrop', scale=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
]
jda_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='PairedViews',
        view_pipeline=jda_view_pipeline,
        augment=[dict(type='JDA', policy='imagenet', prob=0.2)]),
    dict(
        type='PackInputs',
        meta_keys=('sample_idx', 'img_path', 'ori_shape', 'img_shape',
                   'flip', 'flip_direction', 'jda_ops')),
]
# JDA on the model's device (opt-in): the same two views, but the op chain,
# crop and flip of the augmented view run in PairedDataPreprocessor on the
# batch's device, so the data-loading CPUs only decode and make the original
# view. See configs/ccd/README.md.
jda_device_train_pipeline = [
    jda_train_pipeline[0],
    dict(jda_train_pipeline[1], type='DevicePairedViews'),
    dict(
        jda_train_pipeline[2],
        meta_keys=jda_train_pipeline[2]['meta_keys'] + ('device_jda', )),
]
# To replace MMRazor's ImgDataPreprocessor in an inherited config, use
# dict(_base_.jda_data_preprocessor, _delete_=True).
jda_data_preprocessor = dict(
    type='PairedDataPreprocessor',
    num_classes=1000,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

# Overrides that turn one of MMRazor's shipped logit-distillation configs
# into "the same loss + JDA": `model = _base_.jda_distill_overrides`.
jda_distill_overrides = dict(
    teacher=dict(pretrained=False),
    teacher_ckpt=_base_.teacher_checkpoints['resnet34_in1k'],
    data_preprocessor=dict(jda_data_preprocessor, _delete_=True),
    distiller=dict(type='PairedDistiller'))
