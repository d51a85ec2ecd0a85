# Analysis (d): few-shot distillation on a class-stratified 25% of the
# CIFAR-100 training set (seeded; any fraction via --cfg-options
# train_dataloader.dataset.fraction=...).
_base_ = './ccd_logits_wrn-40-2_wrn-16-2_1xb128_cifar100.py'
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='FewShotDataset',
        fraction=0.25,
        seed=0,
        dataset=_base_.train_dataloader['dataset']))
