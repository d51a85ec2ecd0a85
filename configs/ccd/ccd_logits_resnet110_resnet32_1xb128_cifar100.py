# CCD+JDA on CIFAR-100: resnet110 -> resnet32 (the paper's CIFAR-100 recipe).
_base_ = '../_base_/ccd_cifar100.py'
# Teacher: the model zoo's resnet110, converted as
# configs/_base_/teacher_checkpoints.py says.
model = dict(
    architecture=_base_.cifar100_archs['resnet32'],
    teacher=_base_.cifar100_archs['resnet110'],
    teacher_ckpt=_base_.teacher_checkpoints['resnet110_cifar100'])
