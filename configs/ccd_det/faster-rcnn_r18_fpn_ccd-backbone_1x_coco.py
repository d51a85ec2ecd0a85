# mmdet's Faster R-CNN FPN 1x on COCO with a ResNet-18 backbone: the student
# of a CCD distillation, exported with
#   python tools/export_student.py CCD_CHECKPOINT checkpoints \
#       --name ccd_resnet18
# (see README.md). mmdet 3.3.0 ships no 1x R-18 Faster R-CNN, so this takes
# the R-50 one and sets depth 18, whose stages have 64-512 channels.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'

custom_imports = dict(imports=['mmkd_ccd'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        depth=18,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/ccd_resnet18_backbone.pth',
            prefix='backbone.')),
    neck=dict(in_channels=[64, 128, 256, 512]))
