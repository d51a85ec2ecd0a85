# The digits study: the paper's claims on scikit-learn's bundled digits
# (16x16 colour images; 1079 train / 359 val / 359 test), CPU-sized.
#   python tools/study.py configs/ccd/studies/digits.py
# Teacher: CIFAR-style ResNet-18 with 16 base channels, 30 epochs on the
# whole training split. Student: the same with 4 base channels, batch 32.
# Every student run gets about 250 iterations whatever its training-set
# fraction (a fixed budget, so that the fractions compare at equal cost):
# 5% = 52 images, 2 iterations/epoch x 125; 10% = 109, 4 x 63;
# 25% = 270, 9 x 28; 100% = 1079, 34 x 7.
# Accuracy: top-1 on the test split, which nothing here was chosen on (the
# user JDA policy was chosen on val: digits_policy_val.py).
title = 'KD, JDA and CCD on scikit-learn digits (ResNet-18 w16 -> w4, CPU)'
setup = 'mmkd_ccd.datasets.toy_data.ensure_digits'
metric = 'accuracy/top1'
split = 'test'
teacher = dict(
    config='configs/demo/resnet18-w16_1xb64_digits.py',
    seed=0,
    # one teacher for digits.py, digits_demo.py and digits_policy_val.py
    work_dir='work_dirs/digits_teacher')
# The students need neither checkpoints nor a validation (the table reports
# the test split).
cfg_options = {
    'default_hooks.checkpoint': None,
    'val_dataloader': None,
    'val_cfg': None,
    'val_evaluator': None,
}

_pair = '_logits_resnet18-w16_resnet18-w4_1xb32_digits.py'
_core = [
    dict(name='student alone', config='configs/demo/resnet18-w4_1xb32_digits.py'),
    dict(name='KD', config='configs/demo/kd' + _pair),
    dict(name='KD+JDA', config='configs/demo/kd-jda' + _pair),
    dict(name='CCD+JDA', config='configs/demo/ccd' + _pair),
]
_augmented = [
    dict(name=f'CCD+JDA, {share:.0%} augmented',
         config='configs/demo/ccd' + _pair,
         cfg_options={'model.data_preprocessor.augmented_fraction': share},
         settings=['10%'], plot=False) for share in (0.25, 0.5, 0.75)
]
methods = _core + [
    # (a) single rotation instead of JDA as the augmented view
    dict(name='rotation+KD', config='configs/demo/kd-rot90' + _pair,
         settings=['5%']),
    # (e) JDA with another MMRazor loss
    dict(name='DKD', config='configs/demo/dkd' + _pair, settings=['5%']),
    dict(name='DKD+JDA', config='configs/demo/dkd-jda' + _pair,
         settings=['5%']),
    # a JDA policy for digit glyphs, chosen on the validation split
    dict(name='CCD+JDA, digits policy',
         config='configs/demo/ccd-digitspolicy' + _pair,
         settings=['5%', '10%']),
    # (c) the proportion of augmented views in a batch
] + _augmented
settings = [
    # the paper's claims are about the few-shot settings, where the seeds
    # spread most: 10 seeds at 5% and 10%, 5 at 25%, 3 at 100%
    dict(name='5%', x=5, few_shot=0.05, epochs=125, seeds=list(range(10))),
    dict(name='10%', x=10, few_shot=0.1, epochs=63, seeds=list(range(10))),
    dict(name='25%', x=25, few_shot=0.25, epochs=28),
    dict(name='100%', x=100, epochs=7, seeds=[0, 1, 2]),
]
seeds = [0, 1, 2, 3, 4]
comparisons = [
    ('KD', 'student alone'),
    ('KD+JDA', 'KD'),
    ('CCD+JDA', 'KD+JDA'),
    ('CCD+JDA', 'KD'),
    ('KD+JDA', 'rotation+KD'),
    ('DKD+JDA', 'DKD'),
    ('CCD+JDA, digits policy', 'CCD+JDA'),
    ('CCD+JDA', 'CCD+JDA, 25% augmented'),
    ('CCD+JDA', 'CCD+JDA, 50% augmented'),
    ('CCD+JDA', 'CCD+JDA, 75% augmented'),
]
x_label = 'training set used (%, class-stratified; ~250 iterations each)'
x_log = True
