# Analysis (c): only a fraction 0.5 of each batch's images contributes its
# augmented view (1.0 is the reference 1:1).
_base_ = './ccd_logits_wrn-40-2_wrn-16-2_1xb128_cifar100.py'
model = dict(data_preprocessor=dict(augmented_fraction=0.5))
