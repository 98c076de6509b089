#!/usr/bin/env bash
# The HTTP door under wrk (issue 5): GET and PUT of /v1/kv/{key} and Nomad's GET
# /nomad/storage/get/{id}, with keep-alive connections, once with persistence off
# (data.durability=none) and once with an fsync before every acknowledged write
# (durability=always, group commit).
#   bench/http.sh [RUNS] [SECONDS]   RUNS runs of SECONDS each (default 3 of 5 s); prints a
#   Markdown table of requests/s and latency (median of the runs). STOA=path/to/stoa picks the
#   binary (default build/release/stoa: make build). Needs wrk (scripts/deps.sh bench).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
SECONDS_PER_RUN=${2:-5}
CONNECTIONS=${CONNECTIONS:-50}
THREADS=${THREADS:-2}
STOA=${STOA:-build/release/stoa}
WORK=$(mktemp -d /tmp/stoa-bench-http-XXXXXX)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk is missing: scripts/deps.sh bench" >&2; exit 1; }
[ -x "$STOA" ] || { echo "$STOA is missing: make build" >&2; exit 1; }

# PUT: every request writes a 100-byte value to one of 10000 keys.
cat > "$WORK/put.lua" <<'LUA'
local counter = 0
local body = string.rep("v", 100)
request = function()
  counter = counter + 1
  return wrk.format("PUT", "/v1/kv/key:" .. (counter % 10000), nil, body)
end
LUA
# GET: reads one of 10000 keys.
cat > "$WORK/get.lua" <<'LUA'
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/v1/kv/key:" .. (counter % 10000))
end
LUA
cat > "$WORK/object.lua" <<'LUA'
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/nomad/storage/get/object:" .. (counter % 1000))
end
LUA

start_stoa() {
  # A new log per start: the old one would give the old port before the new one is written.
  rm -rf "$WORK/data" "$WORK/log"
  "$STOA" start --data-dir="$WORK/data" --listen.resp.port=0 --listen.geomys.port=0 \
    --listen.multiverse9.port=0 --listen.http.port=0 --data.durability="$1" \
    2>"$WORK/log" &
  SERVER_PID=$!
  for _ in $(seq 200); do
    PORT=$(grep -o '"http":"[^"]*"' "$WORK/log" 2>/dev/null | head -1 | sed 's/.*://; s/"//') || true
    [ -n "${PORT:-}" ] && return 0
    sleep 0.05
  done
  echo "stoa did not start" >&2; cat "$WORK/log" >&2; exit 1
}

stop_stoa() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

fill() {
  for i in $(seq 0 999); do
    if ! curl -s -f -o /dev/null -X POST "http://127.0.0.1:$PORT/nomad/storage/put" \
      -H 'Content-Type: application/json' -d "{\"id\":\"object:$i\",\"value\":\"AAECAwQ=\"}"; then
      echo "filling failed at object $i" >&2; cat "$WORK/log" >&2; exit 1
    fi
  done
}

# One wrk run: prints "requests/s p50_ms p99_ms".
run_wrk() {
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency -s "$WORK/$1.lua" \
    "http://127.0.0.1:$PORT" > "$WORK/wrk.out"
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.out")
  p50=$(awk '$1 == "50%" {print $2}' "$WORK/wrk.out")
  p99=$(awk '$1 == "99%" {print $2}' "$WORK/wrk.out")
  if grep -q "Non-2xx" "$WORK/wrk.out"; then
    echo "wrk saw error responses:" >&2; cat "$WORK/wrk.out" >&2; exit 1
  fi
  echo "$rps $(to_ms "$p50") $(to_ms "$p99")"
}

to_ms() {
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n;
    else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}

median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

echo "| durability | request | requests/s | p50 ms | p99 ms |"
echo "|---|---|---|---|---|"
for durability in none always; do
  start_stoa "$durability"
  fill
  for test in put get object; do
    : > "$WORK/runs"
    for _ in $(seq "$RUNS"); do run_wrk "$test" >> "$WORK/runs"; done
    rps=$(awk '{print $1}' "$WORK/runs" | median)
    p50=$(awk '{print $2}' "$WORK/runs" | median)
    p99=$(awk '{print $3}' "$WORK/runs" | median)
    case $test in
      put) name="PUT /v1/kv/{key} (100 B)" ;;
      get) name="GET /v1/kv/{key}" ;;
      object) name="GET /nomad/storage/get/{id}" ;;
    esac
    printf '| %s | %s | %.0f | %s | %s |\n' "$durability" "$name" "$rps" "$p50" "$p99"
  done
  stop_stoa
done
