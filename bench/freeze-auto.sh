#!/usr/bin/env bash
# `"freeze": "auto"` against every fixed policy (frozen backbone, each stage boundary, everything) on the README's
# demo task: fmnist-resnet8 → Fashion-MNIST classes 5–9, the first 100 training images a class (20 % of them held
# out for validation), tested on all 5 000 test images of those classes, which no choice sees. Mean of 3 seeds.
# Then the same for fmnist-resnet8 → scikit-learn digits (needs Debian python3-sklearn). The issue's EfficientNet-Lite0
# tasks are not here yet (not run in the session that wrote this).
# Usage: bench/freeze-auto.sh [--threads 2] [--seeds 3]   (GRAFT=path/to/graft to skip the build)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=2 seeds=3
while [[ $# -gt 0 ]]; do
    case "$1" in
        --threads) threads="$2"; shift 2 ;;
        --seeds) seeds="$2"; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
export OMP_NUM_THREADS="$threads"
if [[ -n "${GRAFT:-}" ]]; then graft="$GRAFT"; else source bench/graft-binary.sh; fi

cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
printf 'CPU: %s, %s threads; graft %s\n\n' "$cpu" "$threads" "$graft"
echo "Task 1: fmnist-resnet8 → Fashion-MNIST 5–9, 100 a class (Adam 1e-2, batch 50, 30 epochs)"
/usr/bin/python3 bench/freeze_auto.py --graft "$graft" --seeds "$seeds" --show-table -- \
    --base Models/fmnist-resnet8 --fashion-mnist 5,6,7,8,9 --per-class-limit 100

# Task 2: the same base on scikit-learn's digits (Debian's python3-sklearn), 8×8 upscaled to 28×28, the first 50
# images a class to train on (Graft validates on 20 % of them), the other 1 297 to test on.
digits="$(mktemp -d)"
trap 'rm -rf "$digits"' EXIT
/usr/bin/python3 bench/make_digits.py "$digits" --per-class 50 --size 28
echo
echo "Task 2: fmnist-resnet8 → scikit-learn digits at 28×28, 50 a class (Adam 1e-2, batch 50, 30 epochs)"
/usr/bin/python3 bench/freeze_auto.py --graft "$graft" --seeds "$seeds" -- \
    --base Models/fmnist-resnet8 --data "$digits/train" --test "$digits/test"
