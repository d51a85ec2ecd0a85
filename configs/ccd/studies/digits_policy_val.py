# How the digits JDA policy was chosen -- on the validation split, never on
# test: the paper's CIFAR-100 policy against the same policy with a +-5%
# instead of +-40% vertical shift (digits_jda_policy in
# configs/_base_/datasets/digits.py), for CCD+JDA at 5% and 10% of the
# training split, seeds 0-2. It also checks that DKD's CIFAR setting trains
# here. The teacher is the one of digits.py (the same folder and command).
#   python tools/study.py configs/ccd/studies/digits_policy_val.py
_base_ = './digits.py'
title = 'Choosing a JDA policy for digits (validation split)'
split = 'val'
methods = [
    dict(name='CCD+JDA', config='configs/demo/ccd' + _base_._pair),
    dict(name='CCD+JDA, digits policy',
         config='configs/demo/ccd-digitspolicy' + _base_._pair),
    dict(name='DKD', config='configs/demo/dkd' + _base_._pair,
         settings=['10%']),
    dict(name='DKD+JDA', config='configs/demo/dkd-jda' + _base_._pair,
         settings=['10%']),
    dict(name='DKD, beta 1', config='configs/demo/dkd' + _base_._pair,
         cfg_options={'model.distiller.distill_losses.loss_dkd.beta': 1},
         settings=['10%']),
    dict(name='DKD+JDA, beta 1', config='configs/demo/dkd-jda' + _base_._pair,
         cfg_options={
             'model.distiller.distill_losses.loss_dkd.loss.beta': 1
         },
         settings=['10%']),
]
settings = [
    dict(name='5%', x=5, few_shot=0.05, epochs=125),
    dict(name='10%', x=10, few_shot=0.1, epochs=63),
]
seeds = [0, 1, 2]
comparisons = [
    ('CCD+JDA, digits policy', 'CCD+JDA'),
    ('DKD+JDA', 'DKD'),
    ('DKD+JDA, beta 1', 'DKD, beta 1'),
]
