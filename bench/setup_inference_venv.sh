#!/usr/bin/env bash
# Creates var/inference-venv with PyPI's onnxruntime and openvino (and numpy) for bench/efficientnet-inference.sh.
# Idempotent. Debian's python3-torch (scripts/setup --bench) stays the PyTorch side and exports the ONNX file.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=var/inference-venv
if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c "import onnxruntime, openvino, numpy" 2>/dev/null; then
    echo "bench/setup_inference_venv.sh: $venv is ready"
    exit 0
fi
mkdir -p var
/usr/bin/python3 -m venv "$venv"
"$venv/bin/pip" install -q onnxruntime openvino numpy
echo "bench/setup_inference_venv.sh: installed $("$venv/bin/python" -c 'import onnxruntime as o, openvino as v; print("onnxruntime", o.__version__, "openvino", v.__version__)') in $venv"
