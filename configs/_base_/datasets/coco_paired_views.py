# Paired views for detection distillation, shared by configs/ccd_det/*.py.
# Dense distillation compares the two views location by location, so they
# must stay aligned: these steps replace PackDetInputs at the end of a train
# pipeline, after its resize and flip, and the augmentation is photometric.
# One data sample serves both views (same boxes); PairedDetDataPreprocessor
# stacks the original views, then the augmented views.
custom_imports = dict(imports=['mmkd_ccd'], allow_failed_imports=False)
paired_views_steps = [
    dict(
        type='PairedViews',
        view_pipeline=[],
        augment=[
            dict(type='DetJDA', policy='imagenet', photometric_only=True)
        ]),
    dict(
        type='PackPairedDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'flip', 'flip_direction', 'jda_ops')),
]
# mmdet's DetDataPreprocessor settings for ImageNet-normalised backbones
paired_det_data_preprocessor = dict(
    type='PairedDetDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_size_divisor=32)
