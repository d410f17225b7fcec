#!/usr/bin/python3
"""Exports torchvision 0.14's classifiers to ONNX with random weights, and PyTorch's logits on a fixed input:
the references Graft's ONNX import is checked against (Tests/NeuralNetworkTests/ONNXParityTests.swift).

Run with Debian's python3-torch and python3-torchvision (scripts/setup --onnx). No weights are downloaded: every
model is built with torchvision's own initialisation under a fixed seed, then its BatchNorm statistics and affine
parameters are randomised too, so that folding them is tested against non-trivial values.

    /usr/bin/python3 Tests/ONNX/make_onnx_models.py OUT_DIR [--tier ci|full] [NAME ...]

For each model OUT_DIR/NAME/ holds model.onnx (opset 13, dynamic batch) and reference.safetensors with
`input` (4×3×224×224, standard normal) and `logits` (4×classes, PyTorch eval mode). Existing complete folders
are kept (delete one to regenerate it).
"""
import json
import os
import struct
import sys
import warnings

import torch
import torchvision

warnings.filterwarnings("ignore")

# Every convolutional classifier of torchvision 0.14 that issue #17 lists. "ci" runs in every test run; "full"
# adds the large ones (hundreds of MB each), run by scripts/onnx-parity --full.
CI = ["resnet18", "resnet50", "googlenet", "squeezenet1_1", "densenet121", "mobilenet_v2", "mobilenet_v3_small",
      "mobilenet_v3_large", "mnasnet1_0", "shufflenet_v2_x1_0", "efficientnet_b0", "regnet_y_400mf"]
FULL = CI + ["alexnet", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn", "resnext50_32x4d", "wide_resnet50_2"]


def save_safetensors(path, tensors):
    """Writes float32 tensors (name -> torch tensor) in the safetensors format, sorted by name."""
    header, chunks, offset = {}, [], 0
    for key in sorted(tensors):
        data = tensors[key].detach().to(torch.float32).contiguous().numpy().tobytes()
        header[key] = {"dtype": "F32", "shape": list(tensors[key].shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for chunk in chunks:
            f.write(chunk)
    os.replace(path + ".tmp", path)


def build(name, seed):
    torch.manual_seed(seed)
    kwargs = {"weights": None}
    if name == "googlenet":
        kwargs.update(aux_logits=False, init_weights=True)
    model = getattr(torchvision.models, name)(**kwargs)
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                c = module.num_features
                module.running_mean.copy_((torch.rand(c, generator=generator) - 0.5) * 0.2)
                module.running_var.copy_(torch.rand(c, generator=generator) + 0.5)
                module.weight.copy_(torch.rand(c, generator=generator) + 0.5)
                module.bias.copy_((torch.rand(c, generator=generator) - 0.5) * 0.2)
    return model.eval()


def export(name, out, seed=0):
    folder = os.path.join(out, name)
    onnx_path = os.path.join(folder, "model.onnx")
    ref_path = os.path.join(folder, "reference.safetensors")
    if os.path.exists(onnx_path) and os.path.exists(ref_path):
        print(f"{name}: kept")
        return
    os.makedirs(folder, exist_ok=True)
    model = build(name, seed)
    x = torch.randn(4, 3, 224, 224, generator=torch.Generator().manual_seed(seed + 2))
    with torch.no_grad():
        logits = model(x)
    torch.onnx.export(model, x[:1], onnx_path + ".tmp", opset_version=13, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=True)
    os.replace(onnx_path + ".tmp", onnx_path)
    save_safetensors(ref_path, {"input": x, "logits": logits})
    size = os.path.getsize(onnx_path) / 1e6
    print(f"{name}: {size:.1f} MB, logits in [{logits.min():.3f}, {logits.max():.3f}]")


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    out = argv[1]
    args = argv[2:]
    tier = CI
    if args[:2] == ["--tier", "full"]:
        tier, args = FULL, args[2:]
    elif args[:2] == ["--tier", "ci"]:
        args = args[2:]
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    for name in args or tier:
        export(name, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
