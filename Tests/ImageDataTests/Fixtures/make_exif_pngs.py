#!/usr/bin/env python3
"""Writes the PNG orientation fixtures: for each Exif orientation 1-8, `exif_N.png` (a 6x4 RGB image, every pixel
a different colour, saved with an eXIf chunk saying N) and `upright_N.png` (Pillow's ImageOps.exif_transpose of
it, saved without Exif). Graft must decode each exif_N.png to exactly the pixels of upright_N.png.

Needs Pillow (Debian's python3-pil, or bench/setup_venv.sh's venv). Not run in CI: its output is committed.
Usage: python3 make_exif_pngs.py [output folder, default: this script's folder]
"""
import io
import os
import sys

from PIL import Image, ImageOps

out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
width, height = 6, 4
stored = Image.new("RGB", (width, height))
stored.putdata([(40 * x + 5, 60 * y + 7, 10 * (x + y) + 100) for y in range(height) for x in range(width)])

for orientation in range(1, 9):
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    stored.save(buffer, format="PNG", exif=exif.tobytes())
    data = buffer.getvalue()
    assert b"eXIf" in data, "Pillow did not write an eXIf chunk"
    with open(os.path.join(out, f"exif_{orientation}.png"), "wb") as f:
        f.write(data)
    reopened = Image.open(io.BytesIO(data))
    assert reopened.getexif().get(0x0112) == orientation
    upright = ImageOps.exif_transpose(reopened)
    upright.save(os.path.join(out, f"upright_{orientation}.png"), format="PNG")
    print(orientation, reopened.size, "->", upright.size)
