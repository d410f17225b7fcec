#!/usr/bin/python3
"""Writes the PyTorch parity fixtures of Graft's NeuralNetwork tests (see README.md in this folder).

Run from anywhere with Debian's python3-torch (not run in CI; the outputs are committed):

    /usr/bin/python3 Tests/NeuralNetworkTests/Fixtures/make_fixtures.py

Every file is a safetensors file written by `save` below (JSON header + raw little-endian F32 bytes, no extra
package). Layer and network references are computed in float64 from float32-representable inputs and stored
as F32, so they are more exact than any float32 implementation; optimizer and schedule references are computed
as PyTorch really runs them, in float32. Seeds are fixed: rerunning gives identical files for a given torch.
"""
import json
import math
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


# MARK: - safetensors writer

def save(name, tensors, metadata):
    """Writes tensors (name -> torch tensor) as F32, sorted by name, and metadata (str -> str)."""
    header = {"__metadata__": {k: str(v) for k, v in sorted(metadata.items())}}
    chunks, offset = [], 0
    for key in sorted(tensors):
        t = tensors[key].detach().to(torch.float32).contiguous().reshape(-1)
        data = struct.pack("<%df" % t.numel(), *t.tolist())
        header[key] = {"dtype": "F32", "shape": list(tensors[key].shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    path = os.path.join(HERE, name + ".safetensors")
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for chunk in chunks:
            f.write(chunk)
    os.replace(path + ".tmp", path)
    print(f"{name}.safetensors: {', '.join(sorted(tensors))}")


def pair(v):
    return f"{v[0]},{v[1]}" if isinstance(v, (tuple, list)) else f"{v},{v}"


def randn(generator, *shape, scale=1.0):
    """float32 Gaussian samples, returned as float64 (exactly representable in float32)."""
    return (torch.randn(*shape, generator=generator) * scale).to(torch.float32).to(torch.float64)


COMMON = {"torch_version": torch.__version__, "computed_in": "float64"}


# MARK: - Single layers

def layer_fixture(name, op, module_or_fn, inputs, params, buffers, attrs, mode, generator, extra_after=None):
    """Runs forward and backward of one op in float64 and saves inputs, parameters, y, dy, dx and grads.

    inputs: name -> tensor; params: PyTorch parameter names of module_or_fn (an nn.Module) to save with their
    gradients; buffers: buffer names saved before the forward (and, in training, after it as `<b>_after`).
    """
    tensors = {}
    leaves = {}
    for key, value in inputs.items():
        leaf = value.clone().requires_grad_(True)
        leaves[key] = leaf
        tensors[key] = value
    module = module_or_fn if isinstance(module_or_fn, nn.Module) else None
    if module is not None:
        module.double()
        module.train(mode == "train")
        for p in params:
            tensors[p] = getattr(module, p).detach().clone()
        for b in buffers:
            tensors[b] = getattr(module, b).detach().clone()
    y = module_or_fn(*leaves.values())
    dy = randn(generator, *y.shape)
    y.backward(dy)
    tensors["y"] = y
    tensors["dy"] = dy
    for key, leaf in leaves.items():
        tensors["d" + key] = leaf.grad
    if module is not None:
        for p in params:
            tensors["grad." + p] = getattr(module, p).grad
        if mode == "train":
            for b in buffers:
                tensors[b + "_after"] = getattr(module, b).detach().clone()
    metadata = dict(COMMON, op=op, mode=mode, inputs=",".join(inputs), parameters=",".join(params),
                    buffers=",".join(buffers), **attrs)
    save(name, tensors, metadata)


def conv_attrs(conv, padding_begin, padding_end):
    return {
        "in_channels": conv.in_channels, "out_channels": conv.out_channels,
        "kernel_size": pair(conv.kernel_size), "stride": pair(conv.stride),
        "padding_begin": pair(padding_begin), "padding_end": pair(padding_end),
        "dilation": pair(conv.dilation), "groups": conv.groups, "bias": str(conv.bias is not None).lower(),
    }


class PaddedConv(nn.Module):
    """Asymmetric padding as TensorFlow's "same": F.pad(left, right, top, bottom) then an unpadded conv."""

    def __init__(self, conv, pad):
        super().__init__()
        self.conv, self.pad = conv, pad

    def forward(self, x):
        return self.conv(F.pad(x, self.pad))


def make_layers():
    g = torch.Generator().manual_seed(1234)

    def conv_case(name, x_shape, cin, cout, k, stride, padding, dilation, groups, bias, pad=None):
        conv = nn.Conv2d(cin, cout, k, stride, padding, dilation, groups, bias)
        with torch.no_grad():
            conv.weight.copy_(randn(g, *conv.weight.shape, scale=0.5))
            if bias:
                conv.bias.copy_(randn(g, cout, scale=0.5))
        x = randn(g, *x_shape)
        if pad is None:
            begin, end, module = (padding, padding), (padding, padding), conv
        else:
            left, right, top, bottom = pad
            begin, end = (top, left), (bottom, right)
            module = PaddedConv(conv, pad)
        attrs = conv_attrs(conv, begin, end)
        params = ["weight"] + (["bias"] if bias else [])
        # Parameters live on the conv; expose them on the wrapper for layer_fixture.
        if module is not conv:
            module.weight = conv.weight
            if bias:
                module.bias = conv.bias
        layer_fixture(name, "Conv2d", module, {"x": x}, params, [], attrs, "train", g)

    conv_case("conv2d_stride2", (2, 3, 9, 9), 3, 4, 3, 2, 1, 1, 1, True)
    conv_case("conv2d_asymmetric_padding", (2, 3, 8, 7), 3, 4, 3, 2, 0, 1, 1, False, pad=(0, 1, 1, 2))
    conv_case("conv2d_dilation2", (2, 3, 9, 9), 3, 4, 3, 1, 2, 2, 1, False)
    conv_case("conv2d_groups", (2, 4, 7, 7), 4, 6, 3, 1, 1, 1, 2, True)
    conv_case("conv2d_depthwise", (2, 4, 9, 9), 4, 4, 3, 2, 1, 1, 4, True)
    conv_case("conv2d_pointwise", (2, 6, 5, 5), 6, 8, 1, 1, 0, 1, 1, False)

    # BatchNorm2d: non-trivial affine parameters and running statistics.
    for mode in ("train", "eval"):
        bn = nn.BatchNorm2d(5, eps=1e-5, momentum=0.1).double()
        with torch.no_grad():
            bn.weight.copy_(1 + randn(g, 5, scale=0.3))
            bn.bias.copy_(randn(g, 5, scale=0.3))
            bn.running_mean.copy_(randn(g, 5, scale=0.5))
            bn.running_var.copy_(0.5 + torch.rand(5, generator=g).to(torch.float32).to(torch.float64))
        x = randn(g, 3, 5, 6, 6, scale=2.0) + 0.5
        layer_fixture(f"batchnorm2d_{mode}", "BatchNorm2d", bn, {"x": x}, ["weight", "bias"],
                      ["running_mean", "running_var"], {"num_features": 5, "eps": "1e-05", "momentum": "0.1"},
                      mode, g)

    def pool_case(name, op, module, x_shape, attrs):
        layer_fixture(name, op, module, {"x": randn(g, *x_shape)}, [], [], attrs, "train", g)

    pool_case("maxpool2d_k3s2p1", "MaxPool2d", nn.MaxPool2d(3, 2, 1), (2, 3, 9, 9),
              {"kernel_size": "3,3", "stride": "2,2", "padding_begin": "1,1", "padding_end": "1,1",
               "dilation": "1,1", "ceil_mode": "false"})
    pool_case("maxpool2d_k2s2", "MaxPool2d", nn.MaxPool2d(2, 2), (2, 3, 8, 8),
              {"kernel_size": "2,2", "stride": "2,2", "padding_begin": "0,0", "padding_end": "0,0",
               "dilation": "1,1", "ceil_mode": "false"})
    for include in (True, False):
        pool_case(f"avgpool2d_count_include_pad_{str(include).lower()}", "AvgPool2d",
                  nn.AvgPool2d(3, 2, 1, count_include_pad=include), (2, 3, 8, 8),
                  {"kernel_size": "3,3", "stride": "2,2", "padding_begin": "1,1", "padding_end": "1,1",
                   "count_include_pad": str(include).lower(), "ceil_mode": "false"})
    pool_case("lppool2d_p2", "LPPool2d", nn.LPPool2d(2, 3, 2), (2, 3, 9, 9),
              {"norm_type": "2", "kernel_size": "3,3", "stride": "2,2", "padding_begin": "0,0", "padding_end": "0,0",
               "ceil_mode": "false"})
    pool_case("global_avg_pool", "AdaptiveAvgPool2d", nn.AdaptiveAvgPool2d(1), (2, 5, 7, 7), {"output_size": "1,1"})

    layer_fixture("relu", "ReLU", nn.ReLU(), {"x": randn(g, 2, 3, 5, 5)}, [], [], {}, "train", g)
    layer_fixture("relu6", "ReLU6", nn.ReLU6(), {"x": randn(g, 2, 3, 5, 5, scale=5.0)}, [], [], {}, "train", g)
    layer_fixture("softmax", "Softmax", nn.Softmax(dim=1), {"x": randn(g, 4, 7, scale=2.0)}, [], [], {"dim": 1},
                  "train", g)

    linear = nn.Linear(7, 5)
    with torch.no_grad():
        linear.weight.copy_(randn(g, 5, 7, scale=0.4))
        linear.bias.copy_(randn(g, 5, scale=0.4))
    layer_fixture("linear", "Linear", linear, {"x": randn(g, 3, 7)}, ["weight", "bias"], [],
                  {"in_features": 7, "out_features": 5, "bias": "true"}, "train", g)

    layer_fixture("add", "Add", lambda a, b: a + b, {"x0": randn(g, 2, 4, 5, 5), "x1": randn(g, 2, 4, 5, 5)},
                  [], [], {}, "train", g)
    layer_fixture("concat", "Concat", lambda a, b: torch.cat([a, b], dim=1),
                  {"x0": randn(g, 2, 3, 5, 5), "x1": randn(g, 2, 5, 5, 5)}, [], [], {"dim": 1}, "train", g)

    # Cross-entropy on logits x (N×C) with class-index targets (stored as F32); the loss is the mean over the
    # batch as PyTorch defines it with class weights: Σᵢ ℓᵢ / Σᵢ w[targetᵢ].
    for name, smoothing, weighted in (("cross_entropy_smoothing", 0.1, False),
                                      ("cross_entropy_weighted", 0.0, True),
                                      ("cross_entropy_weighted_smoothing", 0.2, True)):
        x = randn(g, 6, 5, scale=2.0)
        target = torch.tensor([0, 3, 4, 1, 3, 2])
        weight = (0.5 + torch.rand(5, generator=g)).to(torch.float32).to(torch.float64) if weighted else None
        leaf = x.clone().requires_grad_(True)
        loss = F.cross_entropy(leaf, target, weight=weight, label_smoothing=smoothing)
        loss.backward()
        tensors = {"x": x, "target": target.to(torch.float64), "loss": loss.reshape([]), "dx": leaf.grad}
        if weighted:
            tensors["weight"] = weight
        save(name, tensors, dict(COMMON, op="CrossEntropyLoss", mode="train", inputs="x,target",
                                 parameters="", buffers="", label_smoothing=str(smoothing),
                                 weighted=str(weighted).lower(), reduction="mean", classes=5))


# MARK: - Element-wise activations and broadcasting binary ops (ONNX import, issue 17)

def make_activations_and_broadcasts():
    """Own generator, so that the files above stay byte-identical when this part changes."""
    g = torch.Generator().manual_seed(4321)

    def act(name, op, fn, x, attrs):
        layer_fixture(name, op, fn, {"x": x}, [], [], attrs, "train", g)

    def with_values(x, values):
        """x with its first elements set exactly (activation bounds, where PyTorch's gradient rules differ)."""
        x = x.clone()
        x.view(-1)[:len(values)] = torch.tensor(values, dtype=torch.float64)
        return x

    act("sigmoid", "Sigmoid", nn.Sigmoid(), randn(g, 2, 3, 5, 5, scale=3.0), {})
    # nn.Hardsigmoid: relu6(x + 3) / 6; its gradient 1/6 strictly inside (-3, 3), so 0 at ±3 exactly.
    act("hardsigmoid", "HardSigmoid", nn.Hardsigmoid(),
        with_values(randn(g, 2, 3, 5, 5, scale=4.0), [-3.0, 3.0, -3.0, 3.0]), {})
    # ONNX's HardSigmoid with its default alpha 0.2 (no PyTorch module): clamp(0.2x + 0.5, 0, 1), the same rule.
    act("hardsigmoid_onnx", "HardSigmoid", lambda x: F.hardtanh(0.2 * x + 0.5, 0.0, 1.0),
        randn(g, 2, 3, 5, 5, scale=4.0), {"alpha": "0.2", "beta": "0.5"})
    # nn.Hardswish; no element sits exactly at ±3, where PyTorch's gradient (-0.5 and 1.5) is not oneDNN's (0, 1).
    act("hardswish", "HardSwish", nn.Hardswish(), randn(g, 2, 3, 5, 5, scale=4.0), {})
    act("silu", "SiLU", nn.SiLU(), randn(g, 2, 3, 5, 5, scale=3.0), {})
    act("leaky_relu", "LeakyReLU", nn.LeakyReLU(0.1), with_values(randn(g, 2, 3, 5, 5), [0.0]),
        {"negative_slope": "0.1"})
    # Clip follows hardtanh (and relu6): gradient strictly inside (min, max), 0 at a bound itself.
    act("clip", "Clip", lambda x: F.hardtanh(x, -1.0, 2.0),
        with_values(randn(g, 2, 3, 5, 5, scale=2.0), [-1.0, 2.0, -1.0, 2.0]), {"min": "-1.0", "max": "2.0"})
    act("clip_max_only", "Clip", lambda x: F.hardtanh(x, -math.inf, 0.5),
        with_values(randn(g, 2, 3, 5, 5, scale=2.0), [0.5, 0.5]), {"max": "0.5"})

    # Binary ops broadcast as NumPy: y's shape is the larger extent per axis; the gradient of a broadcast input is
    # summed over the axes it was stretched along.
    for name, op, fn, a, b in (
        ("mul", "Mul", torch.mul, (2, 4, 5, 5), (2, 4, 5, 5)),
        ("mul_broadcast", "Mul", torch.mul, (2, 4, 5, 5), (2, 4, 1, 1)),
        ("mul_broadcast_reversed", "Mul", torch.mul, (2, 4, 1, 1), (2, 4, 5, 5)),
        ("mul_broadcast_mixed", "Mul", torch.mul, (2, 4, 1, 5), (2, 1, 5, 1)),
        ("add_broadcast", "Add", torch.add, (2, 4, 5, 5), (2, 1, 5, 5)),
        ("add_broadcast_reversed", "Add", torch.add, (2, 4, 1, 1), (2, 4, 5, 5)),
    ):
        layer_fixture(name, op, fn, {"x0": randn(g, *a), "x1": randn(g, *b)}, [], [], {}, "train", g)


# MARK: - A small network with every new op (squeeze-and-excitation, gates, broadcast add)

SE_GRAPH = [
    {"name": "c1", "op": "Conv2d", "inputs": ["input"], "in_channels": 3, "out_channels": 8, "kernel_size": [3, 3],
     "stride": [1, 1], "padding": [1, 1], "bias": False},
    {"name": "bn1", "op": "BatchNorm2d", "inputs": ["c1"], "num_features": 8},
    {"name": "hs1", "op": "HardSwish", "inputs": ["bn1"]},
    {"name": "se_pool", "op": "AdaptiveAvgPool2d", "inputs": ["hs1"], "output_size": [1, 1]},
    {"name": "se_fc1", "op": "Conv2d", "inputs": ["se_pool"], "in_channels": 8, "out_channels": 4,
     "kernel_size": [1, 1], "bias": True},
    {"name": "se_relu", "op": "ReLU", "inputs": ["se_fc1"]},
    {"name": "se_fc2", "op": "Conv2d", "inputs": ["se_relu"], "in_channels": 4, "out_channels": 8,
     "kernel_size": [1, 1], "bias": True},
    {"name": "se_gate", "op": "HardSigmoid", "inputs": ["se_fc2"]},
    {"name": "se_mul", "op": "Mul", "inputs": ["hs1", "se_gate"]},
    {"name": "c2", "op": "Conv2d", "inputs": ["se_mul"], "in_channels": 8, "out_channels": 8, "kernel_size": [3, 3],
     "stride": [1, 1], "padding": [1, 1], "groups": 8, "bias": False},
    {"name": "bn2", "op": "BatchNorm2d", "inputs": ["c2"], "num_features": 8},
    {"name": "silu2", "op": "SiLU", "inputs": ["bn2"]},
    {"name": "c3", "op": "Conv2d", "inputs": ["silu2"], "in_channels": 8, "out_channels": 8, "kernel_size": [1, 1],
     "bias": False},
    {"name": "bn3", "op": "BatchNorm2d", "inputs": ["c3"], "num_features": 8},
    {"name": "sig3", "op": "Sigmoid", "inputs": ["bn3"]},
    {"name": "gate", "op": "Mul", "inputs": ["sig3", "silu2"]},
    {"name": "c4", "op": "Conv2d", "inputs": ["gate"], "in_channels": 8, "out_channels": 8, "kernel_size": [3, 3],
     "stride": [1, 1], "padding": [1, 1], "bias": True},
    {"name": "leaky4", "op": "LeakyReLU", "inputs": ["c4"], "negative_slope": 0.2},
    {"name": "shift", "op": "Add", "inputs": ["leaky4", "se_pool"]},
    {"name": "c5", "op": "Conv2d", "inputs": ["shift"], "in_channels": 8, "out_channels": 8, "kernel_size": [1, 1],
     "bias": False},
    {"name": "bn5", "op": "BatchNorm2d", "inputs": ["c5"], "num_features": 8},
    {"name": "res", "op": "Add", "inputs": ["bn5", "gate"]},
    {"name": "clip5", "op": "Clip", "inputs": ["res"], "min": -1.0, "max": 1.5},
    {"name": "pool", "op": "AdaptiveAvgPool2d", "inputs": ["clip5"], "output_size": [1, 1]},
    {"name": "fc", "op": "Linear", "inputs": ["pool"], "in_features": 8, "out_features": 3, "bias": True},
]


class GraphNetwork(nn.Module):
    """Runs a node list such as SE_GRAPH: one module per parameterised node, named as the node."""

    def __init__(self, graph):
        super().__init__()
        self.graph = graph
        self.layers = nn.ModuleDict()
        for node in graph:
            if node["op"] == "Conv2d":
                self.layers[node["name"]] = nn.Conv2d(
                    node["in_channels"], node["out_channels"], node["kernel_size"], node.get("stride", 1),
                    node.get("padding", 0), 1, node.get("groups", 1), node["bias"])
            elif node["op"] == "BatchNorm2d":
                self.layers[node["name"]] = nn.BatchNorm2d(node["num_features"])
            elif node["op"] == "Linear":
                self.layers[node["name"]] = nn.Linear(node["in_features"], node["out_features"], node["bias"])

    def forward(self, x):
        values = {"input": x}
        functions = {
            "ReLU": F.relu, "HardSwish": F.hardswish, "HardSigmoid": F.hardsigmoid, "SiLU": F.silu,
            "Sigmoid": torch.sigmoid, "AdaptiveAvgPool2d": lambda v: F.adaptive_avg_pool2d(v, 1),
        }
        for node in self.graph:
            op, args = node["op"], [values[i] for i in node["inputs"]]
            if op in ("Conv2d", "BatchNorm2d"):
                out = self.layers[node["name"]](args[0])
            elif op == "Linear":
                out = self.layers[node["name"]](torch.flatten(args[0], 1))
            elif op == "Mul":
                out = args[0] * args[1]
            elif op == "Add":
                out = args[0] + args[1]
            elif op == "LeakyReLU":
                out = F.leaky_relu(args[0], node["negative_slope"])
            elif op == "Clip":
                out = F.hardtanh(args[0], node["min"], node["max"])
            else:
                out = functions[op](args[0])
            values[node["name"]] = out
        return out


def make_se_network():
    g = torch.Generator().manual_seed(99)
    net = GraphNetwork(SE_GRAPH).double()
    tensors = {}
    with torch.no_grad():
        for name, p in net.layers.named_parameters():
            if name.startswith("bn") and name.endswith("weight"):
                p.copy_(1 + randn(g, *p.shape, scale=0.2))
            else:
                p.copy_(randn(g, *p.shape, scale=0.5))
        for name, b in net.layers.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(randn(g, *b.shape, scale=0.2))
            elif name.endswith("running_var"):
                b.copy_(0.5 + torch.rand(*b.shape, generator=g).to(torch.float32).to(torch.float64))
    x = randn(g, 2, 3, 8, 8, scale=2.0)
    target = torch.tensor([2, 0])
    for name, p in net.layers.named_parameters():
        tensors[name] = p.detach().clone()
    for name, b in net.layers.named_buffers():
        if not name.endswith("num_batches_tracked"):
            tensors[name] = b.detach().clone()
    net.eval()
    with torch.no_grad():
        tensors["eval.logits"] = net(x)
    net.train()
    leaf = x.clone().requires_grad_(True)
    logits = net(leaf)
    loss = F.cross_entropy(logits, target)
    loss.backward()
    tensors.update({"x": x, "target": target.to(torch.float64), "logits": logits, "loss": loss.reshape([]),
                    "dx": leaf.grad})
    for name, p in net.layers.named_parameters():
        tensors["grad." + name] = p.grad
    for name, b in net.layers.named_buffers():
        if not name.endswith("num_batches_tracked"):
            tensors["after." + name] = b.detach().clone()
    save("network_squeeze_excitation", tensors,
         dict(COMMON, op="Network", mode="train", graph=json.dumps(SE_GRAPH, separators=(",", ":")),
              loss="CrossEntropyLoss", label_smoothing="0.0", bn_eps="1e-05", bn_momentum="0.1"))


# MARK: - A small residual network with BatchNorm

class SmallResidualNetwork(nn.Module):
    """conv1 3×3 1→4 + bn1 + ReLU; a block (block_conv1 3×3 s2 4→8 + block_bn1 + ReLU, block_conv2 3×3 8→8 +
    block_bn2) with a shortcut (shortcut_conv 1×1 s2 4→8 + shortcut_bn); add; ReLU; global average pool; fc 8→3."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.block_conv1 = nn.Conv2d(4, 8, 3, 2, 1, bias=False)
        self.block_bn1 = nn.BatchNorm2d(8)
        self.block_conv2 = nn.Conv2d(8, 8, 3, 1, 1, bias=False)
        self.block_bn2 = nn.BatchNorm2d(8)
        self.shortcut_conv = nn.Conv2d(4, 8, 1, 2, 0, bias=False)
        self.shortcut_bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 3)

    def forward(self, x, activations):
        def keep(name, value):
            activations[name] = value
            return value
        a = keep("relu1", F.relu(keep("bn1", self.bn1(keep("conv1", self.conv1(x))))))
        b = keep("block_relu1", F.relu(keep("block_bn1", self.block_bn1(keep("block_conv1", self.block_conv1(a))))))
        b = keep("block_bn2", self.block_bn2(keep("block_conv2", self.block_conv2(b))))
        s = keep("shortcut_bn", self.shortcut_bn(keep("shortcut_conv", self.shortcut_conv(a))))
        h = keep("relu2", F.relu(keep("add", b + s)))
        p = keep("pool", F.adaptive_avg_pool2d(h, 1))
        return keep("fc", self.fc(torch.flatten(p, 1)))


GRAPH = [
    {"name": "conv1", "op": "Conv2d", "inputs": ["input"], "kernel_size": [3, 3], "stride": [1, 1], "padding": [1, 1],
     "in_channels": 1, "out_channels": 4, "bias": False},
    {"name": "bn1", "op": "BatchNorm2d", "inputs": ["conv1"], "num_features": 4},
    {"name": "relu1", "op": "ReLU", "inputs": ["bn1"]},
    {"name": "block_conv1", "op": "Conv2d", "inputs": ["relu1"], "kernel_size": [3, 3], "stride": [2, 2],
     "padding": [1, 1], "in_channels": 4, "out_channels": 8, "bias": False},
    {"name": "block_bn1", "op": "BatchNorm2d", "inputs": ["block_conv1"], "num_features": 8},
    {"name": "block_relu1", "op": "ReLU", "inputs": ["block_bn1"]},
    {"name": "block_conv2", "op": "Conv2d", "inputs": ["block_relu1"], "kernel_size": [3, 3], "stride": [1, 1],
     "padding": [1, 1], "in_channels": 8, "out_channels": 8, "bias": False},
    {"name": "block_bn2", "op": "BatchNorm2d", "inputs": ["block_conv2"], "num_features": 8},
    {"name": "shortcut_conv", "op": "Conv2d", "inputs": ["relu1"], "kernel_size": [1, 1], "stride": [2, 2],
     "padding": [0, 0], "in_channels": 4, "out_channels": 8, "bias": False},
    {"name": "shortcut_bn", "op": "BatchNorm2d", "inputs": ["shortcut_conv"], "num_features": 8},
    {"name": "add", "op": "Add", "inputs": ["block_bn2", "shortcut_bn"]},
    {"name": "relu2", "op": "ReLU", "inputs": ["add"]},
    {"name": "pool", "op": "AdaptiveAvgPool2d", "inputs": ["relu2"], "output_size": [1, 1]},
    {"name": "fc", "op": "Linear", "inputs": ["pool"], "in_features": 8, "out_features": 3, "bias": True},
]


def make_network():
    g = torch.Generator().manual_seed(77)
    torch.manual_seed(77)
    net = SmallResidualNetwork().double()
    tensors = {}
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("bn1.weight") or name.endswith("bn2.weight") or name.endswith("bn.weight"):
                p.copy_(1 + randn(g, *p.shape, scale=0.2))
            else:
                p.copy_(randn(g, *p.shape, scale=0.5))
        for name, b in net.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(randn(g, *b.shape, scale=0.2))
            elif name.endswith("running_var"):
                b.copy_(0.5 + torch.rand(*b.shape, generator=g).to(torch.float32).to(torch.float64))
    x = randn(g, 4, 1, 8, 8)
    target = torch.tensor([0, 2, 1, 2])
    for name, p in net.named_parameters():
        tensors[name] = p.detach().clone()
    for name, b in net.named_buffers():
        if not name.endswith("num_batches_tracked"):
            tensors[name] = b.detach().clone()

    net.eval()
    with torch.no_grad():
        tensors["eval.logits"] = net(x, {})

    net.train()
    activations = {}
    leaf = x.clone().requires_grad_(True)
    logits = net(leaf, activations)
    loss = F.cross_entropy(logits, target)
    loss.backward()
    tensors.update({"x": x, "target": target.to(torch.float64), "logits": logits, "loss": loss.reshape([]),
                    "dx": leaf.grad})
    for name, value in activations.items():
        tensors["act." + name] = value
    for name, p in net.named_parameters():
        tensors["grad." + name] = p.grad
    for name, b in net.named_buffers():
        if not name.endswith("num_batches_tracked"):
            tensors["after." + name] = b.detach().clone()
    save("network_small_residual", tensors,
         dict(COMMON, op="Network", mode="train", graph=json.dumps(GRAPH, separators=(",", ":")),
              loss="CrossEntropyLoss", label_smoothing="0.0", bn_eps="1e-05", bn_momentum="0.1"))


# MARK: - Optimizers and schedules (float32, as PyTorch runs them)

def make_optimizers():
    configs = [
        ("optimizer_sgd", torch.optim.SGD, dict(lr=0.1, momentum=0.0, weight_decay=0.0, nesterov=False)),
        ("optimizer_sgd_momentum", torch.optim.SGD, dict(lr=0.05, momentum=0.9, weight_decay=1e-2, nesterov=False)),
        ("optimizer_sgd_nesterov", torch.optim.SGD, dict(lr=0.05, momentum=0.8, weight_decay=1e-3, nesterov=True)),
        ("optimizer_adam", torch.optim.Adam, dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2)),
        ("optimizer_adamw", torch.optim.AdamW, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ]
    steps = 4
    for name, cls, kwargs in configs:
        g = torch.Generator().manual_seed(5)
        params = {"fc.weight": torch.randn(3, 4, generator=g), "fc.bias": torch.randn(4, generator=g)}
        live = {k: v.clone().requires_grad_(True) for k, v in params.items()}
        optimizer = cls(list(live.values()), **kwargs)
        tensors = {"initial." + k: v for k, v in params.items()}
        for step in range(1, steps + 1):
            for k, p in live.items():
                grad = torch.randn(p.shape, generator=g)
                p.grad = grad
                tensors[f"step{step}.grad.{k}"] = grad
            optimizer.step()
            for k, p in live.items():
                tensors[f"step{step}.{k}"] = p.detach().clone()
        for k, p in live.items():
            for state_name, value in optimizer.state[p].items():
                if value is None:
                    continue
                if state_name == "step":
                    tensors[f"state.{k}.step"] = torch.tensor([float(value)])
                else:
                    tensors[f"state.{k}.{state_name}"] = value.detach().clone()
        meta = {"optimizer": cls.__name__, "steps": steps, "parameters": "fc.weight,fc.bias", "computed_in": "float32",
                "torch_version": torch.__version__}
        for key, value in kwargs.items():
            if key == "betas":
                meta["beta1"], meta["beta2"] = repr(value[0]), repr(value[1])
            else:
                meta[key] = str(value).lower() if isinstance(value, bool) else repr(value)
        save(name, tensors, meta)


def make_schedules():
    total, lr = 20, 0.1

    def run(make):
        p = torch.zeros(1, requires_grad=True)
        optimizer = torch.optim.SGD([p], lr=lr)
        scheduler = make(optimizer)
        rates = []
        for _ in range(total):
            rates.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
        return torch.tensor(rates, dtype=torch.float64)

    S = torch.optim.lr_scheduler
    tensors = {
        "constant": run(lambda o: S.LambdaLR(o, lambda step: 1.0)),
        "step": run(lambda o: S.StepLR(o, step_size=6, gamma=0.5)),
        "cosine": run(lambda o: S.CosineAnnealingLR(o, T_max=total, eta_min=0.001)),
        "warmup_cosine": run(lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.25, total_iters=5),
                                                          S.CosineAnnealingLR(o, T_max=total - 5, eta_min=0.001)],
                                                      milestones=[5])),
        "warmup_step": run(lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.5, total_iters=4),
                                                        S.StepLR(o, step_size=6, gamma=0.5)], milestones=[4])),
    }
    save("schedules", tensors, {"learning_rate": repr(lr), "total_steps": total, "step_size": 6, "gamma": 0.5,
                                "eta_min": 0.001, "warmup_cosine_steps": 5, "warmup_cosine_start_factor": 0.25,
                                "warmup_step_steps": 4, "warmup_step_start_factor": 0.5,
                                "torch_version": torch.__version__})


# MARK: - Structural layers (ONNX import: GoogLeNet, SqueezeNet, AlexNet, DenseNet, ShuffleNetV2)

def make_structure_layers():
    """Pooling attributes, LRN, Pad, ChannelShuffle and any-axis Concat/Softmax/Flatten, with their own
    generator so that the files above do not change. Each file's `graft_node` metadata is the node Graft runs:
    {"op": ..., "attributes": {...}} with PyTorch's attribute names, as the ONNX importer writes them."""
    g = torch.Generator().manual_seed(4321)

    def case(name, op, module_or_fn, inputs, graft_op, graft_attributes):
        node = json.dumps({"op": graft_op, "attributes": graft_attributes}, sort_keys=True)
        layer_fixture(name, op, module_or_fn, inputs, [], [], {"graft_node": node}, "train", g)

    # ceil_mode: on 9×8 with kernel 3, stride 2, padding 1 the last column window runs one past the padded
    # input (W: 5 outputs where floor gives 4); H fits exactly (no extra).
    case("maxpool2d_ceil", "MaxPool2d", nn.MaxPool2d(3, 2, 1, ceil_mode=True), {"x": randn(g, 2, 3, 9, 8)},
         "MaxPool2d", {"kernel_size": [3, 3], "stride": [2, 2], "padding": [1, 1], "ceil_mode": True})
    for include in (True, False):
        case(f"avgpool2d_ceil_count_include_pad_{str(include).lower()}", "AvgPool2d",
             nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=include), {"x": randn(g, 2, 3, 9, 8)},
             "AvgPool2d", {"kernel_size": [3, 3], "stride": [2, 2], "padding": [1, 1], "ceil_mode": True,
                           "count_include_pad": include})
    # kernel 2, stride 2, padding 1 on 5×7: on both axes ceil would add a window starting in the end padding,
    # which PyTorch drops (3×4 outputs, not 4×5).
    case("avgpool2d_ceil_k2s2p1", "AvgPool2d", nn.AvgPool2d(2, 2, 1, ceil_mode=True, count_include_pad=True),
         {"x": randn(g, 2, 3, 5, 7)}, "AvgPool2d",
         {"kernel_size": [2, 2], "stride": [2, 2], "padding": [1, 1], "ceil_mode": True, "count_include_pad": True})
    case("maxpool2d_dilation2", "MaxPool2d", nn.MaxPool2d(3, 2, 1, dilation=2), {"x": randn(g, 2, 3, 9, 10)},
         "MaxPool2d", {"kernel_size": [3, 3], "stride": [2, 2], "padding": [1, 1], "dilation": [2, 2]})
    case("global_max_pool", "AdaptiveMaxPool2d", nn.AdaptiveMaxPool2d(1), {"x": randn(g, 2, 5, 7, 6)},
         "GlobalMaxPool", {})
    # alpha large enough that α and α/size give visibly different results; 7 channels so the window is cut at
    # both ends
    case("lrn", "LocalResponseNorm", nn.LocalResponseNorm(5, alpha=0.5, beta=0.75, k=2.0),
         {"x": randn(g, 2, 7, 4, 5, scale=2.0)}, "LRN", {"size": 5, "alpha": 0.5, "beta": 0.75, "k": 2.0})
    case("pad", "ConstantPad2d", lambda x: F.pad(x, (1, 2, 0, 3), value=0.5), {"x": randn(g, 2, 3, 4, 5)},
         "Pad", {"pads": [0, 1, 3, 2], "value": 0.5})
    # 12 channels in 3 groups of 4: PyTorch's groups differ from oneDNN's group size. nn.ChannelShuffle has no
    # backward in torch 1.13, so the fixture runs torchvision ShuffleNetV2's reshape-transpose-reshape, checked
    # equal to nn.ChannelShuffle's forward.
    def shuffle(x, groups=3):
        n, c, h, w = x.shape
        return x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous().view(n, c, h, w)
    x = randn(g, 2, 12, 3, 4)
    assert torch.equal(shuffle(x), nn.ChannelShuffle(3)(x))
    case("channel_shuffle", "ChannelShuffle", shuffle, {"x": x}, "ChannelShuffle", {"groups": 3})
    for dim in (2, 3):
        layer_fixture(f"concat_dim{dim}", "Concat", lambda a, b, d=dim: torch.cat([a, b], dim=d),
                      {"x0": randn(g, 2, 3, 4, 5), "x1": randn(g, 2, 3, 4, 5)}, [], [],
                      {"dim": dim, "graft_node": json.dumps({"op": "Concat", "attributes": {"dim": dim}})}, "train", g)
        case(f"softmax_dim{dim}", "Softmax", nn.Softmax(dim=dim), {"x": randn(g, 2, 3, 4, 5, scale=2.0)},
             "Softmax", {"dim": dim})
    case("flatten_start_dim2", "Flatten", nn.Flatten(start_dim=2), {"x": randn(g, 2, 3, 4, 5)},
         "Flatten", {"start_dim": 2, "end_dim": -1})


if __name__ == "__main__":
    torch.set_num_threads(1)
    make_layers()
    make_activations_and_broadcasts()
    make_network()
    make_se_network()
    make_optimizers()
    make_schedules()
    make_structure_layers()
