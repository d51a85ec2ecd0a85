# KD+JDA on CIFAR-100: vgg13 -> vgg8 -- CCD's confidence switched off.
_base_ = './ccd_logits_vgg13_vgg8_1xb128_cifar100.py'
model = dict(
    distiller=dict(distill_losses=dict(loss_ccd=dict(confidence='none'))))
