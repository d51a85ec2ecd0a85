# CCD+JDA on CIFAR-100: vgg13 -> mobilenetV2 (the paper's CIFAR-100 recipe).
_base_ = '../_base_/ccd_cifar100.py'
# The vgg13 teacher of the CRD model zoo, converted with
# tools/convert/cifar_teacher_to_mmpretrain.py --arch vgg13
teacher_ckpt = 'checkpoints/cifar100/vgg13_mmpretrain.pth'
model = dict(
    # The paper's student is the MobileNetV2 of its own code (and HSAKD's):
    # stem stride 1, 4x4 last feature map -- not CRD's 'MobileNetV2'.
    architecture=_base_.cifar100_archs['mobilenetV2'],
    teacher=_base_.cifar100_archs['vgg13'],
    teacher_ckpt=teacher_ckpt)
