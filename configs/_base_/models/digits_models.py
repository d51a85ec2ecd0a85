# Teacher and student for the CPU demo on 16x16 digits: CIFAR-style ResNet-18
# (no stem downsampling), 16 vs 4 base channels.
def cifar_resnet18(base_channels):
    return dict(
        type='mmpretrain.ImageClassifier',
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor'),
        backbone=dict(
            type='mmpretrain.ResNet_CIFAR',
            depth=18,
            stem_channels=base_channels,
            base_channels=base_channels),
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(
            type='mmpretrain.LinearClsHead',
            num_classes=10,
            in_channels=8 * base_channels,
            loss=dict(type='mmpretrain.CrossEntropyLoss', loss_weight=1.0)))


teacher_model = cifar_resnet18(16)
student_model = cifar_resnet18(4)
data_preprocessor_cfg = dict(
    num_classes=10,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)
