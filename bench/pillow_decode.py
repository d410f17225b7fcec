#!/usr/bin/env python3
"""Pillow side of bench/image-decode.sh: decode + prepare every JPEG in a folder for a SIZE x SIZE input the way a
PyTorch/torchvision evaluation pipeline does (Resize(floor(SIZE / 0.875)) then CenterCrop(SIZE), BILINEAR), on one
thread, and print images per second in the same format as imagebench. Two paths, as Graft's:
- reference: Image.open(...).convert("RGB"), the full decode (what torchvision's ImageFolder loader does);
- fast: Image.draft("RGB", ...) first (DCT scaling keeping twice the pixels the resize needs, libjpeg's fast IDCT
  and upsampling), Graft's fast_jpeg counterpart.
torchvision is not in Debian 12: its Resize and CenterCrop are written out below (torchvision 0.14's arithmetic)."""
import io
import math
import os
import sys
import time

from PIL import Image

CROP = 0.875


def transform(image: Image.Image, side: int) -> Image.Image:
    resized = math.floor(side / CROP)
    w, h = image.size
    short, long = (w, h) if w <= h else (h, w)
    new_long = int(resized * long / short)
    image = image.resize((resized, new_long) if w <= h else (new_long, resized), Image.BILINEAR)
    w, h = image.size
    top, left = int(round((h - side) / 2.0)), int(round((w - side) / 2.0))
    return image.crop((left, top, left + side, top + side))


def prepare(blob: bytes, side: int, path: str) -> Image.Image:
    image = Image.open(io.BytesIO(blob))
    if path == "fast":
        needed = math.ceil(2 * side / CROP)  # what Graft's decode options ask: 2x the kept part of 256 per side
        image.draft("RGB", (needed, needed))
    return transform(image.convert("RGB"), side)


def compare(jpeg: str, ppm: str, side: int, path: str) -> None:
    """Mean and largest absolute difference between Graft's result (a PPM) and Pillow's for the same file."""
    ours = Image.open(ppm).tobytes()
    theirs = prepare(open(jpeg, "rb").read(), side, path).tobytes()
    differences = [abs(a - b) for a, b in zip(ours, theirs)]
    print(f"agreement {path} {os.path.basename(jpeg)}: mean |graft - pillow| = "
          f"{sum(differences) / len(differences):.3f} levels, max {max(differences)}")


def main() -> None:
    if sys.argv[1] == "--compare":
        compare(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
        return
    folder, side, repeats, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.lower().endswith(".jpg"))
    # Read bytes up front, as imagebench does, so both sides measure decoding and resizing only.
    blobs = [open(path, "rb").read() for path in files]
    checksum = 0
    start = time.perf_counter()
    for _ in range(repeats):
        for blob in blobs:
            out = prepare(blob, side, path)
            checksum += out.getpixel((0, 1))[0]
    seconds = time.perf_counter() - start
    count = len(files) * repeats
    print(f"pillow path={path} images={count} seconds={seconds:.3f} images_per_second={count / seconds:.2f} "
          f"threads=1 checksum={checksum} version={Image.__version__}")


if __name__ == "__main__":
    main()
