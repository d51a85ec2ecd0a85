# CCD+JDA on CIFAR-100: wrn-40-2 -> wrn-40-1 (the paper's CIFAR-100 recipe).
_base_ = '../_base_/ccd_cifar100.py'
# Teacher: the model zoo's wrn-40-2, converted as
# configs/_base_/teacher_checkpoints.py says.
model = dict(
    architecture=_base_.cifar100_archs['wrn-40-1'],
    teacher=_base_.cifar100_archs['wrn-40-2'],
    teacher_ckpt=_base_.teacher_checkpoints['wrn-40-2_cifar100'])
