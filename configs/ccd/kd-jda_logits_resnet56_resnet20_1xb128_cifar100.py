# KD+JDA on CIFAR-100: resnet56 -> resnet20 -- CCD's confidence switched off.
_base_ = './ccd_logits_resnet56_resnet20_1xb128_cifar100.py'
model = dict(
    distiller=dict(distill_losses=dict(loss_ccd=dict(confidence='none'))))
