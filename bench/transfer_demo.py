#!/usr/bin/python3
"""The demo transfer task in PyTorch, as Graft's issue 4 states it, for bench/transfer-demo.sh.

Base: Graft's Models/fmnist-resnet8/weights.safetensors (ResNet-8 pretrained on Fashion-MNIST classes 0-4),
read here with a small safetensors parser. Task: classes 5-9, the first 100 training images per class, the
head replaced by a new Linear(64, 5), the backbone frozen (requires_grad False, BatchNorm in eval mode),
Adam lr 1e-2, batch 50, 30 epochs, shuffled every epoch; the standard recipe recomputes the frozen forward
every step. Evaluation on all 5 000 test images of classes 5-9. `--scratch` trains the same network from a
random initialisation with every layer trainable (BatchNorm in training mode), same optimizer and schedule.
Prints one JSON line: accuracy, seconds (wall time of data loading + training + evaluation), threads.

    /usr/bin/python3 bench/transfer_demo.py [--weights Models/fmnist-resnet8/weights.safetensors] [--scratch]
"""
import argparse
import gzip
import json
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FOLDER = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530


def read_idx(path):
    """An IDX file (gzipped) as a numpy array of uint8."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_split(split, classes, per_class=None):
    images = read_idx(f"{FOLDER}/{split}-images-idx3-ubyte.gz")
    labels = read_idx(f"{FOLDER}/{split}-labels-idx1-ubyte.gz")
    keep, taken = [], {c: 0 for c in classes}
    for i, label in enumerate(labels):
        label = int(label)
        if label in taken and (per_class is None or taken[label] < per_class):
            taken[label] += 1
            keep.append(i)
    x = torch.from_numpy(images[keep].astype(np.float32) / 255.0).unsqueeze(1)
    x = (x - MEAN) / STD
    y = torch.tensor([classes.index(int(labels[i])) for i in keep])
    return x, y


def read_safetensors(path):
    """name -> float32 tensor, from the format's 8-byte header length, JSON header and raw little-endian data."""
    with open(path, "rb") as f:
        blob = f.read()
    length = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + length])
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", name
        start, end = info["data_offsets"]
        array = np.frombuffer(blob, dtype="<f4", count=(end - start) // 4, offset=8 + length + start)
        tensors[name] = torch.from_numpy(array.copy()).reshape(info["shape"])
    return tensors


class Net(nn.Module):
    """ResNet-8 with Graft's node names as attribute names, so state-dict keys match weights.safetensors."""

    def __init__(self, classes):
        super().__init__()
        def conv(cin, cout, k, s):
            return nn.Conv2d(cin, cout, k, s, k // 2, bias=False)
        self.conv1, self.bn1 = conv(1, 16, 3, 1), nn.BatchNorm2d(16)
        self.blocks = []
        for i, (cin, cout, s) in enumerate([(16, 16, 1), (16, 32, 2), (32, 64, 2)], start=1):
            p = f"layer{i}"
            setattr(self, f"{p}_conv1", conv(cin, cout, 3, s))
            setattr(self, f"{p}_bn1", nn.BatchNorm2d(cout))
            setattr(self, f"{p}_conv2", conv(cout, cout, 3, 1))
            setattr(self, f"{p}_bn2", nn.BatchNorm2d(cout))
            down = s != 1 or cin != cout
            if down:
                setattr(self, f"{p}_down_conv", conv(cin, cout, 1, s))
                setattr(self, f"{p}_down_bn", nn.BatchNorm2d(cout))
            self.blocks.append((p, down))
        self.fc = nn.Linear(64, classes)

    def features(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        for p, down in self.blocks:
            g = lambda name: getattr(self, f"{p}_{name}")
            y = F.relu(g("bn1")(g("conv1")(x)))
            y = g("bn2")(g("conv2")(y))
            shortcut = g("down_bn")(g("down_conv")(x)) if down else x
            x = F.relu(y + shortcut)
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)

    def forward(self, x):
        return self.fc(self.features(x))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", default="Models/fmnist-resnet8/weights.safetensors")
    parser.add_argument("--scratch", action="store_true")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    start = time.perf_counter()
    classes = [5, 6, 7, 8, 9]
    x, y = load_split("train", classes, per_class=100)
    test_x, test_y = load_split("t10k", classes)
    model = Net(len(classes))
    if not args.scratch:
        state = read_safetensors(args.weights)
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
        missing, unexpected = model.load_state_dict(state, strict=False)
        assert not unexpected and all(k.startswith("fc.") or k.endswith("num_batches_tracked") for k in missing), missing
        for name, p in model.named_parameters():
            p.requires_grad = name.startswith("fc.")
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=1e-2)
    for _ in range(args.epochs):
        model.train(args.scratch)  # frozen backbone: BatchNorm keeps its running statistics
        order = torch.randperm(len(y))
        for b in range(0, len(y), 50):
            idx = order[b:b + 50]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        correct = sum(int((model(test_x[i:i + 500]).argmax(1) == test_y[i:i + 500]).sum()) for i in range(0, len(test_y), 500))
    seconds = time.perf_counter() - start
    print(json.dumps({"recipe": "scratch" if args.scratch else "frozen-backbone", "accuracy": correct / len(test_y),
                      "seconds": round(seconds, 3), "threads": args.threads, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
