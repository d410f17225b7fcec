#!/usr/bin/env bash
# Times one full ResNet-8 training step (forward, cross-entropy, backward, SGD momentum; batch 128 of 28x28x1;
# 2 threads) in PyTorch and in Graft in the same run, and prints both figures and Graft's time as a fraction
# of PyTorch's (target: at most 0.5).
#
#   bench/train_step.sh [--steps N]
#
# Environment: PYTHON (default /usr/bin/python3, Debian's python3-torch; point it at a venv's python to time
# PyPI's torch), GRAFT (default .build/release/graft, built when missing). Graft's side is
# `graft bench train-step --json`, which prints one JSON object with at least "median_ms".
set -euo pipefail
cd "$(dirname "$0")/.."

steps=30
if [[ "${1:-}" == "--steps" ]]; then steps="$2"; fi
python="${PYTHON:-/usr/bin/python3}"
graft="${GRAFT:-.build/release/graft}"

if ! "$python" -c "import torch" 2>/dev/null; then
    echo "bench/train_step.sh: $python cannot import torch; run scripts/setup --bench (Debian python3-torch)" >&2
    exit 1
fi

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') ($(nproc) cores)"
torch_json=$("$python" bench/resnet8_step.py --steps "$steps" --threads 2)
echo "pytorch: $torch_json"

if [[ ! -x "$graft" ]]; then
    echo "building graft (release)..." >&2
    swift build -c release --product graft >&2
fi
if ! graft_json=$("$graft" bench train-step --json --steps "$steps" 2>/tmp/graft-train-step.err); then
    echo "graft: 'graft bench train-step' is not available or failed:" >&2
    sed 's/^/  /' /tmp/graft-train-step.err >&2
    echo "graft: no figure; only PyTorch's time was measured" >&2
    exit 2
fi
echo "graft:   $graft_json"

"$python" - "$torch_json" "$graft_json" <<'PY'
import json, sys
torch_ms = json.loads(sys.argv[1])["median_ms"]
graft_ms = json.loads(sys.argv[2])["median_ms"]
ratio = graft_ms / torch_ms
verdict = "meets" if ratio <= 0.5 else "misses"
print(f"graft {graft_ms:.2f} ms / pytorch {torch_ms:.2f} ms per step = {ratio:.2f}x ({verdict} the 0.5x target)")
PY
