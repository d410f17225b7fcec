#!/usr/bin/env bash
# Decode + resize a folder of generated 1–12 MP JPEGs to 224×224 with Graft (imagebench) and with Pillow
# (Debian python3-pil, installed by `scripts/setup --bench`) in one run, and print images/s and the ratio.
# Both sides run single-threaded, alternate for ROUNDS rounds, and the best round of each counts (the machine
# is shared; the best round is the least disturbed one). A multi-threaded Graft figure is printed as well.
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
best_graft=0 best_pillow=0
for ((round = 1; round <= rounds; round++)); do
    g="$("$bin" run "$out" --size 224 --repeat "$repeats" --threads 1)"
    p="$("$python" bench/pillow_decode.py "$out" 224 "$repeats")"
    echo "round $round: $g"
    echo "round $round: $p"
    best_graft=$(python3 -c "print(max($best_graft, $(rate <<<"$g")))")
    best_pillow=$(python3 -c "print(max($best_pillow, $(rate <<<"$p")))")
done
echo "$("$bin" run "$out" --size 224 --repeat "$repeats" --threads "$(nproc)")"
first="$(ls "$out" | head -1)" last="$(ls "$out" | tail -1)"
for f in "$first" "$last"; do
    "$bin" dump "$out/$f" "bench/out/graft-$f.ppm"
    "$python" bench/pillow_decode.py --compare "$out/$f" "bench/out/graft-$f.ppm" 224
done
echo "best graft: $best_graft images/s, best pillow: $best_pillow images/s (1 thread each)"
echo "ratio graft/pillow: $(python3 -c "print(f'{$best_graft / $best_pillow:.2f}')")x"
