#!/usr/bin/env bash
# Multi-process training through torchrun (mmengine's 'pytorch' launcher).
# Usage: tools/dist_train.sh CONFIG GPUS [train.py args...]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR, MASTER_PORT. PYTHON: see
# tools/_launch.sh.
set -euo pipefail
source "$(dirname "$0")/_launch.sh"
CONFIG=$1
GPUS=$2
shift 2
torchrun_tool train.py "$GPUS" "$CONFIG" "$@"
