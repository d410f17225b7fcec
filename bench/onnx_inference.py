"""The peers' side of bench/onnx-inference.sh: ONNX Runtime and OpenVINO (PyPI, var/onnx-venv) on the very .onnx
file Graft imported, batch-1 latency and batch-32 throughput at a fixed thread count, one JSON line per batch.
Each first checks its logits against the PyTorch reference the fixture script saved (reference.safetensors)."""
import argparse
import json
import struct

import numpy as np

from efficientnet_inference import timed  # the same timing loop as the EfficientNet bench


def read_safetensors(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    return {k: np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]], dtype=np.float32).reshape(v["shape"])
            for k, v in header.items() if k != "__metadata__"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("runtime", choices=["onnxruntime", "openvino"])
    parser.add_argument("--onnx", required=True)
    parser.add_argument("--reference", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    ref = read_safetensors(args.reference)
    check, expected = ref["input"][:1].copy(), ref["logits"][:1]
    rng = np.random.default_rng(0)
    inputs = {b: rng.standard_normal((b, 3, 224, 224), dtype=np.float32) for b in (1, 32)}

    def report(name, batch, median, runs, difference):
        print(json.dumps({"model": args.model, "runtime": name, "batch": batch, "median_ms": median, "runs": runs,
                          "images_per_s": batch / median * 1000,
                          "detail": "max |Δlogit| vs PyTorch %.1e" % difference}), flush=True)

    if args.runtime == "onnxruntime":
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(args.onnx, options, providers=["CPUExecutionProvider"])
        difference = float(np.abs(session.run(None, {"input": check})[0] - expected).max())
        for b in (1, 32):
            median, runs = timed(lambda: session.run(None, {"input": inputs[b]}), args.seconds)
            report("ONNX Runtime %s" % ort.__version__, b, median, runs, difference)
    else:
        import openvino as ov
        core = ov.Core()
        for b in (1, 32):
            model = core.read_model(args.onnx)
            model.reshape({"input": [b, 3, 224, 224]})
            # f32 like the others: with AVX512_BF16 or AMX OpenVINO would otherwise compute in bfloat16
            compiled = core.compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": args.threads,
                                                         "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1,
                                                         "INFERENCE_PRECISION_HINT": "f32"})
            request = compiled.create_infer_request()
            difference = 0.0
            if b == 1:
                request.infer({"input": check})
                difference = float(np.abs(request.get_output_tensor(0).data - expected).max())
            median, runs = timed(lambda: request.infer({"input": inputs[b]}), args.seconds)
            report("OpenVINO %s" % ov.__version__.split("-")[0], b, median, runs, difference)


if __name__ == "__main__":
    main()
