# CPU schedule for the digits configs: 30 epochs of the whole training split
# train the teacher to ~97-98% test top-1. Change the length with
# tools/train.py --epochs N (the cosine period, validation and checkpoint
# intervals follow).
max_epochs = 30
optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4, nesterov=True))
param_scheduler = dict(
    type='CosineAnnealingLR', by_epoch=True, T_max=max_epochs)
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()
