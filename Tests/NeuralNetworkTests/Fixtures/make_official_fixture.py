#!/usr/bin/python3
"""Writes official_safetensors.safetensors with the reference `safetensors` package (Hugging Face), so that
Graft's reader is checked against the format's own writer, and checks that the package reads a file written by
Graft's writer when one is given. Not run in CI. Needs torch and `pip install safetensors`, for example:

    /usr/bin/python3 -m venv --system-site-packages /tmp/st && /tmp/st/bin/pip install safetensors
    /tmp/st/bin/python Tests/NeuralNetworkTests/Fixtures/make_official_fixture.py [graft-written.safetensors]
"""
import os
import sys

import safetensors
import torch
from safetensors.torch import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))

if len(sys.argv) > 1:
    tensors = load_file(sys.argv[1])
    for name, tensor in sorted(tensors.items()):
        print(name, tensor.dtype, list(tensor.shape), tensor.flatten()[:4].tolist())
    sys.exit(0)

tensors = {
    "conv.weight": torch.arange(24, dtype=torch.float32).reshape(2, 3, 2, 2) / 8 - 1,
    "half": torch.tensor([1.0, -2.5, 65504.0, 2.0 ** -24], dtype=torch.float16),
    "brain": torch.tensor([[1.0, -0.5], [3.0, 256.0]], dtype=torch.bfloat16),
    "double": torch.tensor([0.1, -1e-3], dtype=torch.float64),
    "bn.num_batches_tracked": torch.tensor(7, dtype=torch.int64),
    "empty": torch.zeros(0, 3, dtype=torch.float32),
}
save_file(tensors, os.path.join(HERE, "official_safetensors.safetensors"),
          metadata={"format": "pt", "writer": f"safetensors {safetensors.__version__}"})
print("official_safetensors.safetensors:", ", ".join(sorted(tensors)))
