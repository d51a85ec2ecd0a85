# KD+JDA on CIFAR-100: resnet32x4 -> shufflenetv2 -- CCD's confidence switched off.
_base_ = './ccd_logits_resnet32x4_shufflenet-v2_1xb128_cifar100.py'
model = dict(
    distiller=dict(distill_losses=dict(loss_ccd=dict(confidence='none'))))
