# CCD+JDA on CIFAR-100: vgg13 -> mobilenet-v2 (the paper's CIFAR-100 recipe).
_base_ = '../_base_/ccd_cifar100.py'
# Teacher: the model zoo's vgg13, converted as
# configs/_base_/teacher_checkpoints.py says.
model = dict(
    # The paper's student is the MobileNetV2 of its own code (and HSAKD's):
    # stem stride 1, 4x4 last feature map -- not CRD's ('mobilenet-v2-crd').
    architecture=_base_.cifar100_archs['mobilenet-v2'],
    teacher=_base_.cifar100_archs['vgg13'],
    teacher_ckpt=_base_.teacher_checkpoints['vgg13_cifar100'])
