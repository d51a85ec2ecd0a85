# KD+JDA vs CCD+JDA, ResNet-34 -> ResNet-18 on ImageNet under MMRazor's
# standard protocol (100 epochs, 8 GPUs x 32 images). The two runs differ
# only in CCD's confidence weighting.
#
# Needs ImageNet in mmpretrain's layout under data/imagenet, the converted
# teacher checkpoints/resnet34_torchvision_in1k_mmpretrain.pth (see
# tools/convert/torchvision_resnet_to_mmpretrain.py) and 8 GPUs; days of
# GPU time. From the repository root:
#   python tools/sweep.py configs/ccd/sweeps/kd_vs_ccd_in1k.py --gpus 8
# A preempted sweep continues with --skip-existing (finished runs are kept,
# the interrupted one trains again from scratch).
title = 'ResNet-34 -> ResNet-18, ImageNet: KD+JDA vs CCD+JDA'
# The teacher's column checks that its checkpoint loaded (73.31 expected).
metrics = ['accuracy/top1', 'accuracy/top5', 'teacher.accuracy/top1']
runs = [
    dict(
        name='KD+JDA',
        config='configs/ccd/kd-jda_logits_resnet34_resnet18_8xb32_in1k.py'),
    dict(
        name='CCD+JDA',
        config='configs/ccd/ccd_logits_resnet34_resnet18_8xb32_in1k.py'),
]
