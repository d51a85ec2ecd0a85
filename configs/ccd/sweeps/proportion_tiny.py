# The share of each batch that gets an augmented view
# (model.data_preprocessor.augmented_fraction), on the tiny CPU dataset:
# 1 epoch per run, seconds each. A smoke test of tools/sweep.py, not a
# result; tests/tools/test_sweep.py runs it. Run from a folder holding
# data/tiny (see configs/_base_/datasets/tiny_custom.py):
#   python tools/sweep.py configs/ccd/sweeps/proportion_tiny.py
title = 'CCD+JDA, augmented fraction (tiny dataset, 1 epoch)'
metrics = ['accuracy/top1', 'teacher.accuracy/top1']
runs = [
    dict(
        name=f'augmented_fraction={fraction}',
        config='configs/ccd/ccd_logits_resnet34_resnet18_1xb8_tiny.py',
        cfg_options={
            'model.data_preprocessor.augmented_fraction': fraction,
            'train_cfg.max_epochs': 1,
            'randomness.seed': 0,
        }) for fraction in (0.5, 1.0)
]
