#!/usr/bin/env bash
# Create or update the project-local virtual environment (.venv) with the one
# tested OpenMMLab stack of requirements/constraints.txt.
#
# Idempotent: a stamp holding the hash of this script and the requirement
# files makes a second run return at once. The slow step is building mmcv
# 2.1.0 with its C++ ops from source (PyPI has no wheel for it); pip keeps the
# built wheel in its cache, so only the first install on a machine pays it.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${MMKD_VENV:-$root/.venv}
python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3
stamp=$venv/.mmkd_ccd_stamp
want=$(cat "$root/tools/setup_env.sh" "$root/requirements/"*.txt "$root/setup.py" | sha256sum | cut -d' ' -f1)

if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
    exit 0
fi

t0=$SECONDS
step() { printf '[setup_env %4ds] %s\n' $((SECONDS - t0)) "$*"; }

step "creating virtual environment $venv with $($python --version)"
"$python" -m venv "$venv"
cons=(-c "$root/requirements/constraints.txt")
# This machine's pip config names extra local indexes that lack most
# packages; pip warns for each one, which buries the progress lines.
pip_install() {
    "$venv/bin/python" -m pip --disable-pip-version-check install -q "$@" \
        2> >(grep -v "^WARNING: Location '" >&2)
}

step "build tools: wheel, setuptools<81 (mmcv's setup.py and mmengine's config lookup need pkg_resources)"
pip_install wheel "${cons[@]}" setuptools

step "torch + torchvision (PyPI build pair; first time: ~1-2 min)"
pip_install "${cons[@]}" torch torchvision

step "numpy, opencv-python, mmengine"
pip_install "${cons[@]}" numpy opencv-python mmengine ninja psutil

step "mmcv 2.1.0 with ops (first time on a machine: compiled from source, ~12-17 min on 2 cores; later: pip's wheel cache)"
MAX_JOBS=${MAX_JOBS:-$(nproc)} pip_install --no-build-isolation "${cons[@]}" mmcv

step "mmpretrain, mmdet, mmrazor and the runtime extras"
pip_install "${cons[@]}" mmpretrain mmdet mmrazor -r "$root/requirements/runtime.txt"

step "mmkd_ccd (editable)"
pip_install --no-build-isolation --no-deps -e "$root"

step "checking the stack imports"
"$venv/bin/python" -c "import torch, torchvision, mmcv.ops, mmengine, mmpretrain, mmdet, mmkd_ccd, mmrazor.models; print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'mmcv', mmcv.__version__, 'mmrazor models OK')"

echo "$want" >"$stamp"
size=$(du -sh "$venv" | cut -f1)
step "done: install took $((SECONDS - t0)) s; environment size $size ($venv)"
