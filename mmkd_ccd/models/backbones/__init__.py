from .cifar import (CIFAR_ARCHS, CifarArch, MobileNetV2CIFAR, ResNetCIFARKD,
                    ShuffleNetV1CIFAR, ShuffleNetV2CIFAR, VGGCIFAR,
                    WideResNetCIFAR, cifar_classifier_cfg)

__all__ = [
    'CIFAR_ARCHS', 'CifarArch', 'MobileNetV2CIFAR', 'ResNetCIFARKD',
    'ShuffleNetV1CIFAR', 'ShuffleNetV2CIFAR', 'VGGCIFAR', 'WideResNetCIFAR',
    'cifar_classifier_cfg'
]
