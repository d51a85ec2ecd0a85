# CCD+JDA on CIFAR-100: resnet32x4 -> shufflenetv1 (the paper's CIFAR-100 recipe).
_base_ = '../_base_/ccd_cifar100.py'
# The resnet32x4 teacher of the CRD model zoo, converted with
# tools/convert/cifar_teacher_to_mmpretrain.py --arch resnet32x4
teacher_ckpt = 'checkpoints/cifar100/resnet32x4_mmpretrain.pth'
model = dict(
    architecture=_base_.cifar100_archs['ShuffleV1'],
    teacher=_base_.cifar100_archs['resnet32x4'],
    teacher_ckpt=teacher_ckpt)
