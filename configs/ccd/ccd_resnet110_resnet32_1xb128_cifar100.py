# CCD+JDA on CIFAR-100: resnet110 -> resnet32 (the paper's CIFAR-100 recipe).
_base_ = '../_base_/ccd_cifar100.py'
# The resnet110 teacher of the CRD model zoo, converted with
# tools/convert/cifar_teacher_to_mmpretrain.py --arch resnet110
teacher_ckpt = 'checkpoints/cifar100/resnet110_mmpretrain.pth'
model = dict(
    architecture=_base_.cifar100_archs['resnet32'],
    teacher=_base_.cifar100_archs['resnet110'],
    teacher_ckpt=teacher_ckpt)
