# CCD+JDA on CIFAR-100: resnet56 -> resnet20 (the paper's CIFAR-100 recipe).
_base_ = '../_base_/ccd_cifar100.py'
# Teacher: the model zoo's resnet56, converted as
# configs/_base_/teacher_checkpoints.py says.
model = dict(
    architecture=_base_.cifar100_archs['resnet20'],
    teacher=_base_.cifar100_archs['resnet56'],
    teacher_ckpt=_base_.teacher_checkpoints['resnet56_cifar100'])
