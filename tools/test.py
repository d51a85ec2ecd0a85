"""Evaluate a checkpoint with a config's test dataloader and metrics.

Usage:
    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--amp]
        [--cfg-options KEY=VALUE ...] [--launcher {none,pytorch,slurm,mpi}]
        [--out FILE] [--no-strict] [--cpu-threads N]

CHECKPOINT must fit the config's model key for key: a checkpoint of another
model is an error naming the missing and unexpected keys, not a test of a
randomly initialised model; ``--no-strict`` loads only the keys that fit.
CHECKPOINT is trusted for full unpickling (mmengine checkpoints need it).

For a distillation config the student is evaluated; the teacher is reported
too (``teacher.`` metrics) when the config's ``test_cfg`` is
``dict(type='DistillTestLoop')``. The run ends with one line: the metrics
and the checkpoint. Arguments and checks: :mod:`mmkd_ccd.cli`.
"""
from mmkd_ccd.cli import parse_test_args as parse_args  # noqa: F401
from mmkd_ccd.cli import test_main as main

if __name__ == '__main__':
    main()
