#!/usr/bin/env bash
# Load test of GET /health: Graft's HTTPServer against a minimal Hummingbird 2 app, side by side in one run.
# Both are built in release (each in its own scratch folder), started on loopback, warmed up, then measured
# with wrk: keep-alive at 64 connections (requests/s, p99 latency) and at 512 connections (errors).
# Needs wrk (scripts/setup --bench). Environment: DURATION (seconds per measurement, default 10),
# ROUNDS (alternating measurement rounds, default 2), OUT (scratch and logs, default bench/out).
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
OUT=${OUT:-bench/out}
GRAFT_PORT=${GRAFT_PORT:-18082}
HUMMINGBIRD_PORT=${HUMMINGBIRD_PORT:-18081}
mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "http-load: wrk is missing; run scripts/setup --bench" >&2; exit 1; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

echo "== building (release) =="
swift build -c release --package-path bench/http-bench --scratch-path "$OUT/build-http-bench" >"$OUT/build-http-bench.log" 2>&1 \
    || { tail -30 "$OUT/build-http-bench.log"; exit 1; }
swift build -c release --package-path bench/hummingbird-health --scratch-path "$OUT/build-hummingbird" \
    >"$OUT/build-hummingbird.log" 2>&1 || { tail -30 "$OUT/build-hummingbird.log"; exit 1; }
graft_bin="$(swift build -c release --package-path bench/http-bench --scratch-path "$OUT/build-http-bench" --show-bin-path)/HTTPBench"
hummingbird_bin="$(swift build -c release --package-path bench/hummingbird-health --scratch-path "$OUT/build-hummingbird" --show-bin-path)/HummingbirdHealth"

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

"$graft_bin" "$GRAFT_PORT" >"$OUT/graft-server.log" 2>&1 & pids+=($!)
"$hummingbird_bin" "$HUMMINGBIRD_PORT" >"$OUT/hummingbird-server.log" 2>&1 & pids+=($!)
for port in "$GRAFT_PORT" "$HUMMINGBIRD_PORT"; do
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
    [[ "$(curl -fs "http://127.0.0.1:$port/health")" == "ok" ]] || { echo "server on $port does not answer ok" >&2; exit 1; }
done

# Prints "rps p99_ms errors" for one wrk run.
measure() {
    local port=$1 connections=$2 seconds=$3 log
    log=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency "http://127.0.0.1:$port/health")
    echo "$log" >>"$OUT/wrk.log"
    echo "$log" | awk '
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
        /Requests\/sec/ { rps = $2 }
        /^ +99%/ { p99 = ms($2) }
        /Socket errors/ { gsub(",", ""); errors += $4 + $6 + $8 + $10 }
        /Non-2xx/ { errors += $5 }
        END { printf "%.0f %.3f %d\n", rps, p99, errors }'
}

: >"$OUT/wrk.log"
echo "== warm-up =="
measure "$GRAFT_PORT" 64 2 >/dev/null
measure "$HUMMINGBIRD_PORT" 64 2 >/dev/null

echo "== 64 connections, ${DURATION}s x $ROUNDS rounds each, alternating =="
best_graft=0; best_graft_p99=0; best_hb=0; best_hb_p99=0
for round in $(seq "$ROUNDS"); do
    read -r rps p99 errors < <(measure "$GRAFT_PORT" 64 "$DURATION")
    printf "round %d  graft        %8s req/s  p99 %7s ms  errors %s\n" "$round" "$rps" "$p99" "$errors"
    if ((rps > best_graft)); then best_graft=$rps; best_graft_p99=$p99; fi
    read -r rps p99 errors < <(measure "$HUMMINGBIRD_PORT" 64 "$DURATION")
    printf "round %d  hummingbird  %8s req/s  p99 %7s ms  errors %s\n" "$round" "$rps" "$p99" "$errors"
    if ((rps > best_hb)); then best_hb=$rps; best_hb_p99=$p99; fi
done

echo "== 512 connections, ${DURATION}s each =="
read -r graft512 graft512_p99 graft512_errors < <(measure "$GRAFT_PORT" 512 "$DURATION")
read -r hb512 hb512_p99 hb512_errors < <(measure "$HUMMINGBIRD_PORT" 512 "$DURATION")
printf "graft        %8s req/s  p99 %7s ms  errors %s\n" "$graft512" "$graft512_p99" "$graft512_errors"
printf "hummingbird  %8s req/s  p99 %7s ms  errors %s\n" "$hb512" "$hb512_p99" "$hb512_errors"

echo "== summary (best round at 64 connections) =="
ratio=$(awk -v a="$best_graft" -v b="$best_hb" 'BEGIN { printf "%.2f", a / b }')
printf "graft %s req/s (p99 %s ms), hummingbird %s req/s (p99 %s ms): ratio %s (target >= 0.80)\n" \
    "$best_graft" "$best_graft_p99" "$best_hb" "$best_hb_p99" "$ratio"
printf "512 connections: graft errors %s, hummingbird errors %s\n" "$graft512_errors" "$hb512_errors"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores shared by servers and wrk"
