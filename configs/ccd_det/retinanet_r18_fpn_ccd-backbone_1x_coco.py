# mmdet's RetinaNet R-18 FPN 1x on COCO, with the ImageNet backbone replaced
# by the ResNet-18 student of a CCD distillation, exported with
#   python tools/export_student.py CCD_CHECKPOINT checkpoints \
#       --name ccd_resnet18
# (see README.md). The export keeps the keys' 'backbone.' prefix, which the
# Pretrained init strips.
_base_ = 'mmdet::retinanet/retinanet_r18_fpn_1x_coco.py'

custom_imports = dict(imports=['mmkd_ccd'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/ccd_resnet18_backbone.pth',
            prefix='backbone.')))
