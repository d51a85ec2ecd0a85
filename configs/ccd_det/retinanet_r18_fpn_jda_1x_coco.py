# mmdet's RetinaNet R-18 FPN 1x on COCO trained with box-aware JDA (DetJDA,
# the ImageNet policy: each of its 25 ops fires with p = 0.2) as data
# augmentation. DetJDA works on the decoded image at its own size and moves
# the boxes with every rotate/shear, so it goes after LoadAnnotations and
# before Resize. For a CCD-distilled backbone as well, use
# './retinanet_r18_fpn_ccd-backbone_1x_coco.py' as _base_ instead.
_base_ = 'mmdet::retinanet/retinanet_r18_fpn_1x_coco.py'

custom_imports = dict(imports=['mmkd_ccd'], allow_failed_imports=False)

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='DetJDA', policy='imagenet'),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'flip', 'flip_direction', 'jda_ops')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
