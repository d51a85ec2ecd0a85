# CCD+JDA on CIFAR-100: wrn-40-2 -> wrn-40-1 (the paper's CIFAR-100 recipe).
_base_ = '../_base_/ccd_cifar100.py'
# The wrn-40-2 teacher of the CRD model zoo, converted with
# tools/convert/cifar_teacher_to_mmpretrain.py --arch wrn_40_2
teacher_ckpt = 'checkpoints/cifar100/wrn_40_2_mmpretrain.pth'
model = dict(
    architecture=_base_.cifar100_archs['wrn_40_1'],
    teacher=_base_.cifar100_archs['wrn_40_2'],
    teacher_ckpt=teacher_ckpt)
