# Digits, the paper's analysis (e): DKD + JDA. The DKD loss of
# dkd_logits_..._digits.py on the original and on the augmented views, the
# two halves averaged (PairedLoss, confidence='none'), so that each image
# weighs as much as in DKD alone; JDA with the CIFAR-100 policy.
_base_ = './dkd_logits_resnet18-w16_resnet18-w4_1xb32_digits.py'
train_dataloader = dict(dataset=dict(pipeline=_base_.paired_train_pipeline))
model = dict(
    data_preprocessor=dict(type='PairedDataPreprocessor'),
    distiller=dict(
        type='PairedDistiller',
        distill_losses=dict(
            _delete_=True,
            loss_dkd=dict(
                type='PairedLoss', confidence='none',
                loss=_base_.dkd_loss))))
