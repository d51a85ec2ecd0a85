# KD+JDA on CIFAR-100: wrn-40-2 -> wrn-16-2 -- CCD's confidence switched off.
_base_ = './ccd_logits_wrn-40-2_wrn-16-2_1xb128_cifar100.py'
model = dict(
    distiller=dict(distill_losses=dict(loss_ccd=dict(confidence='none'))))
