# JDA combined with MMRazor's CWD (channel-wise distillation of the FPN
# features), RetinaNet R-101 -> R-50 on COCO: MMRazor's own config with
# paired views. Every image gives an original and a photometric-only DetJDA
# view, aligned with it (resize and flip before PairedViews), and the CWD
# losses see all 2B views alike; PairedDistiller only adds the pairing,
# which ChannelWiseDivergence does not use.
_base_ = [
    'mmrazor::distill/mmdet/cwd/cwd_fpn_retina_r101_retina_r50_1x_coco.py',
    '../_base_/datasets/coco_paired_views.py',
    '../_base_/teacher_checkpoints.py',
]

# mmdet's train pipeline, its PackDetInputs replaced by the paired views
paired_train_pipeline = (
    _base_.train_dataloader.dataset.pipeline[:-1] +
    _base_.paired_views_steps)
train_dataloader = dict(dataset=dict(pipeline=paired_train_pipeline))

model = dict(
    # MMRazor 1.0.0's RetinaNet CWD config inherits its Faster R-CNN
    # config's teacher_ckpt, a Faster R-CNN file; the RetinaNet R-101
    # teacher needs RetinaNet weights.
    teacher_ckpt=_base_.teacher_checkpoints['retinanet-r101_coco'],
    data_preprocessor=_base_.paired_det_data_preprocessor,
    distiller=dict(type='PairedDistiller'))
