"""One runtime's side of bench/efficientnet-inference.sh: EfficientNet-Lite0 batch-1 latency and batch-32
throughput at a fixed thread count, printed as one JSON line per batch size. Runtimes: `pytorch` (eager,
Debian python3-torch; NCHW and channels_last, the faster reported), `onnxruntime` and `openvino` (PyPI, from the
ONNX file the fixture script exports). Each checks its logits against PyTorch's on one input before timing."""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "Tests", "NeuralNetworkTests", "Fixtures")


def timed(run, seconds, minimum_runs=10):
    for _ in range(3):
        run()
    times, deadline = [], time.perf_counter() + seconds
    while len(times) < minimum_runs or time.perf_counter() < deadline:
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), len(times)


def report(runtime, batch, median_ms, runs, threads, detail=""):
    print(json.dumps({"runtime": runtime, "batch": batch, "median_ms": median_ms, "runs": runs, "threads": threads,
                      "images_per_s": batch / median_ms * 1000, "detail": detail}), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("runtime", choices=["pytorch", "onnxruntime", "openvino", "reference-logits"])
    parser.add_argument("--pth", required=True)
    parser.add_argument("--onnx")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--batches", default="1,32")
    parser.add_argument("--reference", help=".npy of PyTorch's logits for the check input")
    parser.add_argument("--label", default="Debian", help="where this PyTorch comes from, for the table")
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    rng = np.random.default_rng(0)
    check = rng.standard_normal((1, 3, 224, 224), dtype=np.float32)
    inputs = {b: rng.standard_normal((b, 3, 224, 224), dtype=np.float32) for b in batches}

    def verify(logits, name):
        expected = np.load(args.reference)
        difference = float(np.abs(logits - expected).max())
        if difference > 1e-3:
            sys.exit("%s: logits differ from PyTorch's by %g (> 1e-3)" % (name, difference))
        return difference

    if args.runtime in ("pytorch", "reference-logits"):
        import torch
        sys.path.insert(0, FIXTURES)
        import efficientnet_lite0_reference as reference
        torch.set_num_threads(args.threads)
        model = reference.load(args.pth)
        with torch.no_grad():
            if args.runtime == "reference-logits":
                np.save(args.reference, model(torch.from_numpy(check)).numpy())
                return
            for b in batches:
                x = torch.from_numpy(inputs[b])
                plain = timed(lambda: model(x), args.seconds)
                last = model.to(memory_format=torch.channels_last)
                xl = x.contiguous(memory_format=torch.channels_last)
                channels_last = timed(lambda: last(xl), args.seconds)
                model = model.to(memory_format=torch.contiguous_format)
                best, layout = min((plain, "NCHW"), (channels_last, "channels_last"))
                report("PyTorch %s eager (%s)" % (torch.__version__, args.label), b, best[0], best[1], args.threads,
                       "%s (NCHW %.2f ms, channels_last %.2f ms)" % (layout, plain[0], channels_last[0]))
    elif args.runtime == "onnxruntime":
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(args.onnx, options, providers=["CPUExecutionProvider"])
        difference = verify(session.run(None, {"input": check})[0], "onnxruntime")
        for b in batches:
            median, runs = timed(lambda: session.run(None, {"input": inputs[b]}), args.seconds)
            report("ONNX Runtime %s" % ort.__version__, b, median, runs, args.threads,
                   "max |Δlogit| vs PyTorch %.1e" % difference)
    else:
        import openvino as ov
        core = ov.Core()
        for b in batches:
            model = core.read_model(args.onnx)
            model.reshape({"input": [b, 3, 224, 224]})
            # float32 like the others: on CPUs with AVX512_BF16 OpenVINO would otherwise compute in bfloat16
            compiled = core.compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": args.threads,
                                                         "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1,
                                                         "INFERENCE_PRECISION_HINT": "f32"})
            request = compiled.create_infer_request()
            detail = ""
            if b == 1:
                request.infer({"input": check})
                detail = "max |Δlogit| vs PyTorch %.1e" % verify(request.get_output_tensor(0).data.copy(), "openvino")
            median, runs = timed(lambda: request.infer({"input": inputs[b]}), args.seconds)
            report("OpenVINO %s" % ov.__version__.split("-")[0], b, median, runs, args.threads, detail)


if __name__ == "__main__":
    main()
