# CCD+JDA mixed into MMRazor's own shipped KD config by inheritance.
# MMRazor 1.0.0 wrote it for mmcls; mmkd_ccd.compat resolves its mmcls
# references to mmpretrain when it is read (use this project's tools/*.py,
# or `import mmkd_ccd` before Config.fromfile).
_base_ = [
    'mmrazor::distill/mmcls/kd/kd_logits_resnet34_resnet18_8xb32_in1k.py',
    '../_base_/jda_imagenet.py',
]

# 1. Two views per image (the inherited crop + flip on both, JDA first on
#    the augmented one).
train_dataloader = dict(dataset=dict(pipeline=_base_.jda_train_pipeline))

model = dict(
    teacher_ckpt=_base_.teacher_checkpoints['resnet34_in1k'],
    # 2. Paired batches instead of MMRazor's ImgDataPreprocessor.
    data_preprocessor=dict(_base_.jda_data_preprocessor, _delete_=True),
    # 3. The pair-aware distiller and the CCD loss replace KLDivergence.
    distiller=dict(
        type='PairedDistiller',
        distill_losses=dict(
            _delete_=True,
            loss_ccd=dict(type='CCDLoss', tau=4.0, loss_weight=1.0)),
        loss_forward_mappings=dict(
            _delete_=True,
            loss_ccd=dict(
                preds_S=dict(from_student=True, recorder='fc'),
                preds_T=dict(from_student=False, recorder='fc')))))
