# Digits baseline: the student (CIFAR-style ResNet-18, 4 base channels)
# trained alone, batch 32.
_base_ = './resnet18-w16_1xb64_digits.py'
model = dict(_base_.student_model, _delete_=True, data_preprocessor=dict(
    type='mmpretrain.ClsDataPreprocessor', **_base_.data_preprocessor_cfg))
train_dataloader = dict(batch_size=32)
