# The KD config above, shrunk for CPU: a tiny CustomDataset folder (32x32
# images under data/tiny, e.g. from mmkd_ccd.datasets.toy_data), 2 epochs,
# no teacher checkpoint. Used by the tests; run from the folder holding data/.
_base_ = [
    './kd_logits_resnet34_resnet18_8xb32_in1k.py',
    '../_base_/datasets/tiny_custom.py',
]
model = dict(teacher_ckpt=None)
# no teacher checkpoint on purpose: tools/train.py refuses a random teacher
# unless told
allow_random_teacher = True
train_dataloader = _base_.tiny_train_dataloader
val_dataloader = _base_.tiny_val_dataloader
test_dataloader = _base_.tiny_val_dataloader
val_evaluator = _base_.tiny_evaluator
test_evaluator = _base_.tiny_evaluator
train_cfg = _base_.tiny_train_cfg
default_hooks = _base_.tiny_default_hooks
