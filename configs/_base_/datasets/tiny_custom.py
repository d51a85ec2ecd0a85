# Pieces for tiny CPU-sized runs on a folder in mmpretrain's CustomDataset
# layout (data_root/{train,val}/<class>/<image>), e.g. one written by
# mmkd_ccd.datasets.toy_data. Configs inherit a real config plus this file
# and swap their dataloaders for these (names here do not clash with the
# real config's keys, so both can be bases at once).
tiny_data_root = 'data/tiny'
tiny_image_size = 32

tiny_view_pipeline = [
    dict(type='RandomResizedCrop', scale=tiny_image_size,
         crop_ratio_range=(0.5, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
]
tiny_train_pipeline = [
    dict(type='LoadImageFromFile'),
    *tiny_view_pipeline,
    dict(type='PackInputs'),
]
tiny_paired_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='PairedViews',
        view_pipeline=tiny_view_pipeline,
        augment=[dict(type='JDA', policy='cifar100')]),
    dict(
        type='PackInputs',
        meta_keys=('sample_idx', 'img_path', 'ori_shape', 'img_shape',
                   'flip', 'flip_direction', 'jda_ops')),
]
tiny_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(tiny_image_size, tiny_image_size)),
    dict(type='PackInputs'),
]
tiny_val_dataloader = dict(
    _delete_=True,
    batch_size=16,
    num_workers=0,
    dataset=dict(
        type='CustomDataset',
        data_root=tiny_data_root,
        data_prefix='val',
        pipeline=tiny_test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
tiny_evaluator = dict(_delete_=True, type='Accuracy', topk=(1, ))
tiny_train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=tiny_data_root,
        data_prefix='train',
        pipeline=tiny_train_pipeline))
tiny_paired_train_dataloader = dict(
    tiny_train_dataloader,
    dataset=dict(
        tiny_train_dataloader['dataset'],
        pipeline=tiny_paired_train_pipeline))
tiny_train_cfg = dict(max_epochs=2, val_interval=1)
tiny_default_hooks = dict(
    logger=dict(interval=1), checkpoint=dict(interval=1, max_keep_ckpts=2))
