# KD+JDA under MMRazor's standard ImageNet protocol: CCD's confidence off.
_base_ = './ccd_logits_resnet34_resnet18_8xb32_in1k.py'
model = dict(
    distiller=dict(distill_losses=dict(loss_ccd=dict(confidence='none'))))
