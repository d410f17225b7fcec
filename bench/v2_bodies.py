"""Writes the request bodies bench/v2-load.sh posts: what tritonclient's ordinary infer call sends (its own
request encoder, binary tensor data), for one encoded image (BYTES `image`, top-5 classification output) and for
a preprocessed FP32 batch (`input`, binary `logits` output). Prints each body's Inference-Header-Content-Length."""
import sys

import numpy as np
import tritonclient.http as httpclient

out, image_path, shape = sys.argv[1], sys.argv[2], [int(v) for v in sys.argv[3].split(",")]

image = httpclient.InferInput("image", [1], "BYTES")
image.set_data_from_numpy(np.array([open(image_path, "rb").read()], dtype=np.object_), binary_data=True)
body, size = httpclient.InferenceServerClient.generate_request_body(
    [image], outputs=[httpclient.InferRequestedOutput("probabilities", binary_data=False, class_count=5)])
open(out + "/v2-image.body", "wb").write(body)
print("image", size if size is not None else 0)

batch = httpclient.InferInput("input", shape, "FP32")
batch.set_data_from_numpy(np.random.default_rng(0).standard_normal(shape, dtype=np.float32), binary_data=True)
body, size = httpclient.InferenceServerClient.generate_request_body(
    [batch], outputs=[httpclient.InferRequestedOutput("logits", binary_data=True)])
open(out + "/v2-batch.body", "wb").write(body)
print("batch", size if size is not None else 0)
