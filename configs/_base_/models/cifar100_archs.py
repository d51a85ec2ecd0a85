# The CIFAR-100 classifiers of the CRD / mdistiller / HSAKD / CCD line of
# work (mmkd_ccd.models.backbones.cifar), keyed by this project's arch names,
# the ones in the config file names; tests/configs/test_configs.py checks
# that this table equals CIFAR_ARCHS there. The repositories' own names are
# in CIFAR_ARCHS[...].source_names (wrn_40_2, ShuffleV1, mobilenetV2, ...).
def cifar_classifier(backbone, in_channels):
    return dict(
        type='mmpretrain.ImageClassifier',
        # Named with its scope: distill configs build classifiers inside
        # the mmrazor scope, where the bare name is unknown.
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor'),
        backbone=backbone,
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(
            type='mmpretrain.LinearClsHead',
            num_classes=100,
            in_channels=in_channels,
            loss=dict(type='mmpretrain.CrossEntropyLoss', loss_weight=1.0)))


cifar100_archs = {
    'wrn-40-2': cifar_classifier(
        dict(type='WideResNetCIFAR', depth=40, widen_factor=2), 128),
    'wrn-16-2': cifar_classifier(
        dict(type='WideResNetCIFAR', depth=16, widen_factor=2), 128),
    'wrn-40-1': cifar_classifier(
        dict(type='WideResNetCIFAR', depth=40, widen_factor=1), 64),
    'resnet110': cifar_classifier(dict(type='ResNetCIFARKD', depth=110), 64),
    'resnet56': cifar_classifier(dict(type='ResNetCIFARKD', depth=56), 64),
    'resnet32': cifar_classifier(dict(type='ResNetCIFARKD', depth=32), 64),
    'resnet20': cifar_classifier(dict(type='ResNetCIFARKD', depth=20), 64),
    'resnet32x4': cifar_classifier(
        dict(type='ResNetCIFARKD', depth=32, num_filters=(32, 64, 128, 256)),
        256),
    'resnet8x4': cifar_classifier(
        dict(type='ResNetCIFARKD', depth=8, num_filters=(32, 64, 128, 256)),
        256),
    'vgg13': cifar_classifier(dict(type='VGGCIFAR', depth=13), 512),
    'vgg8': cifar_classifier(dict(type='VGGCIFAR', depth=8), 512),
    # The paper's student: HSAKD's and CCD's MobileNetV2 (stem stride 1,
    # last map 4x4), the student of its VGG-13 -> MobileNetV2 pair.
    'mobilenet-v2': cifar_classifier(
        dict(type='MobileNetV2CIFAR', expand_ratio=6, width_mult=0.5,
             stem_stride=1), 1280),
    # CRD's and mdistiller's MobileNetV2 (stem stride 2, last map 2x2).
    'mobilenet-v2-crd': cifar_classifier(
        dict(type='MobileNetV2CIFAR', expand_ratio=6, width_mult=0.5,
             stem_stride=2), 1280),
    'shufflenet-v1': cifar_classifier(dict(type='ShuffleNetV1CIFAR'), 960),
    'shufflenet-v2': cifar_classifier(
        dict(type='ShuffleNetV2CIFAR', net_size=1), 1024),
}
