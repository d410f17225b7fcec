#!/usr/bin/env bash
# Load test of GET /health: `graft serve` as shipped (default flags, info log level: an access-log line per request,
# JSON body, request ids, metrics) beside a minimal Hummingbird 2 app, and the stripped server (bench/http-bench:
# Graft's HTTPServer alone, plain "ok", no access log), side by side in one run. All are built in release (each in
# its own scratch folder), started on loopback, warmed up, then measured with wrk: keep-alive at 64 connections
# (requests/s, p99 latency) in alternating rounds, and at 512 connections (errors).
# Needs wrk (scripts/setup --bench). Environment: DURATION (seconds per measurement, default 10), ROUNDS
# (alternating measurement rounds, default 2), OUT (scratch and logs, default bench/out), GRAFT (a graft binary to
# use instead of building one), GRAFT_BEFORE (another graft binary, measured as a "before" row in the same run).
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "http-load: wrk is missing; run scripts/setup --bench" >&2; exit 1; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

echo "== building (release) =="
build() {  # package-path scratch-name product
    swift build -c release --package-path "$1" --scratch-path "$OUT/build-$2" --product "$3" >"$OUT/build-$2.log" 2>&1 \
        || { tail -30 "$OUT/build-$2.log" >&2; exit 1; }
    echo "$(swift build -c release --package-path "$1" --scratch-path "$OUT/build-$2" --show-bin-path)/$3"
}
if [[ -z "${GRAFT:-}" ]]; then GRAFT=$(build . graft graft); fi
stripped_bin=$(build bench/http-bench http-bench HTTPBench)
hummingbird_bin=$(build bench/hummingbird-health hummingbird HummingbirdHealth)

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

# name port: the rows, in the order they are measured each round.
names=(); ports=()
start_graft() {  # name port binary
    local data="$OUT/graft-serve-$2"
    rm -rf "$data"
    # Default flags but the per-client cap (64): wrk is one client, and its 512-connection run must not be refused.
    "$3" serve --port "$2" --data "$data" --max-connections-per-client 1024 >"$OUT/$1.log" 2>&1 & pids+=($!)
    names+=("$1"); ports+=("$2")
}
start_graft graft-serve 18083 "$GRAFT"
if [[ -n "${GRAFT_BEFORE:-}" ]]; then start_graft graft-serve-before 18084 "$GRAFT_BEFORE"; fi
"$stripped_bin" 18082 >"$OUT/http-bench.log" 2>&1 & pids+=($!); names+=(http-bench-stripped); ports+=(18082)
"$hummingbird_bin" 18081 >"$OUT/hummingbird.log" 2>&1 & pids+=($!); names+=(hummingbird); ports+=(18081)
for port in "${ports[@]}"; do
    for _ in $(seq 300); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
    curl -fs "http://127.0.0.1:$port/health" >/dev/null || { echo "server on $port does not answer /health" >&2; exit 1; }
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
for port in "${ports[@]}"; do measure "$port" 64 2 >/dev/null; done

echo "== 64 connections, ${DURATION}s x $ROUNDS rounds each, alternating =="
declare -A best best_p99
for round in $(seq "$ROUNDS"); do
    for index in "${!names[@]}"; do
        read -r rps p99 errors < <(measure "${ports[$index]}" 64 "$DURATION")
        printf "round %d  %-20s %8s req/s  p99 %7s ms  errors %s\n" "$round" "${names[$index]}" "$rps" "$p99" "$errors"
        if ((rps > ${best[${names[$index]}]:-0})); then best[${names[$index]}]=$rps; best_p99[${names[$index]}]=$p99; fi
    done
done

echo "== 512 connections, ${DURATION}s each =="
for index in "${!names[@]}"; do
    read -r rps p99 errors < <(measure "${ports[$index]}" 512 "$DURATION")
    printf "%-20s %8s req/s  p99 %7s ms  errors %s\n" "${names[$index]}" "$rps" "$p99" "$errors"
done

echo "== summary (best round at 64 connections, ratio to hummingbird) =="
for name in "${names[@]}"; do
    printf "%-20s %8s req/s  p99 %7s ms  ratio %s\n" "$name" "${best[$name]}" "${best_p99[$name]}" \
        "$(awk -v a="${best[$name]}" -v b="${best[hummingbird]}" 'BEGIN { printf "%.2f", a / b }')"
done
echo "target: graft-serve >= 1.20 and 0 errors at 512 connections"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores shared by servers and wrk"
