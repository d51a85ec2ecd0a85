# The paper's ImageNet recipe (ccd_logits_resnet34_resnet18_8xb96-200e_in1k.py: CCD+JDA, 200
# epochs, 8 GPUs x 96 images) with JDA on the model's device: the
# augmented views' op chain, crop and flip run on the GPU inside
# PairedDataPreprocessor, in the paper's order, pixel for pixel as the CPU
# chain. The one switch is the train pipeline (DevicePairedViews).
_base_ = ['./ccd_logits_resnet34_resnet18_8xb96-200e_in1k.py']

train_dataloader = dict(
    dataset=dict(pipeline=_base_.jda_device_train_pipeline))
