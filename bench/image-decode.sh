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

# On a busy machine wall-clock rounds are noisy; INSTRUCTIONS=1 also counts instructions per pass with
# callgrind (identical for the same binary and inputs), taking the difference of 2 passes and 1 pass so that
# process start-up (Python's in particular) cancels out.
if [[ "${INSTRUCTIONS:-0}" == "1" ]] && command -v valgrind >/dev/null; then
    irefs() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 | sed -nE 's/.*I +refs: +([0-9,]+).*/\1/p' | tr -d ,; }
    g1=$(irefs "$bin" run "$out" --repeat 1) g2=$(irefs "$bin" run "$out" --repeat 2)
    p1=$(irefs "$python" bench/pillow_decode.py "$out" 224 1) p2=$(irefs "$python" bench/pillow_decode.py "$out" 224 2)
    echo "instructions per pass: graft $((g2 - g1)), pillow $((p2 - p1)); ratio pillow/graft:" \
        "$(python3 -c "print(f'{($p2 - $p1) / ($g2 - $g1):.2f}')")x"
fi
