# scikit-learn's bundled handwritten digits (1797 images, 10 classes) written
# as 16x16 colour PNGs in CustomDataset layout, per class 60% train / 20% val
# / 20% test (1079 / 359 / 359 images), by
# mmkd_ccd.datasets.toy_data.ensure_digits (tools/demo.py and the digits
# studies call it). Validation during training reads val; tools/test.py and
# train.py --test read test. No flip: a mirrored digit is another glyph.
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
# A user JDA policy for digit glyphs (configs/demo/ccd-digitspolicy_...):
# the paper's CIFAR-100 policy (p=0.3, same ops, order and magnitudes) except
# that the vertical translation moves by 5% of the height (its bin 1, as the
# horizontal one) instead of 40% (bin 8), which pushes a third of a centred
# 16-pixel digit out of the picture. Chosen on the validation split
# (configs/ccd/studies/digits_policy_val.py).
digits_jda_policy = [
    dict(type='autocontrast'),
    dict(type='contrast', magnitude=0.9 * 3 / 9),
    dict(type='posterize', magnitude=8),
    dict(type='solarize', magnitude=256 - 256 * 4 / 9),
    dict(type='translate_y', magnitude=150 / 331 * 1 / 9),
    dict(type='shear_x', magnitude=0.3 * 5 / 9),
    dict(type='brightness', magnitude=0.9 * 3 / 9),
    dict(type='shear_y', magnitude=0.0),
    dict(type='translate_x', magnitude=150 / 331 * 1 / 9),
    dict(type='sharpness', magnitude=0.9 * 5 / 9),
    dict(type='invert'),
    dict(type='color', magnitude=0.9 * 4 / 9),
    dict(type='equalize'),
    dict(type='rotate', magnitude=30 * 3 / 9),
]


def _paired(augment):
    """A train pipeline of view pairs, ``augment`` before the second."""
    return [
        dict(type='LoadImageFromFile'),
        dict(type='PairedViews', view_pipeline=view_pipeline,
             augment=augment),
        dict(type='PackInputs',
             meta_keys=('sample_idx', 'img_path', 'jda_ops')),
    ]


# JDA with the paper's CIFAR-100 policy (p=0.3): the KD+JDA / CCD+JDA configs.
paired_train_pipeline = _paired([dict(type='JDA', policy='cifar100')])
# The same with the digits policy above.
digits_policy_paired_train_pipeline = _paired(
    [dict(type='JDA', policy=digits_jda_policy, prob=0.3)])
# A single rotation (rot90 by 90/180/270 degrees) as the augmented view: the
# paper's analysis (a).
rot90_paired_train_pipeline = _paired([dict(type='SingleRotation')])
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
test_dataloader = dict(
    val_dataloader, dataset=dict(val_dataloader['dataset'],
                                 data_prefix='test'))
test_evaluator = val_evaluator
