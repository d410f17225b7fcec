#!/usr/bin/env python3
"""PyTorch's logits for the chain of newer ops that ONNXExportRuntimeTests.newOpsChain exports.

Usage: new_ops_reference.py INPUT.safetensors IO.safetensors

Reads `input` (N×4×9×11) from INPUT.safetensors, runs the same ops with the same attributes as the Swift test's
graph in PyTorch (Debian's python3-torch, /usr/bin/python3: torch.nn.functional, eval semantics), and writes `input`
and `logits` to IO.safetensors for check_export.py. Until Graft's own layers for these ops are on main this is the
reference the exported file is held to: it checks the ONNX encoding of each op against PyTorch's definition.
"""
import json
import struct
import sys

import torch
import torch.nn.functional as F


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    entry = header["input"]
    start, end = entry["data_offsets"]
    values = struct.unpack(f"<{(end - start) // 4}f", data[8 + length + start:8 + length + end])
    return torch.tensor(values, dtype=torch.float32).reshape(entry["shape"])


def write(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, tensor in tensors.items():
        blob = struct.pack(f"<{tensor.numel()}f", *tensor.flatten().tolist())
        header[name] = {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def chain(x):
    # the nodes of newOpsChain, in order, with their model.json attributes
    leaky = F.leaky_relu(x, negative_slope=0.1)
    clip = torch.clamp(leaky, min=-1.5)                                   # Clip: min only
    hs = F.hardswish(clip)
    silu = F.silu(hs)
    gmp = F.adaptive_max_pool2d(silu, 1)                                  # GlobalMaxPool
    hsig = torch.clamp(0.2 * gmp + 0.4, 0, 1)                             # HardSigmoid alpha 0.2, beta 0.4
    mul = silu * hsig                                                     # broadcast N×C×H×W · N×C×1×1
    lrn = F.local_response_norm(mul, size=3, alpha=0.5, beta=0.75, k=2)
    pad = F.pad(lrn, (2, 1, 1, 0), value=-1.0)                            # pads [top 1, left 2, bottom 0, right 1]
    n, c, h, w = pad.shape
    shuffle = pad.view(n, 2, c // 2, h, w).transpose(1, 2).reshape(n, c, h, w)   # ChannelShuffle groups 2
    sig = torch.sigmoid(shuffle)
    mp = F.max_pool2d(sig, kernel_size=3, stride=2, dilation=2, ceil_mode=True)
    ap = F.avg_pool2d(mp, kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=True)
    sm = F.softmax(ap, dim=1)
    return torch.flatten(sm, 1)


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    x = read(sys.argv[1])
    with torch.no_grad():
        logits = chain(x)
    write(sys.argv[2], {"input": x, "logits": logits})
    print(f"torch {torch.__version__}: logits {list(logits.shape)}")


if __name__ == "__main__":
    main()
