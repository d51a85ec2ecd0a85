# CCD+JDA, ResNet-34 -> ResNet-18 on ImageNet: the model shared by
# configs/ccd/*resnet34_resnet18*.py. Leaf configs also set
# `train_dataloader = dict(dataset=dict(pipeline=_base_.jda_train_pipeline))`.
_base_ = ['../jda_imagenet.py']
custom_imports = dict(imports=['mmkd_ccd'], allow_failed_imports=False)

model = dict(
    _scope_='mmrazor',
    type='SingleTeacherDistill',
    data_preprocessor=_base_.jda_data_preprocessor,
    architecture=dict(
        cfg_path='mmpretrain::resnet/resnet18_8xb32_in1k.py', pretrained=False),
    teacher=dict(
        cfg_path='mmpretrain::resnet/resnet34_8xb32_in1k.py', pretrained=False),
    # torchvision's ResNet-34 (73.31% top-1) converted to mmpretrain format
    # with tools/convert/torchvision_resnet_to_mmpretrain.py
    teacher_ckpt=_base_.jda_teacher_ckpt,
    distiller=dict(
        type='PairedDistiller',
        student_recorders=dict(fc=dict(type='ModuleOutputs', source='head.fc')),
        teacher_recorders=dict(fc=dict(type='ModuleOutputs', source='head.fc')),
        distill_losses=dict(
            # confidence='none' turns CCD+JDA into the KD+JDA baseline.
            loss_ccd=dict(
                type='CCDLoss', tau=4.0, loss_weight=1.0,
                confidence='cosine')),
        loss_forward_mappings=dict(
            loss_ccd=dict(
                preds_S=dict(from_student=True, recorder='fc'),
                preds_T=dict(from_student=False, recorder='fc')))))

find_unused_parameters = True
# Leaf configs set, as schedule bases define the keys too:
# val_cfg = dict(type='mmrazor.SingleTeacherDistillValLoop')
# test_cfg = dict(type='DistillTestLoop', evaluate_teacher=True)
