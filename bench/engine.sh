#!/usr/bin/env bash
# The engine's figures (issue 3), each the median of RUNS runs, printed as a Markdown table:
#   - apply: SETs of distinct keys applied with no log (durability none), ops/s
#   - durable appends/s with durability=always against the batch size (one fdatasync per
#     batch: group commit)
#   - snapshot write and load MB/s (a background snapshot of COUNT keys, then a restart)
#   - memory per key for 1,000,000 keys with 16-byte values, beside Redis's used_memory for
#     the same keys loaded into a redis-server started here, in the same run
# Usage: bench/engine.sh [RUNS]   (make bench-engine). Needs a Release build (make build).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
TOOL=build/release/stoa-engine-tool
KEYS=1000000
WORK=$(mktemp -d /tmp/stoa-bench-XXXXXX)
REDIS_PID=""
cleanup() {
  if [ -n "$REDIS_PID" ]; then kill "$REDIS_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# Runs a tool benchmark RUNS times in fresh directories; prints the median of field $2.
median() {
  local field=$1; shift
  for run in $(seq "$RUNS"); do
    rm -rf "$WORK/d"; mkdir -p "$WORK/d"
    "$TOOL" bench "$1" "$WORK/d" "${@:2}" | tr ' ' '\n' | sed -n "s/^$field=//p"
  done | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

echo "| figure | value (median of $RUNS) |"
echo "|---|---|"
echo "| apply SET, ops/s ($KEYS keys, no log) | $(median ops_per_s apply $KEYS) |"
for batch in 1 8 64 512; do
  count=$((batch == 1 ? 5000 : 50000))
  echo "| durable appends/s, durability=always, batch $batch | $(median appends_per_s append $count $batch) |"
done
echo "| snapshot write, MB/s ($KEYS keys of 64 bytes) | $(median write_mb_per_s snapshot $KEYS) |"
echo "| snapshot load at start, MB/s | $(median load_mb_per_s snapshot $KEYS) |"
echo "| snapshot: parent stall for the fork, ms | $(median fork_ms snapshot $KEYS) |"
stoa_accounted=$(median accounted_per_key memory $KEYS)
stoa_rss=$(median rss_per_key memory $KEYS)

# Redis, same keys and values, persistence off.
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no \
  --dir "$WORK" >/dev/null 2>&1 &
REDIS_PID=$!
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
used() { redis-cli -p "$port" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p'; }
before=$(used)
/usr/bin/python3 - "$KEYS" <<'PY' | redis-cli -p "$port" --pipe >/dev/null
import sys
out = sys.stdout.buffer
for i in range(int(sys.argv[1])):
    key = b"key:%012d" % i
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\n0123456789abcdef\r\n" % (len(key), key))
PY
after=$(used)
redis_per_key=$(( (after - before) / KEYS ))
echo "| memory per key, stoa accounted (1M keys, 16-byte values) | $stoa_accounted |"
echo "| memory per key, stoa resident (RSS growth / keys) | $stoa_rss |"
echo "| memory per key, Redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') used_memory growth / keys | $redis_per_key |"
