# Digits: CCD + JDA with a user JDA policy for digit glyphs
# (digits_jda_policy in configs/_base_/datasets/digits.py: the CIFAR-100
# policy with a +-5% instead of +-40% vertical shift), p=0.3.
_base_ = './ccd_logits_resnet18-w16_resnet18-w4_1xb32_digits.py'
train_dataloader = dict(
    dataset=dict(pipeline=_base_.digits_policy_paired_train_pipeline))
