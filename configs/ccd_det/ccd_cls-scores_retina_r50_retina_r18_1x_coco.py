# Dense CCD + JDA for detection: RetinaNet R-50 FPN (teacher) -> RetinaNet
# R-18 FPN (student) on COCO with mmdet's 1x schedule. Every image gives an
# original and an augmented view, spatially aligned: resize and flip run
# before PairedViews and the augmentation is photometric-only DetJDA, so a
# location of the head sees the same content in both views and the CCD
# weight 1 + cos(teacher logits of the two views) is taken per location
# and anchor (DenseCCDLoss). The student's detection losses cover all 2B
# views.
_base_ = [
    'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
    '../_base_/datasets/coco_paired_views.py',
    '../_base_/teacher_checkpoints.py',
]

teacher = dict(_base_.model, _scope_='mmdet')
student = dict(
    _base_.model,
    _scope_='mmdet',
    backbone=dict(
        _base_.model.backbone,
        depth=18,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')),
    neck=dict(_base_.model.neck, in_channels=[64, 128, 256, 512]))

# mmdet's train pipeline, its PackDetInputs replaced by the paired views
paired_train_pipeline = (
    _base_.train_dataloader.dataset.pipeline[:-1] +
    _base_.paired_views_steps)
train_dataloader = dict(dataset=dict(pipeline=paired_train_pipeline))

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='SingleTeacherDistill',
    data_preprocessor=_base_.paired_det_data_preprocessor,
    architecture=student,
    teacher=teacher,
    teacher_ckpt=_base_.teacher_checkpoints['retinanet-r50_coco'],
    distiller=dict(
        type='PairedDistiller',
        # The head's forward returns (cls_scores, bbox_preds), each a list
        # over FPN levels; data_idx=0 picks the classification scores.
        # Recording happens only inside each model's own recorder context,
        # so the student's and the teacher's calls do not mix.
        student_recorders=dict(
            head=dict(
                type='MethodOutputs',
                source='mmdet.models.dense_heads.RetinaHead.forward')),
        teacher_recorders=dict(
            head=dict(
                type='MethodOutputs',
                source='mmdet.models.dense_heads.RetinaHead.forward')),
        distill_losses=dict(
            # confidence='none' gives the dense KD + JDA baseline.
            loss_dense_ccd=dict(
                type='DenseCCDLoss',
                tau=1.0,
                loss_weight=1.0,
                confidence='cosine',
                activation='sigmoid',
                num_classes=_base_.model.bbox_head.num_classes)),
        loss_forward_mappings=dict(
            loss_dense_ccd=dict(
                preds_S=dict(from_student=True, recorder='head', data_idx=0),
                preds_T=dict(from_student=False, recorder='head',
                             data_idx=0)))))

find_unused_parameters = True
val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
