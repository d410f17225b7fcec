#!/usr/bin/env bash
# Creates var/bench-venv with PyPI's CPU build of torch (and numpy, Pillow), the second PyTorch that
# bench/train_step.sh, bench/efficientnet-inference.sh and bench/efficientnet-finetune.sh time beside Debian's
# python3-torch. Idempotent. Override the requirement with TORCH_SPEC (default torch==2.13.0+cpu,
# falling back to plain `torch` when that build is not on the index).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=var/bench-venv
spec="${TORCH_SPEC:-torch==2.13.0+cpu}"
if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c "import torch, numpy, PIL" 2>/dev/null; then
    echo "bench/setup_venv.sh: $venv already has torch $("$venv/bin/python" -c 'import torch; print(torch.__version__)')"
    exit 0
fi
mkdir -p var
/usr/bin/python3 -m venv "$venv"
"$venv/bin/pip" install -q "$spec" numpy pillow || "$venv/bin/pip" install -q torch numpy pillow
echo "bench/setup_venv.sh: installed torch $("$venv/bin/python" -c 'import torch; print(torch.__version__)') in $venv"
