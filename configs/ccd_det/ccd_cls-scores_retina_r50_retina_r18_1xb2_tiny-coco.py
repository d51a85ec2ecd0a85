# ccd_cls-scores_retina_r50_retina_r18_1x_coco.py shrunk for CPU: the generated 64x64
# COCO-format folder data/tiny_coco (3 categories), batch 2 (4 views), 3
# epochs of 3 iterations, COCO bbox evaluation of student and teacher at
# the end. Teacher and student start at random (no download). Run from the
# folder that holds data/ (see README.md).
_base_ = [
    './ccd_cls-scores_retina_r50_retina_r18_1x_coco.py',
    '../_base_/datasets/tiny_coco.py',
]

tiny_head = dict(num_classes=_base_.tiny_coco_num_classes)
# keep an early model's near-prior detections for the COCO evaluation
tiny_test_cfg = dict(score_thr=0.0)
model = dict(
    architecture=dict(
        backbone=dict(init_cfg=None),
        bbox_head=tiny_head,
        test_cfg=tiny_test_cfg),
    teacher=dict(
        backbone=dict(init_cfg=None),
        bbox_head=tiny_head,
        test_cfg=tiny_test_cfg),
    teacher_ckpt=None,
    distiller=dict(
        distill_losses=dict(
            loss_dense_ccd=dict(num_classes=_base_.tiny_coco_num_classes))))

# teacher and student start at random on purpose: tools/train.py refuses a
# random teacher unless told
allow_random_teacher = True

# the tiny resize and flip, then the paired views and their packing
tiny_paired_train_pipeline = (
    _base_.tiny_coco_train_pipeline[:-1] + _base_.paired_views_steps)
train_dataloader = dict(
    _base_.tiny_coco_train_dataloader,
    dataset=dict(
        _base_.tiny_coco_train_dataloader['dataset'],
        pipeline=tiny_paired_train_pipeline))
val_dataloader = _base_.tiny_coco_val_dataloader
test_dataloader = _base_.tiny_coco_val_dataloader
val_evaluator = _base_.tiny_coco_evaluator
test_evaluator = _base_.tiny_coco_evaluator
train_cfg = _base_.tiny_coco_train_cfg
param_scheduler = _base_.tiny_coco_param_scheduler
default_hooks = _base_.tiny_coco_default_hooks
log_processor = _base_.tiny_coco_log_processor
