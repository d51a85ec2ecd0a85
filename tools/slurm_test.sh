#!/usr/bin/env bash
# Testing as a Slurm job step (mmengine's 'slurm' launcher), one task per GPU.
# Usage: [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS="..."] \
#     tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args...]
# PYTHON: see tools/_launch.sh.
set -euo pipefail
source "$(dirname "$0")/_launch.sh"
PARTITION=$1 JOB_NAME=$2 CONFIG=$3 CHECKPOINT=$4
shift 4
srun_tool test.py "$PARTITION" "$JOB_NAME" "$CONFIG" "$CHECKPOINT" "$@"
