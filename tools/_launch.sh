# Sourced by tools/dist_*.sh and tools/slurm_*.sh: how they start
# tools/train.py and tools/test.py. As OpenMMLab's scripts do, they put the
# repository root first on PYTHONPATH, so that a config's custom_imports can
# name modules of this checkout (mmkd_ccd itself is the installed one).
#
# PYTHON, unless set, is the project's environment (.venv) when it exists,
# else the python on PATH (e.g. your own OpenMMLab environment).
TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
venv_python="$TOOLS/../.venv/bin/python"
[[ -x $venv_python ]] || venv_python=python
PYTHON=${PYTHON:-$venv_python}

# torchrun_tool TOOL GPUS ARGS...: TOOL (train.py or test.py) in GPUS
# processes per node through torchrun, mmengine's 'pytorch' launcher.
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, MASTER_PORT.
torchrun_tool() {
    local tool=$1 gpus=$2
    shift 2
    PYTHONPATH="$TOOLS/..${PYTHONPATH:+:$PYTHONPATH}" \
        exec "$PYTHON" -m torch.distributed.run \
        --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
        --master_addr="${MASTER_ADDR:-127.0.0.1}" \
        --master_port="${MASTER_PORT:-29500}" \
        --nproc_per_node="$gpus" \
        "$TOOLS/$tool" "$@" --launcher pytorch
}

# srun_tool TOOL PARTITION JOB_NAME ARGS...: TOOL as a Slurm job step of
# GPUS tasks (default 8), GPUS_PER_NODE per node (default min(GPUS, 8)),
# CPUS_PER_TASK cores each (default 5), one GPU per task; SRUN_ARGS adds
# srun options. Every task runs TOOL with mmengine's 'slurm' launcher,
# which takes its rank from the SLURM_* variables srun sets.
srun_tool() {
    local tool=$1 partition=$2 job_name=$3
    shift 3
    local gpus=${GPUS:-8}
    local gpus_per_node=${GPUS_PER_NODE:-$((gpus < 8 ? gpus : 8))}
    local srun_args
    read -r -a srun_args <<<"${SRUN_ARGS:-}"
    PYTHONPATH="$TOOLS/..${PYTHONPATH:+:$PYTHONPATH}" exec srun \
        -p "$partition" \
        --job-name="$job_name" \
        --gres=gpu:"$gpus_per_node" \
        --ntasks="$gpus" \
        --ntasks-per-node="$gpus_per_node" \
        --cpus-per-task="${CPUS_PER_TASK:-5}" \
        --kill-on-bad-exit=1 \
        "${srun_args[@]}" \
        "$PYTHON" -u "$TOOLS/$tool" "$@" --launcher slurm
}
