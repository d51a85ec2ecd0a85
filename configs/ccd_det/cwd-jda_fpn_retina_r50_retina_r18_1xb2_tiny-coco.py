# cwd-jda_fpn_retina_r101_retina_r50_1x_coco.py on CPU: MMRazor's CWD on the
# FPN features with JDA paired views, on the tiny RetinaNet R-50 -> R-18
# pair, data and schedule of ccd_cls-scores_retina_r50_retina_r18_1xb2_tiny-coco.py
# (random initialisation, no download: MMRazor's cfg_path models would
# fetch ImageNet backbones). Run from the folder that holds data/.
_base_ = ['./ccd_cls-scores_retina_r50_retina_r18_1xb2_tiny-coco.py']

num_fpn_levels = 5
model = dict(
    type='FpnTeacherDistill',
    distiller=dict(
        _delete_=True,
        type='PairedDistiller',
        student_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
        teacher_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
        # MMRazor's CWD settings for RetinaNet (tau 1, weight 10 per level)
        distill_losses={
            f'loss_cwd_fpn{level}': dict(
                type='ChannelWiseDivergence', tau=1, loss_weight=10)
            for level in range(num_fpn_levels)
        },
        loss_forward_mappings={
            f'loss_cwd_fpn{level}': dict(
                preds_S=dict(from_student=True, recorder='fpn',
                             data_idx=level),
                preds_T=dict(from_student=False, recorder='fpn',
                             data_idx=level))
            for level in range(num_fpn_levels)
        }))
