# Digits: MMRazor's DKD (decoupled KD) on the original views only, with DKD's
# CIFAR setting (T=4, alpha=1, beta=8; no warm-up). MMRazor's DKDLoss sums
# over the rows of the batch, so loss_weight=1/32 makes it DKD's per-image
# mean at this batch size.
_base_ = './kd_logits_resnet18-w16_resnet18-w4_1xb32_digits.py'
dkd_loss = dict(
    type='DKDLoss', tau=4, alpha=1, beta=8, loss_weight=1 / 32)
model = dict(
    distiller=dict(
        student_recorders=dict(
            gt_labels=dict(type='ModuleInputs', source='head.loss_module')),
        distill_losses=dict(_delete_=True, loss_dkd=dkd_loss),
        loss_forward_mappings=dict(
            _delete_=True,
            loss_dkd=dict(
                preds_S=dict(from_student=True, recorder='fc'),
                preds_T=dict(from_student=False, recorder='fc'),
                gt_labels=dict(
                    recorder='gt_labels', from_student=True, data_idx=1)))))
