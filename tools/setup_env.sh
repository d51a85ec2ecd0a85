#!/usr/bin/env bash
# Create or update a project-local virtual environment with one tested stack:
#   tools/setup_env.sh                 -> .venv,          requirements/constraints.txt
#   STACK=torch21 tools/setup_env.sh   -> .venv-torch21,  requirements/constraints-torch21.txt
# (MMKD_VENV overrides the folder.)
#
# Idempotent: a stamp holding the hash of this script, setup.py, the stack's
# constraints and the other requirement files makes a second run return at once. The slow step is
# building mmcv with its C++ ops from source (PyPI has only its sdist). The
# built wheel is kept per Python and torch version in
# ~/.cache/mmkd_ccd/wheels (MMKD_WHEEL_CACHE), so only the first install on a
# machine pays it. Not pip's own wheel cache: that one is keyed by the sdist
# and the Python version only, so it would hand mmcv compiled against one
# torch to an environment with another (undefined symbols in mmcv._ext).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
stack=${STACK:-}
constraints=$root/requirements/constraints${stack:+-$stack}.txt
if [[ ! -f $constraints ]]; then
    echo "setup_env: unknown STACK=$stack (no $constraints)" >&2
    exit 2
fi
venv=${MMKD_VENV:-$root/.venv${stack:+-$stack}}
python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3
stamp=$venv/.mmkd_ccd_stamp
inputs=("$root/tools/setup_env.sh" "$root/setup.py" "$constraints")
for file in "$root"/requirements/*.txt; do
    [[ $file == */constraints* ]] || inputs+=("$file")
done
want=$(cat "${inputs[@]}" | sha256sum | cut -d' ' -f1)

if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
    exit 0
fi

t0=$SECONDS
step() { printf '[setup_env %4ds] %s\n' $((SECONDS - t0)) "$*"; }

step "creating virtual environment $venv with $($python --version) for ${constraints#$root/}"
"$python" -m venv "$venv"
cons=(-c "$constraints")
# This machine's pip config names extra local indexes that lack most
# packages; pip warns for each one, which buries the progress lines.
venv_pip() {
    "$venv/bin/python" -m pip --disable-pip-version-check "$@" \
        2> >(grep -v "^WARNING: Location '" >&2)
}
pip_install() { venv_pip install -q "$@"; }

step "build tools: wheel, setuptools (mmcv's setup.py and mmengine's config lookup need pkg_resources)"
pip_install wheel "${cons[@]}" setuptools

step "torch + torchvision (PyPI build pair; first time: ~1-3 min)"
pip_install "${cons[@]}" torch torchvision

step "numpy, opencv-python, mmengine"
pip_install "${cons[@]}" numpy opencv-python mmengine ninja psutil

mmcv_version=$(sed -n 's/^mmcv==\([^ ]*\).*/\1/p' "$constraints")
build_key=$("$venv/bin/python" -c 'import sys, torch; print(f"cp{sys.version_info[0]}{sys.version_info[1]}-torch{torch.__version__}")')
wheels=${MMKD_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmkd_ccd/wheels}/$build_key
if ! compgen -G "$wheels/mmcv-$mmcv_version-*.whl" >/dev/null; then
    step "mmcv $mmcv_version: compiling its ops against $build_key (once per torch version on a machine; ~12-17 min on 2 cores)"
    rm -rf "$wheels.partial"
    MAX_JOBS=${MAX_JOBS:-$(nproc)} venv_pip wheel -q --no-build-isolation --no-deps \
        --no-cache-dir "${cons[@]}" "mmcv==$mmcv_version" -w "$wheels.partial"
    mkdir -p "$(dirname "$wheels")"
    rm -rf "$wheels"
    mv "$wheels.partial" "$wheels"
fi
step "mmcv $mmcv_version from $wheels"
pip_install "${cons[@]}" "$wheels"/mmcv-"$mmcv_version"-*.whl

step "mmkd_ccd (editable) with its extras: mmpretrain, mmrazor, mmdet, the demo's and the tests' needs"
pip_install "${cons[@]}" --no-build-isolation -e "$root[tests]"

step "checking the stack imports (mmkd_ccd checks the versions)"
"$venv/bin/python" -c "import torch, torchvision, mmcv.ops, mmengine, mmpretrain, mmdet, mmkd_ccd, mmrazor.models; print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'mmcv', mmcv.__version__, 'mmrazor models OK')"

echo "$want" >"$stamp"
size=$(du -sh "$venv" | cut -f1)
step "done: install took $((SECONDS - t0)) s; environment size $size ($venv)"
