#!/usr/bin/env bash
# Times one full training step (forward, cross-entropy, backward, SGD momentum; every layer training; 2 threads)
# in Graft and in PyTorch in the same run — Debian's python3-torch and, when bench/setup_venv.sh has made
# var/bench-venv, PyPI's torch — and prints Graft's time as a fraction of each (target: at most 0.5).
# Networks: ResNet-8 on 28x28x1, batch 128 (default), EfficientNet-Lite0 on 3x224x224, batch 32, or torchvision's
# ResNet-18 at batch 32, 224x224, imported from its ONNX export (Tests/ONNX/make_onnx_models.py; the importer
# folds the batch norms, and PyTorch's side folds them the same way).
#
#   bench/train_step.sh [--steps N] [--model efficientnet-lite0|resnet18]
#
# Environment: GRAFT (default .build/release/graft, built when missing); PYTHON (default /usr/bin/python3) and
# VENV_PYTHON (default var/bench-venv/bin/python) for the two PyTorch builds. Graft's side is
# `graft bench train-step --steps N --threads 2 [--model M --batch 32]`, whose output holds
# "median <ms> ms/step" (or a JSON object with "median_ms").
set -euo pipefail
cd "$(dirname "$0")/.."

steps=30
model=resnet8
while (($#)); do
    case "$1" in
        --steps) steps="$2"; shift 2 ;;
        --model) model="$2"; shift 2 ;;
        *) echo "usage: bench/train_step.sh [--steps N] [--model resnet8|efficientnet-lite0|resnet18]" >&2; exit 2 ;;
    esac
done
graft="${GRAFT:-.build/release/graft}"
if [[ ! -x "$graft" ]]; then
    echo "building graft (release)..." >&2
    swift build -c release --product graft >&2
fi
graft_model=()
if [[ "$model" == resnet18 ]]; then
    [[ -f var/onnx-fixtures/resnet18/model.onnx ]] \
        || /usr/bin/python3 Tests/ONNX/make_onnx_models.py var/onnx-fixtures resnet18 >&2
    "$graft" import onnx var/onnx-fixtures/resnet18/model.onnx --out var/cache/bench-resnet18 --force >/dev/null
    graft_model=(--model var/cache/bench-resnet18 --batch 32)
elif [[ "$model" != resnet8 ]]; then
    [[ -f "Models/$model/weights.safetensors" ]] || {
        echo "bench/train_step.sh: Models/$model has no weights; run scripts/fetch-efficientnet-lite0" >&2; exit 1; }
    graft_model=(--model "$model" --batch 32)
fi
pythons=("${PYTHON:-/usr/bin/python3}")
venv_python="${VENV_PYTHON:-var/bench-venv/bin/python}"
[[ -x "$venv_python" ]] && pythons+=("$venv_python")

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') ($(nproc) cores)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
results=()
for python in "${pythons[@]}"; do
    if ! "$python" -c "import torch" 2>/dev/null; then
        echo "bench/train_step.sh: $python cannot import torch (scripts/setup --bench installs python3-torch;" \
            "bench/setup_venv.sh makes the PyPI venv)" >&2
        continue
    fi
    json=$("$python" bench/train_step.py --model "$model" --steps "$steps" --threads 2 2>/dev/null)
    echo "pytorch ($python): $json"
    results+=("$json")
done
((${#results[@]})) || { echo "bench/train_step.sh: no PyTorch could be timed" >&2; exit 1; }

errors=$(mktemp)
trap 'rm -f "$errors"' EXIT
if ! graft_output=$("$graft" bench train-step --steps "$steps" --threads 2 "${graft_model[@]}" 2>"$errors"); then
    echo "graft: 'graft bench train-step' is not available or failed:" >&2
    sed 's/^/  /' "$errors" >&2
    echo "graft: no figure; only PyTorch was timed" >&2
    exit 2
fi
echo "graft: $graft_output"

/usr/bin/python3 - "$graft_output" "${results[@]}" <<'PY'
import json, re, sys
try:
    graft = json.loads(sys.argv[1])
    graft_ms, graft_best = graft["median_ms"], graft.get("min_ms")
except ValueError:
    match = re.search(r"median ([0-9.]+) ms/step", sys.argv[1])
    if not match:
        sys.exit("bench/train_step.sh: no 'median … ms/step' in graft's output")
    graft_ms = float(match.group(1))
    best = re.search(r"best ([0-9.]+) ms", sys.argv[1])
    graft_best = float(best.group(1)) if best else None
for text in sys.argv[2:]:
    torch = json.loads(text)
    ratio = graft_ms / torch["median_ms"]
    verdict = "meets" if ratio <= 0.5 else "misses"
    print(f"graft {graft_ms:.2f} ms / pytorch {torch['version']} {torch['median_ms']:.2f} ms per step (medians) = "
          f"{ratio:.2f}x ({verdict} the 0.5x target)")
    if graft_best is not None:
        # Best steps are the steadier figure when other work shares the cores.
        print(f"  best steps: graft {graft_best:.2f} ms / pytorch {torch['min_ms']:.2f} ms = "
              f"{graft_best / torch['min_ms']:.2f}x")
PY
