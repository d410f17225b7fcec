#!/usr/bin/python3
"""Times one full PyTorch training step of a benchmark network and prints the result as JSON.

One step = forward, softmax cross-entropy loss, backward, SGD-with-momentum update, every layer training, with
torch.set_num_threads(2) (the machine's cores). Networks: Graft's benchmark ResNet-8 on grey 28x28 images
(default batch 128), EfficientNet-Lite0 on 3x224x224 (the nn.Module of Graft's parity fixtures, randomly
initialised: the weights do not change the step's cost), or torchvision's ResNet-18 on 3x224x224 with its batch
norms folded, the network Graft trains after `graft import onnx` of its export. Warm-up steps run first; the figure reported is the
median over the timed steps. Run with Debian's python3-torch or the PyPI torch of bench/setup_venv.sh:

    /usr/bin/python3 bench/train_step.py [--model resnet8|efficientnet-lite0|resnet18] [--batch N] [--warmup 5]
                                         [--steps 30] [--threads 2]
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    """Two 3x3 conv + BN layers with a residual; a 1x1 conv + BN shortcut when the shape changes."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.shortcut is None else self.shortcut(x)))


class ResNet8(nn.Module):
    """Stem 3x3 1->16 + BN + ReLU; blocks 16->16 s1, 16->32 s2, 32->64 s2; global average pool; 64->10."""

    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = BasicBlock(16, 16, 1)
        self.layer2 = BasicBlock(16, 32, 2)
        self.layer3 = BasicBlock(32, 64, 2)
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def resnet18_as_imported():
    """torchvision's ResNet-18 as `graft import onnx` turns its ONNX export into Graft's network: each BatchNorm
    folded into the convolution before it, so an Identity in its place and a convolution with a bias."""
    import torchvision

    def fold(module):
        for name, child in module.named_children():
            if isinstance(child, nn.BatchNorm2d):
                setattr(module, name, nn.Identity())
            elif isinstance(child, nn.Conv2d) and child.bias is None:
                setattr(module, name, nn.Conv2d(child.in_channels, child.out_channels, child.kernel_size,
                                                child.stride, child.padding, child.dilation, child.groups, bias=True))
            else:
                fold(child)
        return module

    return fold(torchvision.models.resnet18(num_classes=1000))


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["resnet8", "efficientnet-lite0", "resnet18"], default="resnet8")
    parser.add_argument("--batch", type=int, default=None, help="default 128 for resnet8, 32 for the others")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.model == "resnet8":
        batch = args.batch or 128
        model, shape, classes = ResNet8(), [batch, 1, 28, 28], 10
    elif args.model == "resnet18":
        batch = args.batch or 32
        model, shape, classes = resnet18_as_imported(), [batch, 3, 224, 224], 1000
    else:
        batch = args.batch or 32
        fixtures = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "NeuralNetworkTests", "Fixtures")
        sys.path.insert(0, fixtures)
        from efficientnet_lite0_reference import EfficientNetLite0
        model, shape, classes = EfficientNetLite0(), [batch, 3, 224, 224], 1000
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    images = torch.randn(*shape)
    labels = torch.randint(0, classes, (batch,))

    def step():
        optimizer.zero_grad(set_to_none=False)
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        return loss.item()  # forces completion of the step

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000)

    print(json.dumps({
        "framework": "pytorch",
        "version": torch.__version__,
        "model": args.model,
        "input": shape,
        "threads": args.threads,
        "warmup_steps": args.warmup,
        "timed_steps": args.steps,
        "median_ms": round(statistics.median(times), 3),
        "min_ms": round(min(times), 3),
        "max_ms": round(max(times), 3),
        "parameters": sum(p.numel() for p in model.parameters()),
        "cpu": cpu_model(),
    }))


if __name__ == "__main__":
    main()
