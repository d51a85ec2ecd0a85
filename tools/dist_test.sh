#!/usr/bin/env bash
# Multi-process testing through torchrun (mmengine's 'pytorch' launcher).
# Usage: tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args...]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR, MASTER_PORT. PYTHON: see
# tools/_launch.sh.
set -euo pipefail
source "$(dirname "$0")/_launch.sh"
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
shift 3
torchrun_tool test.py "$GPUS" "$CONFIG" "$CHECKPOINT" "$@"
