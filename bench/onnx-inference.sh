#!/usr/bin/env bash
# Imported ONNX models side by side in one run: Graft (the shipped binary, `graft import onnx` then
# `graft bench inference`), ONNX Runtime and OpenVINO (PyPI, var/onnx-venv) on the same .onnx file — ResNet-50 and
# MobileNetV2 from torchvision with random weights (Tests/ONNX/make_onnx_models.py; random weights time the same).
# Batch-1 latency and batch-32 throughput at the same thread count; each peer checks its logits against PyTorch's
# first. Usage: bench/onnx-inference.sh [--threads 2] [--seconds 5] [MODEL ...]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=2 seconds=5 models=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --threads) threads="$2"; shift 2 ;;
        --seconds) seconds="$2"; shift 2 ;;
        *) models+=("$1"); shift ;;
    esac
done
((${#models[@]})) || models=(resnet50 mobilenet_v2)
export OMP_NUM_THREADS="$threads"

source bench/graft-binary.sh
scripts/setup --onnx
scripts/setup-onnx-venv
/usr/bin/python3 Tests/ONNX/make_onnx_models.py var/onnx-fixtures "${models[@]}" >/dev/null
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for m in "${models[@]}"; do
    onnx=var/onnx-fixtures/$m/model.onnx
    "$graft" import onnx "$onnx" --out "$work/$m" >/dev/null
    "$graft" bench inference "$work/$m" --batch 1 32 --threads "$threads" --seconds "$seconds" --json \
        | M="$m" /usr/bin/python3 -c 'import json, os, sys
for line in sys.stdin:
    r = json.loads(line)
    print(json.dumps({"model": os.environ["M"], "runtime": "Graft", "batch": r["batch"], "median_ms": r["median_ms"],
                      "images_per_s": r["images_per_s"], "detail": "%d reorder(s) per forward" % r["reorders_per_forward"]}))'
    for peer in onnxruntime openvino; do
        var/onnx-venv/bin/python bench/onnx_inference.py "$peer" --onnx "$onnx" --model "$m" \
            --reference var/onnx-fixtures/$m/reference.safetensors --threads "$threads" --seconds "$seconds"
    done
done > "$work/results.jsonl"

/usr/bin/python3 - "$work/results.jsonl" "$threads" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown CPU")
flags = open("/proc/cpuinfo").read()
isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE"
print("Imported ONNX models, %s threads, CPU: %s (%s), load average %s" % (
    sys.argv[2], cpu, isa, " ".join(open("/proc/loadavg").read().split()[:3])))
print("%-14s %-22s %11s %9s %15s %9s  %s" % ("model", "runtime", "batch-1 ms", "÷ Graft", "batch-32 img/s", "Graft ÷", "notes"))
for model in dict.fromkeys(r["model"] for r in rows):
    mine = [r for r in rows if r["model"] == model]
    graft = {r["batch"]: r for r in mine if r["runtime"] == "Graft"}
    for name in dict.fromkeys(r["runtime"] for r in mine):
        one = next(r for r in mine if r["runtime"] == name and r["batch"] == 1)
        many = next(r for r in mine if r["runtime"] == name and r["batch"] == 32)
        print("%-14s %-22s %11.2f %8.2fx %15.1f %8.2fx  %s" % (
            model, name, one["median_ms"], one["median_ms"] / graft[1]["median_ms"], many["images_per_s"],
            graft[32]["images_per_s"] / many["images_per_s"], one["detail"]))
print("(÷ Graft > 1: that runtime is slower at batch 1; Graft ÷ > 1: Graft has the higher throughput at batch 32)")
PY
