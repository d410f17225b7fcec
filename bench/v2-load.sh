#!/usr/bin/env bash
# The Open Inference Protocol's cost, on a real `graft serve` (default flags) with EfficientNet-Lite0, in one run:
# - one 224×224 JPEG per request: POST /predict (raw image body) beside POST /v2/models/.../infer with the body
#   tritonclient sends for the same image (BYTES input, binary data, top-5 classification), wrk at 1 and 8 clients;
# - a preprocessed FP32 batch of 32 through V2 (binary tensor in, binary logits out), images/s beside
#   `graft bench inference efficientnet-lite0 --batch 32` at the same thread count.
# Needs wrk (scripts/setup --bench), the model (scripts/fetch-efficientnet-lite0) and tritonclient
# (scripts/setup-v2-client-venv). Usage: bench/v2-load.sh [--seconds 10]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=10
[[ "${1:-}" == "--seconds" ]] && seconds="$2"
command -v wrk >/dev/null || { echo "bench/v2-load.sh: wrk is missing; run scripts/setup --bench" >&2; exit 1; }
source bench/graft-binary.sh
GRAFT="$graft" scripts/fetch-efficientnet-lite0 >/dev/null
scripts/setup-v2-client-venv >/dev/null
photo=var/cache/sample-photos/china.jpg
work="$(mktemp -d)"
server=""
cleanup() { [[ -n "$server" ]] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
sizes=$(var/v2-client-venv/bin/python bench/v2_bodies.py "$work" "$photo" 32,3,224,224)
image_header=$(awk '$1 == "image" {print $2}' <<<"$sizes")
batch_header=$(awk '$1 == "batch" {print $2}' <<<"$sizes")

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

cat > "$work/post.lua" <<'LUA'
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*all")
f:close()
wrk.headers["Content-Type"] = os.getenv("CONTENT_TYPE")
if os.getenv("HEADER_LENGTH") ~= "" then wrk.headers["Inference-Header-Content-Length"] = os.getenv("HEADER_LENGTH") end
done = function(summary, latency, requests)
    io.write(string.format("RESULT %.1f %.2f %.2f %d\n", summary.requests / (summary.duration / 1e6),
        latency:percentile(50) / 1000, latency:percentile(99) / 1000,
        summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA
run() {  # label path content-type body header-length clients
    local threads=$(( $6 < 2 ? 1 : 2 ))
    BODY_FILE="$4" CONTENT_TYPE="$3" HEADER_LENGTH="$5" wrk -t"$threads" -c"$6" -d2s -s "$work/post.lua" "$base$2" >/dev/null
    local r
    r=$(BODY_FILE="$4" CONTENT_TYPE="$3" HEADER_LENGTH="$5" wrk -t"$threads" -c"$6" -d"${seconds}s" --latency \
        -s "$work/post.lua" "$base$2" | sed -n 's/^RESULT //p')
    echo "$1 $6 $r"
}
v2=/v2/models/efficientnet-lite0/infer
{
    for clients in 1 8; do
        run predict /predict?model=efficientnet-lite0 image/jpeg "$photo" "" "$clients"
        run v2-image "$v2" application/octet-stream "$work/v2-image.body" "$image_header" "$clients"
    done
    run v2-batch32 "$v2" application/octet-stream "$work/v2-batch.body" "$batch_header" 1
} > "$work/rows.txt"
threads=$(nproc)  # a prediction lane of graft serve uses every core when no job runs
"$graft" bench inference efficientnet-lite0 --batch 32 --threads "${threads:-2}" --seconds "$seconds" --json > "$work/engine.json"
/usr/bin/python3 - "$work/rows.txt" "$work/engine.json" <<'PY'
import json, sys
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown CPU")
print("V2 vs /predict, EfficientNet-Lite0, CPU: %s, load average %s" % (cpu, " ".join(open("/proc/loadavg").read().split()[:3])))
rows = {}
for line in open(sys.argv[1]):
    name, clients, rps, p50, p99, errors = line.split()
    rows[(name, int(clients))] = (float(rps), float(p50), float(p99), int(errors))
print("%-22s %8s %10s %9s %9s %7s %s" % ("request", "clients", "req/s", "p50 ms", "p99 ms", "errors", "V2 ÷ /predict"))
for clients in (1, 8):
    base = rows[("predict", clients)][0]
    for name in ("predict", "v2-image"):
        rps, p50, p99, errors = rows[(name, clients)]
        print("%-22s %8d %10.1f %9.2f %9.2f %7d %s" % (name, clients, rps, p50, p99, errors,
                                                    "%.2f" % (rps / base) if name != "predict" else ""))
engine = json.loads(open(sys.argv[2]).read().splitlines()[-1])
rps = rows[("v2-batch32", 1)][0]
print("V2 FP32 batch 32: %.1f images/s; graft bench inference batch 32 (%d threads): %.1f images/s; ratio %.2f" % (
    rps * 32, engine["threads"], engine["images_per_s"], rps * 32 / engine["images_per_s"]))
PY
