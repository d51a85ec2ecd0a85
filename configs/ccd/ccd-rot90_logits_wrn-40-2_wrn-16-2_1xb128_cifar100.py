# Analysis (a): the augmented view is a single rotation (rot90 by 90/180/270,
# label kept, as in SSKD/HSAKD) instead of JDA; CCD otherwise unchanged.
_base_ = './ccd_logits_wrn-40-2_wrn-16-2_1xb128_cifar100.py'
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(
            type='PairedViews',
            view_pipeline=_base_.view_pipeline,
            augment=[dict(type='SingleRotation')]),
        dict(type='PackInputs', meta_keys=('sample_idx', 'jda_ops')),
    ]))
