#!/usr/bin/env bash
# Decode + prepare a folder of generated 1–12 MP JPEGs for a 224×224 input (Resize(256) + CenterCrop(224)) with
# Graft (imagebench) and with Pillow (Debian python3-pil, installed by `scripts/setup --bench`) in one run, on both
# paths — reference (full decode, the default) and fast (DCT-scaled decode, `"fast_jpeg": true`) — and print
# images/s and both ratios. Both sides run single-threaded, alternate for ROUNDS rounds, and the best round of each
# counts (the machine is shared; the best round is the least disturbed one). A multi-threaded Graft figure is
# printed as well. Each path's pixels are checked against Pillow's on two files, and when the EfficientNet-Lite0
# weights are present (scripts/fetch-efficientnet-lite0) the top-1 of the two paths is compared on the generated
# JPEGs and on the sample photos enlarged to camera size.
#   bench/image-decode.sh [COUNT] [REPEAT] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-24}"
repeats="${2:-3}"
rounds="${3:-3}"
out="bench/out/jpegs"
scratch="${SCRATCH_PATH:-.build}"
python=/usr/bin/python3
"$python" -c "import PIL" 2>/dev/null || { echo "Pillow missing: run scripts/setup --bench" >&2; exit 1; }

swift build -c release --scratch-path "$scratch" --product imagebench >/dev/null
bin="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/imagebench"
if [[ ! -d "$out" ]] || (( $(ls "$out" | wc -l) != count )); then
    rm -rf "$out"
    "$bin" generate "$out" --count "$count" --seed 1
fi

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; $count JPEGs × $repeats per round"
rate() { sed -E 's/.*images_per_second=([0-9.]+).*/\1/'; }
declare -A best=([graft-reference]=0 [pillow-reference]=0 [graft-fast]=0 [pillow-fast]=0)
for ((round = 1; round <= rounds; round++)); do
    for path in reference fast; do
        g="$("$bin" run "$out" --size 224 --repeat "$repeats" --threads 1 --path "$path")"
        p="$("$python" bench/pillow_decode.py "$out" 224 "$repeats" "$path")"
        echo "round $round: $g"
        echo "round $round: $p"
        best[graft-$path]=$(python3 -c "print(max(${best[graft-$path]}, $(rate <<<"$g")))")
        best[pillow-$path]=$(python3 -c "print(max(${best[pillow-$path]}, $(rate <<<"$p")))")
    done
done
for path in reference fast; do echo "$("$bin" run "$out" --size 224 --repeat "$repeats" --threads "$(nproc)" --path "$path")"; done
first="$(ls "$out" | head -1)" last="$(ls "$out" | tail -1)"
for path in reference fast; do
    for f in "$first" "$last"; do
        "$bin" dump "$out/$f" "bench/out/graft-$path-$f.ppm" --path "$path"
        "$python" bench/pillow_decode.py --compare "$out/$f" "bench/out/graft-$path-$f.ppm" 224 "$path"
    done
done
for path in reference fast; do
    g=${best[graft-$path]} p=${best[pillow-$path]}
    echo "$path path: best graft $g images/s, best pillow $p images/s (1 thread each);" \
        "ratio graft/pillow $(python3 -c "print(f'{$g / $p:.2f}')")x"
done

# Top-1 of the fast path against the reference path, with the real model.
model=Models/efficientnet-lite0
if [[ -f "$model/weights.safetensors" && -f var/cache/sample-photos/china.jpg ]]; then
    photos=bench/out/photos
    mkdir -p "$photos"
    # the two sample photos (640×427) as they are, and each enlarged 3× and 6× (2.5 and 9.8 MP, JPEG quality 90)
    cp var/cache/sample-photos/china.jpg var/cache/sample-photos/flower.jpg "$photos/"
    "$python" - "$photos" <<'PY'
import sys
from PIL import Image
for name in ["china", "flower"]:
    image = Image.open(f"var/cache/sample-photos/{name}.jpg").convert("RGB")
    for scale in [3, 6]:
        image.resize((image.width * scale, image.height * scale), Image.BICUBIC).save(
            f"{sys.argv[1]}/{name}-x{scale}.jpg", quality=90)
PY
    "$bin" agree "$model" "$out"/*.jpg "$photos"/*.jpg
fi

# On a busy machine wall-clock rounds are noisy; INSTRUCTIONS=1 also counts instructions per pass with
# callgrind (identical for the same binary and inputs), taking the difference of 2 passes and 1 pass so that
# process start-up (Python's in particular) cancels out.
if [[ "${INSTRUCTIONS:-0}" == "1" ]] && command -v valgrind >/dev/null; then
    irefs() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 | sed -nE 's/.*I +refs: +([0-9,]+).*/\1/p' | tr -d ,; }
    for path in reference fast; do
        g1=$(irefs "$bin" run "$out" --repeat 1 --path "$path") g2=$(irefs "$bin" run "$out" --repeat 2 --path "$path")
        p1=$(irefs "$python" bench/pillow_decode.py "$out" 224 1 "$path") p2=$(irefs "$python" bench/pillow_decode.py "$out" 224 2 "$path")
        echo "$path: instructions per pass: graft $((g2 - g1)), pillow $((p2 - p1)); ratio pillow/graft:" \
            "$(python3 -c "print(f'{($p2 - $p1) / ($g2 - $g1):.2f}')")x"
    done
fi
