#!/usr/bin/env bash
# Multi-process testing through torchrun (mmengine's 'pytorch' launcher).
# Usage: tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args...]
set -euo pipefail
# The project's environment unless PYTHON names another interpreter.
venv_python="$(dirname "$0")/../.venv/bin/python"
[[ -x $venv_python ]] || venv_python=python
PYTHON=${PYTHON:-$venv_python}
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
shift 3
exec "$PYTHON" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${MASTER_PORT:-29500}" \
    --nproc_per_node="$GPUS" \
    "$(dirname "$0")/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "$@"
