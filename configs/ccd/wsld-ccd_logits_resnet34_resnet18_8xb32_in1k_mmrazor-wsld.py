# WSLD + JDA with CCD's cosine confidence weighting each augmented
# view's loss (PairedLoss; the paper's analysis e). DIST has no such variant: its
# intra-class term is computed across the batch, not per sample.
_base_ = './wsld-jda_logits_resnet34_resnet18_8xb32_in1k_mmrazor-wsld.py'
model = dict(
    distiller=dict(
        distill_losses=dict(
            _delete_=True,
            loss_wsld=dict(
                type='PairedLoss',
                confidence='cosine',
                loss=dict(type='WSLD', tau=2, loss_weight=2.5))),
        loss_forward_mappings=dict(
            _delete_=True,
            loss_wsld=dict(
                preds_S=dict(from_student=True, recorder='fc'),
                preds_T=dict(from_student=False, recorder='fc'),
                gt_labels=dict(
                    recorder='gt_labels', from_student=True, data_idx=1)))))
