# CCD+JDA on CIFAR-100: vgg13 -> vgg8 (the paper's CIFAR-100 recipe).
_base_ = '../_base_/ccd_cifar100.py'
# Teacher: the model zoo's vgg13, converted as
# configs/_base_/teacher_checkpoints.py says.
model = dict(
    architecture=_base_.cifar100_archs['vgg8'],
    teacher=_base_.cifar100_archs['vgg13'],
    teacher_ckpt=_base_.teacher_checkpoints['vgg13_cifar100'])
