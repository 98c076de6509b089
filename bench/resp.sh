#!/usr/bin/env bash
# stoa against Redis over RESP with redis-benchmark, side by side in one run (issue 4):
#   redis-benchmark -t set,get,incr,lpush,lpop -n 200000 -c 50, with -P 1 and -P 16,
#   once with persistence off on both (stoa data.durability=none, Redis no AOF/RDB), once
#   with an fsync before every acknowledged write on both (stoa durability=always with group
#   commit, Redis appendonly yes + appendfsync always).
# Each figure is the median of RUNS runs (default 3). Prints a Markdown table of ops/s and
# the ratio stoa/Redis. Usage: bench/resp.sh [RUNS]   (make bench-resp). Needs make build.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
REQUESTS=${REQUESTS:-200000}
TESTS=set,get,incr,lpush,lpop
STOA=build/release/stoa
WORK=$(mktemp -d /tmp/stoa-bench-resp-XXXXXX)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_ping() {
  for _ in $(seq 200); do
    redis-cli -p "$1" ping >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "server on port $1 did not answer" >&2
  exit 1
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

start_redis() { # $1 port, $2 persistence: off|fsync
  rm -rf "$WORK/redis"; mkdir -p "$WORK/redis"
  local persistence=(--save "" --appendonly no)
  if [ "$2" = fsync ]; then persistence=(--save "" --appendonly yes --appendfsync always); fi
  redis-server --port "$1" --bind 127.0.0.1 --dir "$WORK/redis" "${persistence[@]}" \
    --daemonize no >/dev/null 2>&1 &
  SERVER_PID=$!
  wait_ping "$1"
}

start_stoa() { # $1 port, $2 persistence: off|fsync
  rm -rf "$WORK/stoa"; mkdir -p "$WORK/stoa"
  local durability=none
  if [ "$2" = fsync ]; then durability=always; fi
  "$STOA" start --data-dir="$WORK/stoa" --listen.resp.port="$1" --data.durability=$durability \
    --listen.geomys.port=0 --log.level=warn 2>"$WORK/stoa.log" &
  SERVER_PID=$!
  wait_ping "$1"
}

# Prints "test rps" lines for one redis-benchmark run.
run_benchmark() { # $1 port, $2 pipeline
  redis-benchmark -p "$1" -t "$TESTS" -n "$REQUESTS" -c 50 -P "$2" --csv 2>/dev/null |
    tr -d '"' | awk -F, 'NR > 1 { print $1, $2 }'
}

# One run on a fresh server: "test rps" lines.
measure_once() { # $1 server kind, $2 persistence, $3 pipeline
  local port
  port=$(free_port)
  "start_$1" "$port" "$2"
  run_benchmark "$port" "$3"
  stop_server
}

# Median per test of the "test rps" lines on standard input.
median_per_test() {
  sort -k1,1 -k2,2g | awk '
    { values[$1] = values[$1] " " $2 }
    END { for (t in values) { n = split(substr(values[t], 2), v, " "); print t, v[int((n + 1) / 2)] } }'
}

echo "| persistence | pipeline | command | Redis ops/s | stoa ops/s | stoa / Redis |"
echo "|---|---|---|---:|---:|---:|"
for persistence in off fsync; do
  for pipeline in 1 16; do
    : > "$WORK/redis.runs"
    : > "$WORK/stoa.runs"
    # Interleaved (Redis, stoa, Redis, stoa, ...) so a drift in the machine's state during
    # the run weighs on both alike.
    for run in $(seq "$RUNS"); do
      measure_once redis "$persistence" "$pipeline" >> "$WORK/redis.runs"
      measure_once stoa "$persistence" "$pipeline" >> "$WORK/stoa.runs"
    done
    median_per_test < "$WORK/redis.runs" | sort > "$WORK/redis.txt"
    median_per_test < "$WORK/stoa.runs" | sort > "$WORK/stoa.txt"
    join "$WORK/redis.txt" "$WORK/stoa.txt" | while read -r test redis stoa; do
      ratio=$(awk -v a="$stoa" -v b="$redis" 'BEGIN { printf "%.2f", a / b }')
      echo "| $persistence | $pipeline | $test | $redis | $stoa | $ratio |"
    done
  done
done
echo
echo "redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'), $REQUESTS requests, 50 clients, median of $RUNS runs"

# Memory for 1,000,000 small keys (key:<12 digits> -> 16 bytes), loaded with redis-cli --pipe
# into each server with persistence off: INFO's used_memory and the process's resident set.
KEYS=1000000
generate() {
  /usr/bin/python3 - "$KEYS" <<'PY'
import sys
out = sys.stdout.buffer
for i in range(int(sys.argv[1])):
    key = b"key:%012d" % i
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\n0123456789abcdef\r\n" % (len(key), key))
PY
}
generate > "$WORK/keys.resp"
memory_of() { # $1 server kind: prints "used_memory rss_bytes"
  local port
  port=$(free_port)
  "start_$1" "$port" off
  local rss_before used_before
  used_before=$(redis-cli -p "$port" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
  rss_before=$(awk '/VmRSS/ { print $2 * 1024 }' "/proc/$SERVER_PID/status")
  redis-cli -p "$port" --pipe < "$WORK/keys.resp" >/dev/null
  local used rss
  used=$(redis-cli -p "$port" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
  rss=$(awk '/VmRSS/ { print $2 * 1024 }' "/proc/$SERVER_PID/status")
  stop_server
  echo "$(( (used - used_before) / KEYS )) $(( (rss - rss_before) / KEYS ))"
}
read -r redis_used redis_rss < <(memory_of redis)
read -r stoa_used stoa_rss < <(memory_of stoa)
echo
echo "| 1,000,000 keys of 16 bytes | Redis | stoa | stoa / Redis |"
echo "|---|---:|---:|---:|"
echo "| used_memory growth per key, bytes | $redis_used | $stoa_used | $(awk -v a="$stoa_used" -v b="$redis_used" 'BEGIN { printf "%.2f", a / b }') |"
echo "| resident memory growth per key, bytes | $redis_rss | $stoa_rss | $(awk -v a="$stoa_rss" -v b="$redis_rss" 'BEGIN { printf "%.2f", a / b }') |"
