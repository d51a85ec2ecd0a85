#!/usr/bin/env bash
# One prepared GPU check, about 4 minutes on one CUDA GPU (8 at most):
#   1. JDA on the model's device: benchmarks/jda_throughput.py (the CPU
#      rows, and the device side on CUDA for batches of 256 and of 96
#      images, the paper recipe's per-GPU batch);
#   2. benchmarks/distill_step.py --device cuda --amp (KD vs CCD+JDA step,
#      batch 96 at 224 px), so that the device side can be read as a
#      fraction of a training step;
#   3. a few AMP training iterations of the tiny CCD + device-JDA config
#      through tools/train.py on a generated dataset.
# Without CUDA it still runs: the CPU-side rows of 1, and a message for
# every CUDA part it skips.
#
# Usage, from the repository root (with .venv, or PYTHON=/path/to/python):
#   bash benchmarks/gpu_check.sh [OUT_DIR]
# Figures go to OUT_DIR/gpu_check.txt (OUT_DIR: the argument, else $OUT,
# else work_dirs/gpu_check) and to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-.venv/bin/python}
case $PY in */*) PY=$(cd "$(dirname "$PY")" && pwd)/$(basename "$PY") ;; esac
if ! command -v "$PY" > /dev/null; then
    echo "gpu_check.sh: no Python at $PY; build .venv (tools/setup_env.sh)" \
        "or set PYTHON" >&2
    exit 1
fi
OUT_DIR=${1:-${OUT:-work_dirs/gpu_check}}
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
REPORT=$OUT_DIR/gpu_check.txt
: > "$REPORT"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} OMP_NUM_THREADS=1
export PYTHONWARNINGS=ignore
REPO=$PWD
START=$SECONDS
BUDGET=470  # seconds for the whole check, below the 8 minutes it promises

log() { echo "$*" | tee -a "$REPORT"; }
section() { log ""; log "## $* (t=$((SECONDS - START)) s)"; }
# capped SECONDS: SECONDS, or less where the budget has less left.
capped() {
    local left=$((BUDGET - (SECONDS - START)))
    echo $(($1 < left ? $1 : left))
}
# run LIMIT CMD...: the command's output to stdout and the report; a
# timeout or an error is logged and the check goes on.
run() {
    local limit rc=0 output
    limit=$(capped "$1")
    shift
    if [ "$limit" -le 5 ]; then
        log "SKIPPED (8-minute budget spent): $*"
        return 0
    fi
    output=$(mktemp)
    timeout "$limit" "$@" > "$output" 2>&1 || rc=$?
    grep -v 'pkg_resources\|_bootstrap\|^  import' "$output" \
        | tee -a "$REPORT" || true
    rm -f "$output"
    if [ "$rc" -ne 0 ]; then
        log "FAILED (exit $rc, limit ${limit} s): $*"
    fi
}

HAS_CUDA=$("$PY" -c 'import torch; print(int(torch.cuda.is_available()))' \
    2>/dev/null)
log "# gpu_check $(date -u +%Y-%m-%dT%H:%M:%SZ), commit" \
    "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
log "$("$PY" -c 'import torch; print("torch", torch.__version__, "cuda",
torch.version.cuda, "device",
torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none")')"

section "1. JDA on the model's device"
if [ "$HAS_CUDA" = 1 ]; then
    run 150 "$PY" benchmarks/jda_throughput.py --images 300 --batch 256 \
        --devices cuda
    run 90 "$PY" benchmarks/jda_throughput.py --images 50 --batch 96 \
        --devices cuda
    # Chunks of same-size images only, and fewer, more padded chunks: more
    # or fewer kernel launches against fewer or more pixels.
    for padding in 0 0.6; do
        run 90 "$PY" benchmarks/jda_throughput.py --images 50 --batch 96 \
            --devices cuda --max-padding "$padding"
    done
else
    log "no CUDA device: CPU rows only, device side skipped"
    run 200 "$PY" benchmarks/jda_throughput.py --images 300 --devices cuda
fi

section "2. training step, KD vs CCD+JDA, AMP"
if [ "$HAS_CUDA" = 1 ]; then
    run 120 "$PY" benchmarks/distill_step.py --device cuda --amp --batch 96 \
        --steps 10
else
    log "no CUDA device: skipped benchmarks/distill_step.py --device cuda --amp"
fi

section "3. tiny CCD + device-JDA config, AMP training iterations"
if [ "$HAS_CUDA" = 1 ]; then
    WORKSPACE=$OUT_DIR/tiny_workspace
    rm -rf "$WORKSPACE"
    run 60 "$PY" -c "
from mmkd_ccd.datasets import toy_data
splits = toy_data.split_stratified(
    toy_data.make_shapes(num_classes=4, num_per_class=12), 1 / 3)
toy_data.write_custom_dataset('$WORKSPACE/data/tiny', splits)"
    rc=0
    limit=$(capped 120)
    [ "$limit" -gt 5 ] || limit=1
    (cd "$WORKSPACE" && timeout "$limit" "$PY" "$REPO/tools/train.py" \
        "$REPO/configs/ccd/ccd_logits_resnet34_resnet18_1xb8-devicejda_tiny.py" \
        --amp --work-dir "$WORKSPACE/work" --cfg-options \
        train_cfg.max_epochs=5 randomness.seed=0 \
        optim_wrapper.optimizer.lr=0.01) > "$OUT_DIR/tiny_train.log" 2>&1 \
        || rc=$?
    if [ "$rc" -ne 0 ]; then
        log "FAILED (exit $rc): tools/train.py, see $OUT_DIR/tiny_train.log"
        tail -20 "$OUT_DIR/tiny_train.log" | tee -a "$REPORT"
    fi
    run 30 "$PY" -c "
import glob, json
rows = [json.loads(l) for f in sorted(glob.glob(
    '$WORKSPACE/work/*/vis_data/scalars.json')) for l in open(f)]
rows = [r for r in rows if 'loss' in r]
print(f'{len(rows)} AMP iterations; loss first {rows[0][\"loss\"]:.3f}, '
      f'last {rows[-1][\"loss\"]:.3f}; time/iter (after the first) '
      f'{sum(r[\"time\"] for r in rows[1:]) / max(1, len(rows) - 1):.3f} s')"
else
    log "no CUDA device: skipped the AMP training iterations"
fi

section "done"
log "total $((SECONDS - START)) s; figures in $REPORT"
