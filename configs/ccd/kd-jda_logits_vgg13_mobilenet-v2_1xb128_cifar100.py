# KD+JDA on CIFAR-100: vgg13 -> mobilenetV2 (HSAKD's and the CCD code's, as
# in the paper; see README.md) -- CCD's confidence switched off.
_base_ = './ccd_logits_vgg13_mobilenet-v2_1xb128_cifar100.py'
model = dict(
    distiller=dict(distill_losses=dict(loss_ccd=dict(confidence='none'))))
