# scikit-learn's bundled handwritten digits (1797 images, 10 classes) written
# as 16x16 colour PNGs in CustomDataset layout by tools/demo.py
# (mmkd_ccd.datasets.toy_data.make_digits). No flip: a mirrored digit is
# another glyph.
data_root = 'data/digits'
image_size = 16

view_pipeline = [
    dict(type='RandomCrop', crop_size=image_size, padding=2),
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    *view_pipeline,
    dict(type='PackInputs'),
]
paired_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='PairedViews',
        view_pipeline=view_pipeline,
        augment=[dict(type='JDA', policy='cifar100')]),
    dict(type='PackInputs', meta_keys=('sample_idx', 'img_path', 'jda_ops')),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    dataset=dict(
        type='CustomDataset',
        data_root=data_root,
        data_prefix='train',
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=256,
    num_workers=0,
    dataset=dict(
        type='CustomDataset',
        data_root=data_root,
        data_prefix='val',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
