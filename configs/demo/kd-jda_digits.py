# Demo: KD + JDA, the paper's baseline -- CCD with the confidence switched off.
_base_ = './ccd-jda_digits.py'
model = dict(
    distiller=dict(distill_losses=dict(loss_ccd=dict(confidence='none'))))
