# CCD+JDA on CIFAR-100: resnet56 -> resnet20 (the paper's CIFAR-100 recipe).
_base_ = '../_base_/ccd_cifar100.py'
# The resnet56 teacher of the CRD model zoo, converted with
# tools/convert/cifar_teacher_to_mmpretrain.py --arch resnet56
teacher_ckpt = 'checkpoints/cifar100/resnet56_mmpretrain.pth'
model = dict(
    architecture=_base_.cifar100_archs['resnet20'],
    teacher=_base_.cifar100_archs['resnet56'],
    teacher_ckpt=teacher_ckpt)
