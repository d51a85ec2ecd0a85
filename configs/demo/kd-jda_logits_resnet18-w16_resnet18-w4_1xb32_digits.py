# Digits: KD + JDA, the paper's baseline -- CCD with the confidence switched
# off.
_base_ = './ccd_logits_resnet18-w16_resnet18-w4_1xb32_digits.py'
model = dict(
    distiller=dict(distill_losses=dict(loss_ccd=dict(confidence='none'))))
