#!/usr/bin/env bash
# The demo transfer task of issue 4 in Graft and in PyTorch, in one run: Fashion-MNIST classes 5-9, the first
# 100 training images per class, backbone of Models/fmnist-resnet8 frozen, Adam 1e-2, batch 50, 30 epochs,
# evaluated on all 5 000 test images of classes 5-9. Prints both accuracies and the wall-time ratio, then the
# same network trained from scratch on those 500 images (PyTorch) for the README comparison.
# Needs `scripts/setup --bench` (Debian python3-torch). Usage: bench/transfer-demo.sh [--threads 2]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=2
[[ "${1:-}" == "--threads" ]] && threads="$2"
export OMP_NUM_THREADS="$threads"

source bench/graft-binary.sh
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Graft: the frozen prefix runs once per image (feature cache), 30 epochs train the head on cached features.
start=$(date +%s.%N)
"$graft" finetune --base Models/fmnist-resnet8 --fashion-mnist 5,6,7,8,9 --per-class-limit 100 \
    --epochs 30 --batch-size 50 --learning-rate 0.01 --optimizer adam --freeze backbone --seed 0 \
    --output "$work/graft-model" > "$work/graft.txt" 2>/dev/null
graft_seconds=$(echo "$(date +%s.%N) - $start" | bc -l)
# Test accuracy of the kept epoch (lowest loss on the validation split, 20 % of the training images: since issue
# 19 `--fashion-mnist` no longer validates on the test images), and the validation accuracy for reference.
read -r graft_last graft_best < <(/usr/bin/python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["test"]["accuracy"], r["validation"]["accuracy"])' "$work/graft-model/evaluation.json")

# PyTorch: the standard recipe, frozen forward recomputed every step.
start=$(date +%s.%N)
torch_json=$(/usr/bin/python3 bench/transfer_demo.py --threads "$threads")
torch_seconds=$(echo "$(date +%s.%N) - $start" | bc -l)
torch_accuracy=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["accuracy"])' "$torch_json")

scratch_json=$(/usr/bin/python3 bench/transfer_demo.py --threads "$threads" --scratch)
scratch_accuracy=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["accuracy"])' "$scratch_json")

cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
printf 'CPU: %s, %s threads\n' "$cpu" "$threads"
printf 'Graft   frozen backbone: test accuracy %.4f (validation split: %.4f), wall %.2f s\n' \
    "$graft_last" "$graft_best" "$graft_seconds"
printf 'PyTorch frozen backbone: accuracy %.4f, wall %.2f s\n' "$torch_accuracy" "$torch_seconds"
printf 'Accuracy difference (Graft - PyTorch): %+.2f points; wall-time ratio Graft/PyTorch: %.3f\n' \
    "$(echo "($graft_last - $torch_accuracy) * 100" | bc -l)" "$(echo "$graft_seconds / $torch_seconds" | bc -l)"
printf 'PyTorch from scratch (same network, 500 images, every layer trainable): accuracy %.4f\n' "$scratch_accuracy"
