# CCD+JDA on CIFAR-100: resnet32x4 -> shufflenet-v1 (the paper's CIFAR-100 recipe).
_base_ = '../_base_/ccd_cifar100.py'
# Teacher: the model zoo's resnet32x4, converted as
# configs/_base_/teacher_checkpoints.py says.
model = dict(
    architecture=_base_.cifar100_archs['shufflenet-v1'],
    teacher=_base_.cifar100_archs['resnet32x4'],
    teacher_ckpt=_base_.teacher_checkpoints['resnet32x4_cifar100'])
