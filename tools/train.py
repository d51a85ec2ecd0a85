"""Train a model (distillation or plain) from an mmengine config.

Usage:
    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--auto-scale-lr] [--epochs N] [--few-shot FRACTION] [--seed N]
        [--test] [--cpu-threads N] [--cfg-options KEY=VALUE ...]
        [--no-strict] [--launcher {none,pytorch,slurm,mpi}]

``--resume CKPT`` continues from CKPT; a bare ``--resume`` from the
checkpoint ``WORK_DIR/last_checkpoint`` names, and is an error when there
is none. Either file is trusted for full unpickling, nothing else in the
work dir is. The run refuses to start when a ``--cfg-options`` key changes
nothing, when a distillation teacher would start from random weights
(unless ``allow_random_teacher=True``), or when a checkpoint does not fit
the model (unless ``--no-strict``).

``--epochs N`` changes the schedule's length and everything counted in
epochs with it (lr milestones or cosine period, validation and checkpoint
intervals); ``--few-shot FRACTION`` trains on a class-stratified fraction
of any training set, drawn with the run's seed; ``--seed`` defaults to the
config's ``randomness.seed``, else 0 (logged). ``--test`` evaluates the
final model with the test dataloader. A run without CUDA uses
``--cpu-threads`` torch threads (default: ``$MMKD_CPU_THREADS``, else
``$OMP_NUM_THREADS``, else half the usable cores). The run ends with one
line: the final metrics and the checkpoint.

The arguments, checks and the run itself are :mod:`mmkd_ccd.cli`, shared
with ``tools/study.py``'s in-process runs. ``mmkd_ccd`` is imported before
the config is read, so its compatibility shims (e.g. ``mmcls::`` configs
resolved to mmpretrain) apply to the config and its bases.
"""
from mmkd_ccd.cli import build_train_config as build_config  # noqa: F401
from mmkd_ccd.cli import parse_train_args as parse_args  # noqa: F401
from mmkd_ccd.cli import train_main as main

if __name__ == '__main__':
    main()
