# KD+JDA baseline of the paper's ImageNet recipe: CCD's confidence off.
_base_ = './ccd_logits_resnet34_resnet18_8xb96-200e_in1k.py'
model = dict(
    distiller=dict(distill_losses=dict(loss_ccd=dict(confidence='none'))))
