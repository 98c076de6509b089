#!/usr/bin/env bash
# Installs the Debian packages stoa builds and tests with, idempotently.
#   scripts/deps.sh          install what is missing (apt-get, as root or through sudo)
#   scripts/deps.sh --check  exit 1 if anything is missing, installing nothing
#   scripts/deps.sh bench [--check]  the same for the benchmarks' extra packages (the
#                            reference servers they compare against), not needed to build or test
#   scripts/deps.sh fuzz [--check]   the same for the fuzzers' extra packages (make fuzz-resp)
# The list below is the single place where the project's system dependencies are named;
# docs/decisions/ says why each one was chosen.
set -euo pipefail

packages=(
  cmake make gcc pkg-config   # the build
  libuv1-dev                  # event loop, sockets, timers, files (src/os)
  libyaml-dev                 # config file parser (src/util/config.c)
  libxxhash-dev               # XXH3 hashing of map keys (src/util/map.c)
  libsodium-dev               # base64 codec now; Ed25519, BLAKE2b, random later
  libmsgpack-dev              # MessagePack for the Geomys front door (src/proto/geomys.c)
  libedit-dev                 # line editing and history for stoa cli (src/cli/repl.c)
  libcmocka-dev               # unit tests
  python3                     # the style check and integration tests (Debian's interpreter)
  procps                      # pgrep/ps for the integration tests
  python3-redis               # the Python Redis client the RESP integration tests drive
  redis-tools                 # redis-cli, driven by the RESP integration tests
  python3-msgpack             # the Geomys integration tests' client (tests/integration)
  libmicrohttpd-dev           # the HTTP/JSON front door (src/server/http_server.c)
  libjansson-dev              # JSON for the HTTP door (src/proto/http_json.c; docs/decisions/json.md)
  libhiredis-dev              # the Redis engine backend (src/backend/redis_backend.c; docs/decisions/hiredis.md)
  redis-server                # the Redis backend's integration test starts a real Redis (test_redis_backend.py)
  netcat-openbsd              # nc, for multiverse9's netcat examples (tests/integration/test_multiverse9.py)
  python3-cryptography        # Ed25519 signing in the multiverse9 permission tests (HELLO/AUTH)
  iproute2 nftables           # the nemesis's network namespaces, veth links and partitions (tests/nemesis)
  faketime                    # the nemesis's wall-clock jumps (libfaketime, tests/nemesis)
  chromium                    # the headless Swagger UI test (tests/integration/test_http_swagger.py)
                              # (web/: swagger-ui-dist comes from npm, with the machine's
                              # Node.js and npm, which the machine image provides)
)

bench_packages=(
  redis-server redis-tools    # the reference for bench/: Redis 7 and redis-cli, redis-benchmark
  wrk                         # the HTTP load generator of bench/http.sh
  etcd-server etcd-client     # the reference for bench/quorum.sh: a 3-member etcd cluster
  curl                        # bench/quorum.sh checks that a node serves HTTP
)

fuzz_packages=(
  clang                       # libFuzzer comes with clang (-fsanitize=fuzzer)
  libclang-rt-dev             # libFuzzer's runtime: clang only recommends it, and we install
                              # without recommends
)

if [ "${1:-}" = "bench" ]; then
  packages=("${bench_packages[@]}")
  shift
elif [ "${1:-}" = "fuzz" ]; then
  packages=("${fuzz_packages[@]}")
  shift
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${1:-}" = "--check" ]; then
  [ ${#missing[@]} -eq 0 ] && exit 0
  echo "deps: missing: ${missing[*]}" >&2
  exit 1
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "deps: installing: ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo)
  else
    echo "deps: not root and no sudo; install as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "deps: installed: ${missing[*]}"
