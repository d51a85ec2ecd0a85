#!/usr/bin/env bash
# Multi-process training through torchrun (mmengine's 'pytorch' launcher).
# Usage: tools/dist_train.sh CONFIG GPUS [train.py args...]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR, MASTER_PORT.
set -euo pipefail
# The project's environment unless PYTHON names another interpreter.
venv_python="$(dirname "$0")/../.venv/bin/python"
[[ -x $venv_python ]] || venv_python=python
PYTHON=${PYTHON:-$venv_python}
CONFIG=$1
GPUS=$2
shift 2
exec "$PYTHON" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${MASTER_PORT:-29500}" \
    --nproc_per_node="$GPUS" \
    "$(dirname "$0")/train.py" "$CONFIG" --launcher pytorch "$@"
