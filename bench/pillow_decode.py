#!/usr/bin/env python3
"""Pillow side of bench/image-decode.sh: decode + resize every JPEG in a folder to SIZE x SIZE the way a
PyTorch/torchvision pipeline does (draft mode = DCT scaling, antialiased bilinear resize of the centre crop),
single-threaded, and print images per second in the same format as imagebench."""
import io
import os
import sys
import time

from PIL import Image


def prepare(blob: bytes, side: int) -> Image.Image:
    image = Image.open(io.BytesIO(blob))
    # DCT-domain scaling while keeping at least twice the pixels per side (Pillow's thumbnail() reducing_gap,
    # and what Graft's decode options ask for)
    image.draft("RGB", (2 * side, 2 * side))
    image = image.convert("RGB")
    width, height = image.size
    scale = max(side / width, side / height)  # shorter side to `side`, then the centre crop
    crop_w, crop_h = min(side / scale, width), min(side / scale, height)
    box = ((width - crop_w) / 2, (height - crop_h) / 2, (width + crop_w) / 2, (height + crop_h) / 2)
    return image.resize((side, side), Image.BILINEAR, box=box)


def compare(jpeg: str, ppm: str, side: int) -> None:
    """Mean absolute difference between Graft's result (a PPM) and Pillow's for the same file."""
    ours = Image.open(ppm).tobytes()
    theirs = prepare(open(jpeg, "rb").read(), side).tobytes()
    diff = sum(abs(a - b) for a, b in zip(ours, theirs)) / len(ours)
    print(f"agreement {os.path.basename(jpeg)}: mean |graft - pillow| = {diff:.2f} levels")


def main() -> None:
    if sys.argv[1] == "--compare":
        compare(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    folder, side, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.lower().endswith(".jpg"))
    # Read bytes up front, as imagebench does, so both sides measure decoding and resizing only.
    blobs = [open(path, "rb").read() for path in files]
    checksum = 0
    start = time.perf_counter()
    for _ in range(repeats):
        for blob in blobs:
            out = prepare(blob, side)
            checksum += out.getpixel((0, 1))[0]
    seconds = time.perf_counter() - start
    count = len(files) * repeats
    print(f"pillow images={count} seconds={seconds:.3f} images_per_second={count / seconds:.2f} threads=1 "
          f"checksum={checksum} version={Image.__version__}")


if __name__ == "__main__":
    main()
