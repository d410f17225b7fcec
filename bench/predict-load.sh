#!/usr/bin/env bash
# POST /predict under load, on a real `graft serve`: requests/s and latency p50/p99 at 1 and 8 concurrent clients
# (wrk, one image per request), first with the service idle, then while a long fine-tuning job trains (on every
# core). Models: the embedded fmnist-resnet8 (a 28×28 PNG) and, when present, efficientnet-lite0 (a photo).
# Prints a table; non-2xx answers are counted; last, the job's pace alone and while the rows ran. Needs
# `scripts/setup --bench` (wrk).
# Usage: bench/predict-load.sh [--seconds 10]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=10
[[ "${1:-}" == "--seconds" ]] && seconds="$2"
command -v wrk >/dev/null || { echo "bench/predict-load.sh: wrk is missing; run scripts/setup --bench" >&2; exit 1; }

source bench/graft-binary.sh
scripts/make-sample-dataset >/dev/null
work="$(mktemp -d)"
server=""
cleanup() {
    [[ -n "$server" ]] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

"$graft" serve --port 0 --data "$work/data" > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 300); do
    port=$(sed -n 's|.*Graft is serving http://[^:]*:\([0-9]*\).*|\1|p' "$work/serve.log" | head -n 1)
    [[ -n "$port" ]] && break
    sleep 0.1
done
[[ -n "${port:-}" ]] || { echo "graft serve did not start:" >&2; cat "$work/serve.log" >&2; exit 1; }
base="http://127.0.0.1:$port"
curl -sf "$base/ready" >/dev/null

# the images: a held-out Fashion-MNIST PNG, and a photo for the ImageNet model
png=$(find var/samples/fashion-5-9-heldout -name '*.png' | sort | head -n 1)
models=("fmnist-resnet8 image/png $png")
if curl -sf "$base/models/efficientnet-lite0" >/dev/null && [[ -f var/cache/sample-photos/china.jpg ]]; then
    models+=("efficientnet-lite0 image/jpeg var/cache/sample-photos/china.jpg")
else
    echo "(efficientnet-lite0 or its sample photo is absent: run scripts/fetch-efficientnet-lite0 to include it)"
fi

cat > "$work/post.lua" <<'LUA'
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*all")
f:close()
wrk.headers["Content-Type"] = os.getenv("CONTENT_TYPE")
done = function(summary, latency, requests)
    io.write(string.format("RESULT %.1f %.2f %.2f %d %d\n", summary.requests / (summary.duration / 1e6),
        latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests,
        summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
        + summary.errors.timeout))
end
LUA

measure() {  # model content-type file clients scenario
    local threads=$(( $4 < 2 ? 1 : 2 ))
    curl -sf -X POST -H "Content-Type: $2" --data-binary "@$3" "$base/predict?model=$1" >/dev/null  # warm
    local line
    line=$(BODY_FILE="$3" CONTENT_TYPE="$2" wrk -t "$threads" -c "$4" -d "${seconds}s" --timeout 10s \
        -s "$work/post.lua" "$base/predict?model=$1&top_k=3" | grep '^RESULT')
    read -r _ rps p50 p99 requests errors <<< "$line"
    printf "%-20s %-22s %7d %10.1f %9.2f %9.2f %9d %7d\n" "$1" "$5" "$4" "$rps" "$p50" "$p99" "$requests" "$errors"
}

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "POST /predict, one image per request, ${seconds} s per row; CPU: $cpu, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-20s %-22s %7s %10s %9s %9s %9s %7s\n" model scenario clients "req/s" "p50 ms" "p99 ms" requests errors
for entry in "${models[@]}"; do
    read -r model type file <<< "$entry"
    for clients in 1 8; do measure "$model" "$type" "$file" "$clients" "idle"; done
done

# A long job on the same service: the whole network trains (no feature cache), so the worker's core is busy.
curl -sf -X POST -H 'Content-Type: application/zip' --data-binary @var/samples/fashion-5-9.zip \
    "$base/datasets?name=load" >/dev/null
job=$(curl -sf -X POST -H 'Content-Type: application/json' \
    -d '{"hyperparameters": {"freeze": "none", "epochs": 500, "optimizer": "sgd", "learning_rate": 0.01}}' \
    "$base/jobs" | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
for _ in $(seq 1 100); do
    status=$(curl -sf "$base/jobs/$job" | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["status"])')
    [[ "$status" == running ]] && break
    sleep 0.2
done
# The job's own pace, from its global step count (batch 50, 8 full steps an epoch): alone, then while the rows run.
step_now() { curl -sf "$base/jobs/$job" | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["progress"]["step"])'; }
sleep 7  # past the first steps, and past the hold of a lane change the idle rows may have caused
alone_start=$(step_now); alone_time=$(date +%s.%N)
sleep 5
alone_steps=$(( $(step_now) - alone_start )); alone_seconds=$(echo "$(date +%s.%N) - $alone_time" | bc)
loaded_start=$(step_now); loaded_time=$(date +%s.%N)
for entry in "${models[@]}"; do
    read -r model type file <<< "$entry"
    for clients in 1 8; do measure "$model" "$type" "$file" "$clients" "job training"; done
done
loaded_steps=$(( $(step_now) - loaded_start )); loaded_seconds=$(echo "$(date +%s.%N) - $loaded_time" | bc)
status=$(curl -sf "$base/jobs/$job" | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["status"])')
printf "the job was '%s' at the end; it trained %.0f images/s alone and %.0f images/s while the rows above ran\n" \
    "$status" "$(echo "$alone_steps * 50 / $alone_seconds" | bc -l)" "$(echo "$loaded_steps * 50 / $loaded_seconds" | bc -l)"
curl -sf -X DELETE "$base/jobs/$job" >/dev/null || true
