#!/usr/bin/env python3
"""scikit-learn's digits (8×8, 0–16; Debian's python3-sklearn) as PNG class folders for bench/freeze-auto.sh: the
first N images of each class to train on (Graft validates on a split of them), every other image to test on.
Upscaled bilinearly to --size (28 for fmnist-resnet8). Usage: make_digits.py OUT --per-class 50 --size 28"""
import argparse
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--per-class", type=int, default=50)
    parser.add_argument("--size", type=int, default=28)
    args = parser.parse_args()
    digits = load_digits()
    seen = {}
    for index, (pixels, label) in enumerate(zip(digits.images, digits.target)):
        split = "train" if seen.get(label, 0) < args.per_class else "test"
        seen[label] = seen.get(label, 0) + 1
        folder = Path(args.out) / split / f"digit-{label}"
        folder.mkdir(parents=True, exist_ok=True)
        image = Image.fromarray((pixels * (255 / 16)).round().astype(np.uint8), mode="L")
        image.resize((args.size, args.size), Image.BILINEAR).save(folder / f"{index:04d}.png")


if __name__ == "__main__":
    main()
