#!/usr/bin/env bash
# Durable quorum writes: a 3-member stoa replica group against a 3-member etcd cluster, both on
# loopback, side by side in one run (issue 6). Every acknowledged write is on a majority's disk
# on both (stoa: chosen by Multi-Paxos with one journal fdatasync per batch on each member;
# etcd: committed by Raft with its WAL fsync).
#   - etcd over its HTTP/JSON gateway (POST /v3/kv/put), load from wrk;
#   - stoa over HTTP/JSON (PUT /v1/kv/{key}), load from wrk, when group members serve HTTP;
#   - stoa over RESP (SET, and INCR, whose reply depends on the state), load from
#     redis-benchmark, safe and fast writes (fast: answered once durable on the leader, before a
#     majority has them, INCR from the leader's speculative view; not a quorum write);
# each with 1 client and with 64 clients, sent to the leader. Then the cost of a safe
# (linearizable) read against a fast one on stoa: GET on the leader (safe, lease), on a
# follower (safe: forwarded to the leader) and on a follower with fast reads.
# Each figure is the median of RUNS runs (default 3) of DURATION seconds (default 10).
# Prints a Markdown table: ops/s, p50 and p99 in ms. Usage: bench/quorum.sh [RUNS]
# (make bench-quorum). Needs make build and scripts/deps.sh bench.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
DURATION=${DURATION:-10}
STOA=${STOA:-build/release/stoa}
WORK=$(mktemp -d /tmp/stoa-bench-quorum-XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

stop_all() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# ---- etcd ----

ETCD_CLIENT=()
start_etcd() {
  rm -rf "$WORK/etcd"; mkdir -p "$WORK/etcd"
  local peers=() cluster=""
  ETCD_CLIENT=()
  for i in 1 2 3; do
    ETCD_CLIENT+=("$(free_port)"); peers+=("$(free_port)")
    cluster+="${cluster:+,}e$i=http://127.0.0.1:${peers[$((i - 1))]}"
  done
  for i in 1 2 3; do
    etcd --name "e$i" --data-dir "$WORK/etcd/e$i" \
      --listen-client-urls "http://127.0.0.1:${ETCD_CLIENT[$((i - 1))]}" \
      --advertise-client-urls "http://127.0.0.1:${ETCD_CLIENT[$((i - 1))]}" \
      --listen-peer-urls "http://127.0.0.1:${peers[$((i - 1))]}" \
      --initial-advertise-peer-urls "http://127.0.0.1:${peers[$((i - 1))]}" \
      --initial-cluster "$cluster" --initial-cluster-state new \
      --initial-cluster-token bench --log-level error >"$WORK/etcd/e$i.log" 2>&1 &
    PIDS+=($!)
  done
  for _ in $(seq 300); do
    if ETCDCTL_API=3 etcdctl --endpoints="127.0.0.1:${ETCD_CLIENT[0]}" put ready 1 \
        >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  echo "etcd did not start" >&2; exit 1
}

etcd_leader_port() {
  for port in "${ETCD_CLIENT[@]}"; do
    if ETCDCTL_API=3 etcdctl --endpoints="127.0.0.1:$port" endpoint status -w json 2>/dev/null |
        /usr/bin/python3 -c 'import json,sys; s=json.load(sys.stdin)[0]["Status"]; sys.exit(0 if s["leader"] == s["header"]["member_id"] else 1)'; then
      echo "$port"; return 0
    fi
  done
  echo "${ETCD_CLIENT[0]}"
}

# ---- stoa ----

STOA_RESP=()
STOA_HTTP=()
start_stoa() { # $1: extra flags
  rm -rf "$WORK/stoa"; mkdir -p "$WORK/stoa"
  local peers=() members=""
  STOA_RESP=(); STOA_HTTP=()
  for i in 1 2 3; do
    peers+=("$(free_port)"); STOA_RESP+=("$(free_port)"); STOA_HTTP+=("$(free_port)")
    members+="${members:+,}$i=127.0.0.1:${peers[$((i - 1))]}"
  done
  for i in 1 2 3; do
    # shellcheck disable=SC2086
    "$STOA" start --data-dir="$WORK/stoa/n$i" --cluster.members="$members" --cluster.self="$i" \
      --cluster.secret=bench-secret-0123456789 --listen.peer.port="${peers[$((i - 1))]}" \
      --listen.resp.port="${STOA_RESP[$((i - 1))]}" --listen.http.port="${STOA_HTTP[$((i - 1))]}" \
      --listen.geomys.port=0 --listen.multiverse9.port=0 --log.level=warn $1 \
      2>"$WORK/stoa/n$i.log" &
    PIDS+=($!)
  done
  for _ in $(seq 300); do
    if [ -n "$(stoa_leader_index)" ]; then return 0; fi
    sleep 0.1
  done
  echo "stoa group did not elect a leader" >&2; exit 1
}

stoa_leader_index() { # the 0-based index of the member that leads, if any
  for i in 0 1 2; do
    if redis-cli -p "${STOA_RESP[$i]}" group status 2>/dev/null | tr '\n' ' ' |
        grep -q '^role leader '; then
      echo "$i"; return 0
    fi
  done
}

# ---- load ----

# wrk with a Lua script; prints "ops p50_ms p99_ms".
wrk_run() { # $1 clients, $2 url, $3 script
  wrk -t 1 -c "$1" -d "${DURATION}s" --latency -s "$3" "$2" 2>/dev/null | /usr/bin/python3 -c '
import re, sys
text = sys.stdin.read()
def ms(v):
    n, unit = re.match(r"([\d.]+)(us|ms|s)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
ops = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = ms(re.search(r"50%\s+(\S+)", text).group(1))
p99 = ms(re.search(r"99%\s+(\S+)", text).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if errors:
    sys.stderr.write("wrk: %s non-2xx responses\n" % errors.group(1))
print(ops, p50, p99)'
}

# redis-benchmark; prints "ops p50_ms p99_ms".
resp_run() { # $1 clients, $2 port, $3 test (set|get|incr)
  local requests=$(( $1 == 1 ? 2000 : 100000 ))
  redis-benchmark -p "$2" -t "$3" -c "$1" -n "$requests" -r 100000 --csv 2>/dev/null |
    /usr/bin/python3 -c '
import csv, sys
rows = list(csv.reader(sys.stdin))
row = rows[1]
print(row[1], row[4], row[6])'
}

cat >"$WORK/etcd_put.lua" <<'EOF'
counter = 0
request = function()
  counter = counter + 1
  local key = string.format("key%06d", counter % 100000)
  -- the gateway takes keys and values in base64 ("dmFsdWUt..." is "value-value-value")
  return wrk.format("POST", "/v3/kv/put", {["Content-Type"] = "application/json"},
                    string.format('{"key":"%s","value":"dmFsdWUtdmFsdWUtdmFsdWU="}', b64(key)))
end
local chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
function b64(data)
  return ((data:gsub(".", function(x)
    local r, b = "", x:byte()
    for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and "1" or "0") end
    return r
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then return "" end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return chars:sub(c + 1, c + 1)
  end) .. ({"", "==", "="})[#data % 3 + 1])
end
EOF

cat >"$WORK/stoa_put.lua" <<'EOF'
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("PUT", string.format("/v1/kv/key%06d", counter % 100000), {},
                    "value-value-value")
end
EOF

row() { # $1 system, $2 clients, then lines "ops p50 p99" on stdin
  local lines ops p50 p99
  lines=$(cat)
  ops=$(echo "$lines" | awk '{print $1}' | median)
  p50=$(echo "$lines" | awk '{print $2}' | median)
  p99=$(echo "$lines" | awk '{print $3}' | median)
  printf "| %s | %s | %.0f | %.2f | %.2f |\n" "$1" "$2" "$ops" "$p50" "$p99"
}

echo "| system | clients | ops/s | p50 ms | p99 ms |"
echo "|---|---|---|---|---|"
for clients in 1 64; do
  start_etcd
  port=$(etcd_leader_port)
  for _ in $(seq "$RUNS"); do
    wrk_run "$clients" "http://127.0.0.1:$port" "$WORK/etcd_put.lua"
  done | row "etcd 3.4, HTTP/JSON gateway, put" "$clients"
  stop_all

  start_stoa ""
  leader=$(stoa_leader_index)
  if curl -sf "http://127.0.0.1:${STOA_HTTP[$leader]}/healthz" >/dev/null 2>&1; then
    for _ in $(seq "$RUNS"); do
      wrk_run "$clients" "http://127.0.0.1:${STOA_HTTP[$leader]}" "$WORK/stoa_put.lua"
    done | row "stoa, HTTP/JSON, PUT /v1/kv" "$clients"
  else
    echo "| stoa, HTTP/JSON, PUT /v1/kv | $clients | not served by group members yet | | |"
  fi
  for _ in $(seq "$RUNS"); do
    resp_run "$clients" "${STOA_RESP[$leader]}" set
  done | row "stoa, RESP, SET" "$clients"
  for _ in $(seq "$RUNS"); do
    resp_run "$clients" "${STOA_RESP[$leader]}" incr
  done | row "stoa, RESP, INCR" "$clients"
  stop_all

  # Fast writes: acknowledged once durable on the leader (docs/replication.md).
  start_stoa "--node.storage.storageMode=fast"
  leader=$(stoa_leader_index)
  for _ in $(seq "$RUNS"); do
    resp_run "$clients" "${STOA_RESP[$leader]}" set
  done | row "stoa, RESP, SET, storageMode fast" "$clients"
  # INCR's reply depends on the state: answered from the leader's speculative view.
  for _ in $(seq "$RUNS"); do
    resp_run "$clients" "${STOA_RESP[$leader]}" incr
  done | row "stoa, RESP, INCR, storageMode fast (speculative)" "$clients"
  stop_all
done

# Safe reads against fast reads, 64 clients.
start_stoa ""
leader=$(stoa_leader_index)
follower=$(( (leader + 1) % 3 ))
redis-cli -p "${STOA_RESP[$leader]}" set key:__rand_int__ v >/dev/null
for _ in $(seq "$RUNS"); do resp_run 64 "${STOA_RESP[$leader]}" get; done |
  row "stoa, RESP, GET, safe, on the leader (lease)" 64
for _ in $(seq "$RUNS"); do resp_run 64 "${STOA_RESP[$follower]}" get; done |
  row "stoa, RESP, GET, safe, on a follower (forwarded)" 64
stop_all
start_stoa "--node.storage.retrievalMode=fast"
leader=$(stoa_leader_index)
follower=$(( (leader + 1) % 3 ))
for _ in $(seq "$RUNS"); do resp_run 64 "${STOA_RESP[$follower]}" get; done |
  row "stoa, RESP, GET, fast, on a follower" 64
stop_all
