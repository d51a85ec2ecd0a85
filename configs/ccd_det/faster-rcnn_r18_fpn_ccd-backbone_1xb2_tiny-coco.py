# faster-rcnn_r18_fpn_ccd-backbone_1x_coco.py shrunk for CPU: the generated
# 64x64 COCO-format folder data/tiny_coco (3 categories), batch 2, 3 epochs
# of 3 iterations, COCO bbox evaluation at the end. Run from the folder that
# holds data/ and checkpoints/ccd_resnet18_backbone.pth (see README.md).
_base_ = [
    './faster-rcnn_r18_fpn_ccd-backbone_1x_coco.py',
    '../_base_/datasets/tiny_coco.py',
]
model = dict(
    roi_head=dict(bbox_head=dict(num_classes=_base_.tiny_coco_num_classes)),
    # An early model scores most boxes as background; keep its detections so
    # that the COCO evaluation has something to score.
    test_cfg=dict(rcnn=dict(score_thr=0.0)))
train_dataloader = _base_.tiny_coco_train_dataloader
val_dataloader = _base_.tiny_coco_val_dataloader
test_dataloader = _base_.tiny_coco_val_dataloader
val_evaluator = _base_.tiny_coco_evaluator
test_evaluator = _base_.tiny_coco_evaluator
train_cfg = _base_.tiny_coco_train_cfg
param_scheduler = _base_.tiny_coco_param_scheduler
default_hooks = _base_.tiny_coco_default_hooks
log_processor = _base_.tiny_coco_log_processor
