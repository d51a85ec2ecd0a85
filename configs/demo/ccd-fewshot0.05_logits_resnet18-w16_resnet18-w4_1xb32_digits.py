# Digits, few-shot (the paper's analysis d): CCD + JDA on a class-stratified
# 5% of the training split (5 or 6 images per class, 52 in all), 125 epochs =
# 250 iterations of 32 -- the 5% setting of configs/ccd/studies/digits.py for
# one seed. The same as
#   tools/train.py ccd_logits_resnet18-w16_resnet18-w4_1xb32_digits.py \
#       --few-shot 0.05 --epochs 125
# which works for any config.
_base_ = './ccd_logits_resnet18-w16_resnet18-w4_1xb32_digits.py'
max_epochs = 125
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='FewShotDataset',
        fraction=0.05,
        seed=0,
        dataset=_base_.train_dataloader.dataset))
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = dict(T_max=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs))
randomness = dict(seed=0)
