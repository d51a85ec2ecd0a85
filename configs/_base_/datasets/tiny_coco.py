# Pieces for tiny CPU-sized detection runs on a COCO-format folder written by
# mmkd_ccd.datasets.toy_detection.write_coco_dataset (64x64 images of 1-3
# shapes, 3 categories) under data/tiny_coco, relative to the folder a run is
# started from. Configs inherit a real mmdet config plus this file and swap
# their dataloaders, evaluators and schedule for these; every name starts
# with tiny_coco_ so none clashes with the real config's keys.
tiny_coco_data_root = 'data/tiny_coco/'
# mmkd_ccd.datasets.toy_detection.CATEGORIES
tiny_coco_classes = ('rectangle', 'circle', 'triangle')
tiny_coco_num_classes = len(tiny_coco_classes)
tiny_coco_metainfo = dict(classes=tiny_coco_classes)
tiny_coco_image_size = (64, 64)

tiny_coco_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=tiny_coco_image_size, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
# Box-aware JDA between LoadAnnotations and Resize, as in
# configs/ccd_det/retinanet_r18_fpn_jda_1x_coco.py; prob raised from the
# policy's 0.2 so that a few iterations see geometric ops.
tiny_coco_jda_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='DetJDA', policy='imagenet', prob=0.5),
    dict(type='Resize', scale=tiny_coco_image_size, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'flip', 'flip_direction', 'jda_ops')),
]
tiny_coco_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=tiny_coco_image_size, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]

tiny_coco_train_dataloader = dict(
    _delete_=True,
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type='CocoDataset',
        data_root=tiny_coco_data_root,
        metainfo=tiny_coco_metainfo,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=tiny_coco_train_pipeline))
tiny_coco_jda_train_dataloader = dict(
    tiny_coco_train_dataloader,
    dataset=dict(
        tiny_coco_train_dataloader['dataset'],
        pipeline=tiny_coco_jda_train_pipeline))
tiny_coco_val_dataloader = dict(
    _delete_=True,
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CocoDataset',
        data_root=tiny_coco_data_root,
        metainfo=tiny_coco_metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        test_mode=True,
        pipeline=tiny_coco_test_pipeline))
tiny_coco_evaluator = dict(
    _delete_=True,
    type='CocoMetric',
    ann_file=tiny_coco_data_root + 'annotations/instances_val.json',
    metric='bbox',
    format_only=False)

# 3 epochs of toy_detection's default 6 training images at batch 2: 9
# iterations, then one evaluation. A 3-iteration warm-up, not mmdet's 500:
# that one would keep the lr near zero for the whole run.
tiny_coco_train_cfg = dict(max_epochs=3, val_interval=3)
tiny_coco_param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=3)
]
tiny_coco_default_hooks = dict(
    logger=dict(interval=1), checkpoint=dict(interval=3, max_keep_ckpts=1))
tiny_coco_log_processor = dict(window_size=1)
