# MMRazor's shipped WSLD config (ResNet-34 -> ResNet-18, its own
# settings) with JDA views: the same loss on original and augmented views
# through the pair-aware distiller (the paper's analysis e).
_base_ = [
    'mmrazor::distill/mmcls/wsld/wsld_logits_resnet34_resnet18_8xb32_in1k.py',
    '../_base_/jda_imagenet.py',
]
train_dataloader = dict(dataset=dict(pipeline=_base_.jda_train_pipeline))
model = _base_.jda_distill_overrides
