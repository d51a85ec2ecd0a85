# Demo: CCD + JDA (SPEC 1.2: 1.0 * CE on all views + T^2 (L_orig + L_aug) / 2).
_base_ = './kd_digits.py'
train_dataloader = dict(dataset=dict(pipeline=_base_.paired_train_pipeline))
model = dict(
    data_preprocessor=dict(type='PairedDataPreprocessor'),
    distiller=dict(
        type='PairedDistiller',
        distill_losses=dict(
            _delete_=True,
            loss_ccd=dict(type='CCDLoss', tau=4.0, confidence='cosine')),
        loss_forward_mappings=dict(
            _delete_=True,
            loss_ccd=dict(
                preds_S=dict(from_student=True, recorder='fc'),
                preds_T=dict(from_student=False, recorder='fc')))))
