"""Writes the EfficientNet-Lite0 parity fixtures from PyTorch (Debian python3-torch and python3-pil; by hand, not in CI):

- efficientnet_lite0_logits.safetensors: logits for one synthetic input, x[i] = sin(0.001·i) over the 1×3×224×224
  row-major buffer;
- efficientnet_lite0_photos.safetensors: for scikit-learn's two sample photos (scripts/fetch-efficientnet-lite0
  leaves them in var/cache/sample-photos/), the 224×224 RGB pixels as Pillow prepares them with the model's input
  spec (torchvision's Resize(256) + CenterCrop(224) on Pillow's full decode) and the logits for those pixels
  normalised as (pixel − 127) / 128; and the logits of two pseudo-random inputs the Swift test rebuilds exactly
  (see random_input);
- with --onnx PATH, the same model exported to ONNX (for bench/efficientnet-inference.sh; not committed).

The network is efficientnet_lite0_reference.py, written from the wheel's key names and
Models/efficientnet-lite0/ARCHITECTURE.md, independently of Graft's importer.

    /usr/bin/python3 make_efficientnet_lite0_fixtures.py ../../../var/cache/efficientnet-lite0/efficientnet-lite0-57934424.pth \\
        ../../../var/cache/sample-photos [--onnx ../../../var/efficientnet-lite0.onnx]
"""
import argparse
import json
import math
import os
import struct

import torch
from PIL import Image

import efficientnet_lite0_reference as reference

SIZE, CROP = 224, 0.875
PHOTOS = ["china", "flower"]
RANDOM_SEEDS = [1, 2]


def write_safetensors(path, tensors):
    """tensors: name -> (dtype, shape, bytes); keys sorted as the format's writers do."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        dtype, shape, data = tensors[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def floats(tensor):
    return ("F32", list(tensor.shape), struct.pack("<%df" % tensor.numel(), *tensor.flatten().tolist()))


def photo_pixels(path):
    """torchvision's evaluation transform on Pillow's full decode: Resize(256) (the shorter side to 256, the longer
    to int(256 · long / short), BILINEAR) then CenterCrop(224) (offsets int(round((resized − 224) / 2.0))), written
    out from torchvision 0.14's functional.py, which Debian 12 does not package; the same as
    Tests/ImageDataTests/Fixtures/pillow/make_pillow_fixtures.py."""
    image = Image.open(path).convert("RGB")
    w, h = image.size
    resized = math.floor(SIZE / CROP)
    short, long = (w, h) if w <= h else (h, w)
    new_long = int(resized * long / short)
    image = image.resize((resized, new_long) if w <= h else (new_long, resized), Image.BILINEAR)
    w, h = image.size
    top, left = int(round((h - SIZE) / 2.0)), int(round((w - SIZE) / 2.0))
    return image.crop((left, top, left + SIZE, top + SIZE))


def normalised(image):
    pixels = torch.tensor(list(image.getdata()), dtype=torch.float32).reshape(SIZE, SIZE, 3)
    return ((pixels - 127) / 128).permute(2, 0, 1).unsqueeze(0).contiguous()


def random_input(seed):
    """x[i] = ((i · 2654435761 + seed · 40503) mod 2³²) / 2³² · 4 − 2, in float64 then float32: a spread of values
    in [−2, 2) that Swift computes bit for bit."""
    n = 3 * SIZE * SIZE
    values = [((i * 2654435761 + seed * 40503) % 4294967296) / 4294967296 * 4 - 2 for i in range(n)]
    return torch.tensor(values, dtype=torch.float64).to(torch.float32).reshape(1, 3, SIZE, SIZE)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("pth")
    parser.add_argument("photos", nargs="?")
    parser.add_argument("--onnx")
    parser.add_argument("--onnx-only", action="store_true", help="only export the ONNX file")
    args = parser.parse_args()
    model = reference.load(args.pth)
    here = os.path.dirname(os.path.abspath(__file__))
    if args.onnx_only:
        export(model, args.onnx)
        return

    n = 3 * SIZE * SIZE
    sine = torch.tensor([math.sin(0.001 * i) for i in range(n)], dtype=torch.float64).to(torch.float32)
    with torch.no_grad():
        logits = model(sine.reshape(1, 3, SIZE, SIZE))
    write_safetensors(os.path.join(here, "efficientnet_lite0_logits.safetensors"), {"logits": floats(logits)})
    print("sine input: top-5", torch.topk(logits, 5).indices.tolist())

    tensors = {}
    for name in PHOTOS:
        image = photo_pixels(os.path.join(args.photos, name + ".jpg"))
        with torch.no_grad():
            logits = model(normalised(image))
        tensors[name + ".pixels"] = ("U8", [SIZE, SIZE, 3], image.tobytes())
        tensors[name + ".logits"] = floats(logits)
        print(name, "top-5", torch.topk(logits, 5).indices.tolist())
    for seed in RANDOM_SEEDS:
        with torch.no_grad():
            logits = model(random_input(seed))
        tensors["random%d.logits" % seed] = floats(logits)
        print("random", seed, "top-5", torch.topk(logits, 5).indices.tolist())
    write_safetensors(os.path.join(here, "efficientnet_lite0_photos.safetensors"), tensors)

    if args.onnx:
        export(model, args.onnx)


def export(model, path):
    """ONNX (opset 13) with a dynamic batch dimension, input "input", output "logits"."""
    torch.onnx.export(model, random_input(1), path, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13)
    print("ONNX:", path)


if __name__ == "__main__":
    main()
