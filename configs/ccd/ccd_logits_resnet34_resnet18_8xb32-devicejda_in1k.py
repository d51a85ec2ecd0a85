# CCD+JDA under MMRazor's standard 100-epoch protocol
# (ccd_logits_resnet34_resnet18_8xb32_in1k.py) with JDA on the model's
# device: the augmented views' op chain, crop and flip run on the GPU inside
# PairedDataPreprocessor. The one switch is the train pipeline
# (DevicePairedViews).
_base_ = ['./ccd_logits_resnet34_resnet18_8xb32_in1k.py']

train_dataloader = dict(
    dataset=dict(pipeline=_base_.jda_device_train_pipeline))
