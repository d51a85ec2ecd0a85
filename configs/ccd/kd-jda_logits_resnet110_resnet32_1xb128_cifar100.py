# KD+JDA on CIFAR-100: resnet110 -> resnet32 -- CCD's confidence switched off.
_base_ = './ccd_logits_resnet110_resnet32_1xb128_cifar100.py'
model = dict(
    distiller=dict(distill_losses=dict(loss_ccd=dict(confidence='none'))))
