# The demo (make demo, tools/demo.py): the short version of digits.py --
# the teacher, then the student alone, KD, KD+JDA and CCD+JDA on 5% of the
# training split (52 images), seeds 0-2; the same runs as those of
# digits.py.
_base_ = './digits.py'
title = 'Demo: KD, JDA and CCD with 5% of the digits (ResNet-18 w16 -> w4)'
methods = _base_._core
settings = [dict(name='5%', x=5, few_shot=0.05, epochs=125)]
seeds = [0, 1, 2]
comparisons = [
    ('KD', 'student alone'),
    ('KD+JDA', 'KD'),
    ('CCD+JDA', 'KD+JDA'),
]
x_log = False
