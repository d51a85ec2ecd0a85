# The tiny CCD+JDA config (ccd_logits_resnet34_resnet18_1xb8_tiny.py) with
# JDA on the model's device -- on CPU here, as the batch is. Used by the
# tests.
_base_ = ['./ccd_logits_resnet34_resnet18_1xb8_tiny.py']

train_dataloader = dict(
    dataset=dict(pipeline=[
        _base_.tiny_paired_train_pipeline[0],
        dict(_base_.tiny_paired_train_pipeline[1], type='DevicePairedViews'),
        dict(
            _base_.tiny_paired_train_pipeline[2],
            meta_keys=_base_.tiny_paired_train_pipeline[2]['meta_keys'] +
            ('device_jda', )),
    ]))
