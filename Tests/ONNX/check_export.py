#!/usr/bin/env python3
"""Independent check of an ONNX file exported by Graft (`graft export onnx`).

Usage: check_export.py MODEL.onnx IO.safetensors

IO.safetensors holds two float32 tensors that Graft wrote: `input` (N×C×H×W, normalised) and `logits` (N×classes,
what Graft's own forward pass computed for it). The script

1. runs `onnx.checker.check_model(full_check=True)` (strict shape inference included) and checks opset 13, IR 8,
   the dynamic batch on `input` and `logits`, and Graft's metadata (graft.input, graft.labels, graft.head);
2. runs the file in ONNX Runtime and in OpenVINO (CPU, f32 inference precision) on the whole batch and on the
   first sample alone (the batch is dynamic), and compares with Graft's logits: max |difference| within 1e-4 of
   the logits' range (max − min).

Run it with the venv scripts/setup-onnx-venv creates (var/onnx-venv/bin/python). Exits 1 on any failure.
"""
import json
import struct
import sys

import numpy as np
import onnx
import onnxruntime
import openvino

TOLERANCE = 1e-4


def read_safetensors(path):
    """The float32 tensors of a safetensors file: an 8-byte little-endian header length, a JSON header, the data."""
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    base = 8 + length
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] != "F32":
            raise SystemExit(f"{path}: tensor {name} is {entry['dtype']}, expected F32")
        start, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(data[base + start:base + end], dtype="<f4").reshape(entry["shape"])
    return tensors


def dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    model_path, io_path = sys.argv[1:]
    failures = []

    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    opsets = {o.domain: o.version for o in model.opset_import}
    if opsets != {"": 13} or model.ir_version != 8 or model.producer_name != "graft":
        failures.append(f"opsets {opsets}, IR {model.ir_version}, producer '{model.producer_name}'")
    inputs, outputs = model.graph.input, model.graph.output
    if [i.name for i in inputs] != ["input"] or [o.name for o in outputs] != ["logits"]:
        failures.append(f"inputs {[i.name for i in inputs]}, outputs {[o.name for o in outputs]}")
    if dims(inputs[0])[0] != "batch" or dims(outputs[0])[0] != "batch":
        failures.append(f"no dynamic batch: input {dims(inputs[0])}, output {dims(outputs[0])}")
    metadata = {p.key: p.value for p in model.metadata_props}
    spec = json.loads(metadata.get("graft.input", "{}"))
    labels = json.loads(metadata.get("graft.labels", "null"))
    if dims(inputs[0])[1:] != [spec.get("channels"), spec.get("height"), spec.get("width")]:
        failures.append(f"graft.input {spec} does not describe the input {dims(inputs[0])}")
    if not isinstance(labels, list) or (labels and len(labels) != dims(outputs[0])[1]):
        failures.append(f"graft.labels has {len(labels or [])} names for {dims(outputs[0])[1]} logits")
    if not metadata.get("graft.head"):
        failures.append("graft.head is missing")
    print(f"checker: ok (full check), {len(model.graph.node)} nodes, {len(model.graph.initializer)} initializers, "
          f"input {dims(inputs[0])}, output {dims(outputs[0])}")

    io = read_safetensors(io_path)
    x, expected = io["input"], io["logits"]
    scale = float(expected.max() - expected.min()) or 1.0

    session = onnxruntime.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    core = openvino.Core()
    compiled = core.compile_model(model_path, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    runtimes = {
        f"onnxruntime {onnxruntime.__version__}": lambda batch: session.run(["logits"], {"input": batch})[0],
        f"openvino {openvino.__version__.split('-')[0]}": lambda batch: compiled({"input": batch})[compiled.output(0)],
    }
    for name, run in runtimes.items():
        for label, batch, reference in [(f"batch {len(x)}", x, expected), ("batch 1", x[:1], expected[:1])]:
            got = np.asarray(run(np.ascontiguousarray(batch)))
            if got.shape != reference.shape:
                failures.append(f"{name} {label}: shape {got.shape}, Graft's {reference.shape}")
                continue
            difference = float(np.abs(got - reference).max())
            relative = difference / scale
            verdict = "ok" if relative <= TOLERANCE else "FAIL"
            print(f"{name} {label}: max |Δ| {difference:.3g} = {relative:.3g} of the logit range {scale:.3g} "
                  f"({verdict}, tolerance {TOLERANCE:g}); top-1 agrees on "
                  f"{int((got.argmax(1) == reference.argmax(1)).sum())}/{len(reference)}")
            if relative > TOLERANCE:
                failures.append(f"{name} {label}: {relative:.3g} of the logit range")

    if failures:
        print("FAILED: " + "; ".join(failures))
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
