# One checkpoint file per teacher, for every config that distils from it, so
# that two configs compared with each other (KD vs CCD, a loss with and
# without JDA) cannot load different teachers. Keys: {arch}_{dataset}.
#
# resnet34_in1k: torchvision's ResNet-34 (73.31% top-1) converted with
#   tools/convert/torchvision_resnet_to_mmpretrain.py --verify-depth 34.
# *_cifar100: the CRD / HSAKD / CCD model zoo's teachers converted with
#   tools/convert/cifar_teacher_to_mmpretrain.py --arch <arch>.
# retinanet-r50_coco, retinanet-r101_coco: mmdet's RetinaNet R-50 FPN 1x
#   (36.5 box AP) and R-101 FPN 2x (38.9) COCO checkpoints, downloaded into
#   checkpoints/ beforehand.
teacher_checkpoints = {
    'resnet34_in1k': 'checkpoints/resnet34_torchvision_in1k_mmpretrain.pth',
    'retinanet-r50_coco':
    'checkpoints/retinanet_r50_fpn_1x_coco_20200130-c2398f9e.pth',
    'retinanet-r101_coco':
    'checkpoints/retinanet_r101_fpn_2x_coco_20200131-5560aee8.pth',
    **{
        f'{arch}_cifar100': f'checkpoints/cifar100/{arch}_mmpretrain.pth'
        for arch in ('wrn-40-2', 'resnet56', 'resnet110', 'resnet32x4',
                     'vgg13')
    },
    # The paper's analysis (b): WRN-40-2 trained with JDA views by
    # configs/ccd/wrn-40-2_1xb128-jda_cifar100.py (its default work dir).
    'wrn-40-2-jda_cifar100': 'work_dirs/wrn-40-2_1xb128-jda_cifar100/'
    'epoch_240.pth',
}
