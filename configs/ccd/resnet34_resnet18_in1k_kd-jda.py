# KD+JDA baseline of the paper's ImageNet recipe: CCD's confidence off.
_base_ = './resnet34_resnet18_in1k.py'
model = dict(
    distiller=dict(distill_losses=dict(loss_ccd=dict(confidence='none'))))
