"""Writes the Pillow parity fixtures (Debian python3-pil 9.4; by hand, not in CI; PillowParityTests reads them):

- cases.json: every case, with what to decode or generate, what to do to it and the file holding Pillow's answer;
- expected/*.png: Pillow's answers, losslessly (8-bit grey or RGB PNGs);
- jpeg_*.jpg, png_*.png: small images cut from scikit-learn's two sample photos (CC BY 2.0, danielbuechele and
  vultilion on Flickr, as shipped in Debian's python3-sklearn), in every JPEG and PNG kind Graft reads.

Operations, each Pillow's or torchvision's own:
- "decode": Image.open(path).convert("RGB") (or "L"), the whole image;
- "resize": Image.resize((width, height), Image.BILINEAR, box);
- "pipeline": torchvision's evaluation transform for an input of size × size and a crop fraction, as timm builds it:
  Resize(floor(size / crop_fraction)) then CenterCrop(size), on the image converted to RGB (or L). torchvision is not
  in Debian 12, so its two functions are written out below from torchvision 0.14's transforms/functional.py:
  _compute_resized_output_size (the shorter side to the size, the longer to int(size * long / short)) and
  center_crop (offsets int(round((resized - size) / 2.0)), Python's round half to even).

Generated images are not stored: the Swift test computes the same pixels from the formula in `generated`.

With --weights PATH (the EfficientNet-Lite0 .pth that scripts/fetch-efficientnet-lite0 leaves in var/cache/) and
python3-torch, each photo file's "pipeline_224" case also records PyTorch's top-5 classes for those pixels.

    /usr/bin/python3 make_pillow_fixtures.py ../../../../var/cache/sample-photos \\
        [--weights ../../../../var/cache/efficientnet-lite0/efficientnet-lite0-57934424.pth]
"""
import argparse
import json
import math
import os
import struct
import sys
import zlib

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))


# MARK: - Generated images (the Swift test computes the same bytes)

def generated(width, height, channels, seed, noise_bits):
    """Smooth ramps that wrap (sharp edges) plus hashed noise of `noise_bits` bits:
    v = smooth · (256 − 2^n) / 256 + (hash >> (32 − n)), all in integers."""
    data = bytearray()
    for y in range(height):
        for x in range(width):
            for c in range(channels):
                smooth = (x * 255 // max(width - 1, 1) + y * 128 // max(height - 1, 1) + c * 60) % 256
                k = ((x * 73856093) ^ (y * 19349663) ^ (c * 83492791) ^ (seed * 2654435761)) & 0xFFFFFFFF
                k = (k * 2246822519) & 0xFFFFFFFF
                data.append(smooth * (256 - (1 << noise_bits)) // 256 + (k >> (32 - noise_bits)))
    return Image.frombytes("RGB" if channels == 3 else "L", (width, height), bytes(data))


# MARK: - torchvision's evaluation transform

def torchvision_resize(image, size):
    """torchvision.transforms.Resize(size) with an int size on a PIL image (BILINEAR, as torchvision defaults)."""
    w, h = image.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    return image.resize((new_w, new_h), Image.BILINEAR)


def torchvision_center_crop(image, size):
    w, h = image.size
    top = int(round((h - size) / 2.0))
    left = int(round((w - size) / 2.0))
    return image.crop((left, top, left + size, top + size))


def pipeline(image, size, crop_fraction, mode):
    image = image.convert(mode)
    return torchvision_center_crop(torchvision_resize(image, math.floor(size / crop_fraction)), size)


# MARK: - Photo-derived files in every kind

def raw_png(path, width, height, bit_depth, colour_type, rows, interlaced=False):
    """A PNG written by hand (Pillow 9.4 cannot write 16-bit colour or interlace): rows of big-endian samples,
    filter 0; with `interlaced`, Adam7 (only for whole-byte samples)."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 1 if interlaced else 0)
    if interlaced:
        step = len(rows[0]) // width  # bytes a pixel
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        scanlines = []
        for x0, y0, dx, dy in passes:
            if x0 >= width or y0 >= height:
                continue
            for y in range(y0, height, dy):
                scanlines.append(b"".join(rows[y][x * step:(x + 1) * step] for x in range(x0, width, dx)))
        rows = scanlines
    body = zlib.compress(b"".join(b"\x00" + row for row in rows), 9)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b""))


def sixteen_bit(image, alpha=None):
    """8-bit samples widened to 16 bits with a varying low byte, so that keeping the high byte matters."""
    pixels = list(image.getdata())
    channels = len(image.getbands())
    rows = []
    for y in range(image.size[1]):
        row = bytearray()
        for x in range(image.size[0]):
            values = pixels[y * image.size[0] + x]
            values = values if channels > 1 else (values,)
            if alpha is not None:
                values = tuple(values) + (alpha[y * image.size[0] + x],)
            for i, v in enumerate(values):
                row += struct.pack(">H", v * 256 + (x * 37 + y * 11 + i * 101) % 256)
        rows.append(bytes(row))
    return rows


def photo_files(photos):
    """Writes the photo-derived files and returns their names."""
    china = Image.open(os.path.join(photos, "china.jpg")).convert("RGB")
    flower = Image.open(os.path.join(photos, "flower.jpg")).convert("RGB")
    # odd sizes, neither a multiple of 8 nor 16: partial MCUs at the right and bottom edges
    jpeg_source = china.resize((83, 59), Image.BILINEAR)
    flower_source = flower.resize((71, 53), Image.BILINEAR)
    names = []

    def save_jpeg(name, image, **options):
        image.save(os.path.join(HERE, name), "JPEG", **options)
        names.append(name)

    save_jpeg("jpeg_baseline_420.jpg", jpeg_source, quality=90, subsampling=2)
    save_jpeg("jpeg_progressive_420.jpg", jpeg_source, quality=90, subsampling=2, progressive=True)
    save_jpeg("jpeg_baseline_444.jpg", flower_source, quality=92, subsampling=0)
    save_jpeg("jpeg_grey.jpg", flower_source.convert("L"), quality=90)
    save_jpeg("jpeg_cmyk.jpg", jpeg_source.convert("CMYK"), quality=90)  # Adobe (inverted) CMYK, as Pillow writes it

    small = china.crop((200, 60, 460, 250)).resize((41, 29), Image.BILINEAR)
    alpha = [(x * 4 + y * 3) % 256 if (x + y) % 7 else 0 for y in range(29) for x in range(41)]  # 0 included

    def save_png(name, image, **options):
        image.save(os.path.join(HERE, name), "PNG", optimize=True, **options)
        names.append(name)

    save_png("png_rgb8.png", small)
    rgba = small.copy()
    rgba.putalpha(Image.frombytes("L", small.size, bytes(alpha)))
    save_png("png_rgba8.png", rgba)
    save_png("png_grey8.png", small.convert("L"))
    la = small.convert("L").convert("LA")
    la.putalpha(Image.frombytes("L", small.size, bytes(alpha)))
    save_png("png_grey_alpha8.png", la)
    save_png("png_palette.png", small.convert("P", palette=Image.ADAPTIVE, colors=64))
    save_png("png_palette_trns.png", small.convert("P", palette=Image.ADAPTIVE, colors=16), transparency=3)
    def packed(values, bits):  # grey samples below 8 bits, packed high bits first, rows padded to a byte
        row = bytearray()
        for start in range(0, len(values), 8 // bits):
            byte = 0
            for i, v in enumerate(values[start:start + 8 // bits]):
                byte |= v << (8 - bits * (i + 1))
            row.append(byte)
        return bytes(row)
    grey = list(small.convert("L").getdata())
    raw_png(os.path.join(HERE, "png_grey4.png"), 41, 29, 4, 0, [packed([v >> 4 for v in grey[y * 41:(y + 1) * 41]], 4)
                                                                for y in range(29)])
    raw_png(os.path.join(HERE, "png_grey1.png"), 41, 29, 1, 0, [packed([v >> 7 for v in grey[y * 41:(y + 1) * 41]], 1)
                                                                for y in range(29)])
    raw_png(os.path.join(HERE, "png_rgb16.png"), 41, 29, 16, 2, sixteen_bit(small))
    raw_png(os.path.join(HERE, "png_rgba16.png"), 41, 29, 16, 6, sixteen_bit(small, alpha))
    raw_png(os.path.join(HERE, "png_grey_alpha16.png"), 41, 29, 16, 4, sixteen_bit(small.convert("L"), alpha))
    # 16-bit grey: Pillow reads mode I and clips to 0…255 on convert; small values keep some detail
    raw_png(os.path.join(HERE, "png_grey16.png"), 41, 29, 16, 0,
            [b"".join(struct.pack(">H", grey[y * 41 + x] * (1 + x % 3)) for x in range(41)) for y in range(29)])
    raw_png(os.path.join(HERE, "png_rgb8_interlaced.png"), 41, 29, 8, 2,
            [small.tobytes()[y * 41 * 3:(y + 1) * 41 * 3] for y in range(29)], interlaced=True)
    names += ["png_grey4.png", "png_grey1.png", "png_rgb8_interlaced.png", "png_rgb16.png", "png_rgba16.png", "png_grey_alpha16.png", "png_grey16.png"]
    return names


# MARK: - Cases

GENERATED_RESIZES = [
    # (width, height, channels, seed, noise bits, out width, out height, box or None)
    (37, 23, 3, 1, 6, 10, 7, None),
    (37, 23, 1, 2, 6, 10, 7, None),
    (5, 4, 3, 3, 6, 13, 9, None),  # upscaling
    (100, 30, 3, 4, 6, 7, 19, None),  # down in x, up in y
    (1, 50, 3, 5, 6, 1, 17, None),  # 1×N strips
    (50, 1, 3, 6, 6, 9, 1, None),
    (1, 40, 1, 7, 6, 3, 11, None),
    (1, 1, 3, 8, 6, 5, 3, None),
    (64, 48, 3, 9, 6, 64, 20, None),  # vertical pass only
    (33, 48, 3, 10, 6, 80, 48, None),  # horizontal pass only
    (301, 199, 3, 11, 6, 45, 67, None),
    (640, 480, 3, 12, 4, 91, 68, None),  # 7× down: wide support
    (17, 13, 3, 13, 6, 9, 11, (1.25, 0.5, 15.0, 12.25)),  # fractional box
    (40, 30, 1, 14, 6, 40, 30, (2.0, 3.0, 38.0, 27.0)),  # same size, integer box: both passes run
    (57, 31, 3, 15, 6, 57, 31, None),  # same size, no box: a copy
]

GENERATED_PIPELINES = [
    # (width, height, channels, seed, noise bits, size, crop fraction)
    (256, 256, 1, 20, 2, 224, 0.875),  # exactly 256: no resize, crop only
    (224, 224, 1, 21, 2, 224, 0.875),  # exactly 224: up to 256, then crop
    (256, 341, 1, 22, 2, 224, 0.875),  # shorter side exactly 256: the long side is kept, crop only
    (223, 300, 1, 23, 2, 224, 0.875),  # odd crop offset, round half to even
    (640, 427, 3, 24, 6, 64, 0.875),
    (427, 640, 3, 25, 6, 64, 0.875),
    (75, 75, 3, 26, 6, 64, 0.875),
    (73, 1001, 3, 27, 6, 64, 0.875),  # a tall strip
    (1001, 66, 3, 28, 6, 64, 0.875),
    (99, 77, 3, 29, 6, 32, 1.0),  # crop fraction 1: Resize(32) then CenterCrop(32)
    (30, 20, 3, 30, 6, 32, 0.9),  # upscaling everywhere; floor(32 / 0.9) = 35
]


# Files whose conversion to grey is worth its own check: luma from RGB (not the JPEG's Y), palette to grey, and
# Pillow's mode I clipping and LA;16B high byte.
GREY_DECODES = {"jpeg_baseline_420", "jpeg_grey", "png_rgb8", "png_palette", "png_grey16", "png_grey_alpha16"}


def write_expected(name, image):
    os.makedirs(os.path.join(HERE, "expected"), exist_ok=True)
    image.save(os.path.join(HERE, "expected", name + ".png"), "PNG", optimize=True)
    return "expected/" + name + ".png"


def top5_model(weights):
    if not weights:
        return None
    import torch
    sys.path.insert(0, os.path.join(HERE, "../../../NeuralNetworkTests/Fixtures"))
    import efficientnet_lite0_reference as reference
    model = reference.load(weights)

    def top5(image):
        pixels = torch.tensor(list(image.getdata()), dtype=torch.float32).reshape(image.size[1], image.size[0], 3)
        x = ((pixels - 127) / 128).permute(2, 0, 1).unsqueeze(0).contiguous()
        with torch.no_grad():
            return torch.topk(model(x), 5).indices[0].tolist()
    return top5


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("photos")
    parser.add_argument("--weights")
    args = parser.parse_args()
    top5 = top5_model(args.weights)
    cases = []
    for (w, h, c, seed, bits, ow, oh, box) in GENERATED_RESIZES:
        name = "resize_%dx%dx%d_to_%dx%d%s" % (w, h, c, ow, oh, "_box" if box else "")
        out = generated(w, h, c, seed, bits).resize((ow, oh), Image.BILINEAR, box=box)
        cases.append({"name": name,
                      "generated": {"width": w, "height": h, "channels": c, "seed": seed, "noise_bits": bits},
                      "resize": {"width": ow, "height": oh, "box": list(box) if box else None},
                      "expected": write_expected(name, out)})
    for (w, h, c, seed, bits, size, fraction) in GENERATED_PIPELINES:
        name = "pipeline_%dx%dx%d_to_%d_%s" % (w, h, c, size, fraction)
        mode = "RGB" if c == 3 else "L"
        out = pipeline(generated(w, h, c, seed, bits), size, fraction, mode)
        cases.append({"name": name,
                      "generated": {"width": w, "height": h, "channels": c, "seed": seed, "noise_bits": bits},
                      "pipeline": {"size": size, "crop_fraction": fraction, "channels": c},
                      "expected": write_expected(name, out)})
    for file in photo_files(args.photos):
        stem = os.path.splitext(file)[0]
        image = Image.open(os.path.join(HERE, file))
        cases.append({"name": stem + "_decode", "file": file, "decode": {"channels": 3},
                      "expected": write_expected(stem + "_decode", image.convert("RGB"))})
        if stem in GREY_DECODES:
            cases.append({"name": stem + "_decode_grey", "file": file, "decode": {"channels": 1},
                          "expected": write_expected(stem + "_decode_grey", image.convert("L"))})
        # at the model's own size, for PyTorch's top-5 (the pixels are the decode's, resized as the generated
        # cases check, so they are not stored again)
        if top5:
            cases.append({"name": stem + "_pipeline_224", "file": file,
                          "pipeline": {"size": 224, "crop_fraction": 0.875, "channels": 3},
                          "top5": top5(pipeline(image, 224, 0.875, "RGB"))})
    with open(os.path.join(HERE, "cases.json"), "w") as f:
        json.dump({"pillow": Image.__version__, "cases": cases}, f, indent=1)
        f.write("\n")
    print(len(cases), "cases")


if __name__ == "__main__":
    main()
