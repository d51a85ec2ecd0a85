#!/usr/bin/env bash
# Training as a Slurm job step (mmengine's 'slurm' launcher), one task per
# GPU.
# Usage: [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS="..."] \
#     tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args...]
# PYTHON: see tools/_launch.sh.
set -euo pipefail
source "$(dirname "$0")/_launch.sh"
PARTITION=$1 JOB_NAME=$2 CONFIG=$3 WORK_DIR=$4
shift 4
srun_tool train.py "$PARTITION" "$JOB_NAME" "$CONFIG" --work-dir="$WORK_DIR" "$@"
