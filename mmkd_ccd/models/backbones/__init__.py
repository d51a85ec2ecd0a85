from .cifar import (CIFAR_ARCHS, CifarArch, MobileNetV2CIFAR, ResNetCIFARKD,
                    ShuffleNetV1CIFAR, ShuffleNetV2CIFAR, VGGCIFAR,
                    WideResNetCIFAR, arch_named, cifar_classifier_cfg,
                    unknown_arch_message)

__all__ = [
    'CIFAR_ARCHS', 'CifarArch', 'MobileNetV2CIFAR', 'ResNetCIFARKD',
    'ShuffleNetV1CIFAR', 'ShuffleNetV2CIFAR', 'VGGCIFAR', 'WideResNetCIFAR',
    'arch_named', 'cifar_classifier_cfg', 'unknown_arch_message'
]
