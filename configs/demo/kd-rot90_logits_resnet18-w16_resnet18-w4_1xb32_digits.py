# Digits, the paper's analysis (a): KD+JDA's loss with a single rotation
# (rot90 by 90/180/270 degrees, label kept) as the augmented view instead of
# the JDA chain.
_base_ = './kd-jda_logits_resnet18-w16_resnet18-w4_1xb32_digits.py'
train_dataloader = dict(
    dataset=dict(pipeline=_base_.rot90_paired_train_pipeline))
