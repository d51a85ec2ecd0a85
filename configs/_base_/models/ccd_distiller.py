# The CCD distiller on classifier logits (`head.fc`), T=4, weight 1:
# `distiller=_base_.ccd_distiller`. confidence='none' turns CCD+JDA into the
# KD+JDA baseline.
ccd_distiller = dict(
    type='PairedDistiller',
    student_recorders=dict(fc=dict(type='ModuleOutputs', source='head.fc')),
    teacher_recorders=dict(fc=dict(type='ModuleOutputs', source='head.fc')),
    distill_losses=dict(
        loss_ccd=dict(
            type='CCDLoss', tau=4.0, loss_weight=1.0, confidence='cosine')),
    loss_forward_mappings=dict(
        loss_ccd=dict(
            preds_S=dict(from_student=True, recorder='fc'),
            preds_T=dict(from_student=False, recorder='fc'))))
