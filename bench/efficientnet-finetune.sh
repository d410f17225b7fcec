#!/usr/bin/env bash
# Issue 11's frozen-backbone fine-tune of EfficientNet-Lite0 in Graft and in PyTorch, in one run: Fashion-MNIST,
# 10 classes, the first 100 training images per class, upscaled to 224 and grey replicated to RGB; the backbone
# runs once per image (Graft's feature cache; PyTorch computes the features once too), a new linear head trains
# with Adam 1e-3, batch 50, 30 epochs; evaluated on all 10 000 test images. Prints both accuracies (after the last
# epoch, and Graft's kept best-validation-loss epoch), wall times and the ratio.
# Needs `scripts/setup --bench`; also times PyPI's torch when bench/setup_venv.sh has made var/bench-venv. Usage: bench/efficientnet-finetune.sh [--threads 2]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=2
[[ "${1:-}" == "--threads" ]] && threads="$2"
export OMP_NUM_THREADS="$threads"

source bench/graft-binary.sh
GRAFT="$graft" scripts/fetch-efficientnet-lite0 >/dev/null
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

start=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$work/graft.rss" "$graft" finetune --base efficientnet-lite0 \
    --fashion-mnist 0,1,2,3,4,5,6,7,8,9 --per-class-limit 100 --epochs 30 --batch-size 50 --learning-rate 0.001 \
    --optimizer adam --freeze backbone --seed 0 --output "$work/graft-model" > "$work/graft.txt" 2>/dev/null
graft_seconds=$(echo "$(date +%s.%N) - $start" | bc -l)
read -r graft_last graft_best < <(/usr/bin/python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["history"][-1]["validation_accuracy"], r["validation"]["accuracy"])' "$work/graft-model/evaluation.json")
pth=var/cache/efficientnet-lite0/efficientnet-lite0-57934424.pth
torch_json=$(/usr/bin/python3 bench/efficientnet_finetune.py "$pth" --threads "$threads" 2>/dev/null)
pypi_json=null  # PyPI's current torch too, when bench/setup_venv.sh has made var/bench-venv
if [[ -x var/bench-venv/bin/python ]] && var/bench-venv/bin/python -c "import torch, numpy, PIL" 2>/dev/null; then
    pypi_json=$(var/bench-venv/bin/python bench/efficientnet_finetune.py "$pth" --threads "$threads" 2>/dev/null)
fi

/usr/bin/python3 - "$graft_last" "$graft_best" "$graft_seconds" "$(cat "$work/graft.rss")" "$torch_json" "$threads" \
    "$pypi_json" <<'PY'
import json, sys
last, best, seconds, rss = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
torches = [json.loads(sys.argv[5])] + ([json.loads(sys.argv[7])] if sys.argv[7] != "null" else [])
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown CPU")
print("EfficientNet-Lite0 frozen backbone on Fashion-MNIST (1000 training, 10000 test images at 224), %s threads, %s"
      % (sys.argv[6], cpu))
print("Graft:          last epoch %.2f %%, kept best epoch %.2f %%, %.1f s (peak memory %.0f MB)"
      % (100 * last, 100 * best, seconds, rss / 1024))
for torch in torches:
    print("PyTorch %-12s last epoch %.2f %%, %.1f s; time ratio Graft / PyTorch %.2f"
          % (torch["torch"], 100 * torch["accuracy"], torch["seconds"], seconds / torch["seconds"]))
PY
