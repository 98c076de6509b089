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
)

bench_packages=(
  redis-server redis-tools    # the reference for bench/: Redis 7 and redis-cli, redis-benchmark
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
