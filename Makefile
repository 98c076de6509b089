# stoa: the top-level entry points. CMake does the real work; these targets choose the
# build directory and type. See docs/HACKING.md.
#
#   make run    build (Release) and start one node with its data in ./data
#   make test   build with AddressSanitizer + UBSan and run every test tier
#   make build  Release build only          make debug  Debug build only
#   make tsan   ThreadSanitizer build + tests  make clean  remove build/
#   make deps   install the Debian packages the project needs (idempotent)
#   make bench-engine  the engine's benchmarks beside Redis (docs/performance.md)
#   make bench-resp / bench-http / bench-quorum  RESP beside Redis, HTTP with wrk, a replica
#              group beside etcd (docs/performance.md)
#   make fuzz FUZZ_TARGET=name  libFuzzer on tests/fuzz/fuzz_<name>.c for FUZZ_SECONDS (60)
#   make fuzz-resp  the same for the RESP parser
#   make soak   the cluster simulator on new seeds until stopped; make sim-planted its planted bugs
#   make nemesis  five real members in network namespaces under faults for NEMESIS_SECONDS (600),
#              the histories checked (as root; docs/nemesis.md)

MAKEFLAGS += --no-print-directory

JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
CONFIG   ?=
DATA_DIR ?= ./data
CMAKE    ?= cmake
CTEST    ?= ctest

RELEASE_DIR := build/release
DEBUG_DIR   := build/debug
ASAN_DIR    := build/asan
TSAN_DIR    := build/tsan
FUZZ_DIR    := build/fuzz
FUZZ_SECONDS ?= 60
FUZZ_OPTIONS := -DCMAKE_C_COMPILER=clang -DSTOA_SANITIZE=address -DSTOA_FUZZ=ON

.PHONY: all run test build debug asan tsan clean deps check-deps style bench-engine bench-resp bench-http bench-quorum fuzz fuzz-resp

all: build

deps:
	@scripts/deps.sh

# Every build target first makes sure the packages are present; deps.sh only calls
# apt-get when one is missing.
check-deps:
	@scripts/deps.sh --check 2>/dev/null || scripts/deps.sh

define configure
	@mkdir -p $(1)
	@cd $(1) && $(CMAKE) -S $(CURDIR) -B . -DCMAKE_BUILD_TYPE=$(2) $(3) >/dev/null
endef

build: check-deps
	$(call configure,$(RELEASE_DIR),Release,)
	@$(CMAKE) --build $(RELEASE_DIR) -j $(JOBS)

debug: check-deps
	$(call configure,$(DEBUG_DIR),Debug,)
	@$(CMAKE) --build $(DEBUG_DIR) -j $(JOBS)

asan: check-deps
	$(call configure,$(ASAN_DIR),Debug,-DSTOA_SANITIZE=address)
	@$(CMAKE) --build $(ASAN_DIR) -j $(JOBS)

run: build
	@mkdir -p $(DATA_DIR)
	$(RELEASE_DIR)/stoa start --data-dir=$(DATA_DIR) $(if $(CONFIG),--config=$(CONFIG),)

test: asan
	@cd $(ASAN_DIR) && $(CTEST) --output-on-failure -j $(JOBS)

tsan: check-deps
	$(call configure,$(TSAN_DIR),Debug,-DSTOA_SANITIZE=thread)
	@$(CMAKE) --build $(TSAN_DIR) -j $(JOBS)
	@cd $(TSAN_DIR) && $(CTEST) --output-on-failure -j $(JOBS)

style:
	@/usr/bin/python3 scripts/style_check.py

# Benchmarks (not part of make test): the engine's figures beside Redis's, medians of 3.
bench-engine: build
	@scripts/deps.sh bench --check 2>/dev/null || scripts/deps.sh bench
	@bench/engine.sh 3

# stoa beside Redis under redis-benchmark, persistence off and fsync-always, medians of 3.
bench-resp: build
	@scripts/deps.sh bench --check 2>/dev/null || scripts/deps.sh bench
	@bench/resp.sh 3

# A 3-member stoa group beside a 3-member etcd cluster: durable quorum writes, medians of 3.
bench-quorum: build
	@scripts/deps.sh bench --check 2>/dev/null || scripts/deps.sh bench
	@bench/quorum.sh 3

# The HTTP door under wrk: GET and PUT, durability none and always (docs/performance.md).
bench-http: build
	@scripts/deps.sh bench --check 2>/dev/null || scripts/deps.sh bench
	@bench/http.sh 3

# Fuzzing (not part of make test, which replays the committed corpus): clang's libFuzzer with
# ASan and UBSan, for a bounded time. It starts from the committed corpus and writes what it
# learns to build/fuzz/corpus/<name> (copy an input worth keeping into tests/fuzz/corpus/);
# a crashing input is saved as build/fuzz/crash-<hash>.
# `make fuzz FUZZ_TARGET=<name>` runs tests/fuzz/fuzz_<name>.c (resp, resp_reply, geomys,
# commands, ...); `make fuzz-resp` is `make fuzz FUZZ_TARGET=resp`.
FUZZ_TARGET ?= resp
fuzz: check-deps
	@scripts/deps.sh fuzz --check 2>/dev/null || scripts/deps.sh fuzz
	$(call configure,$(FUZZ_DIR),Debug,$(FUZZ_OPTIONS))
	@$(CMAKE) --build $(FUZZ_DIR) -j $(JOBS) --target fuzz_$(FUZZ_TARGET)
	@mkdir -p $(FUZZ_DIR)/corpus/$(FUZZ_TARGET)
	$(FUZZ_DIR)/fuzz_$(FUZZ_TARGET) -max_total_time=$(FUZZ_SECONDS) \
		-artifact_prefix=$(FUZZ_DIR)/ $(FUZZ_DIR)/corpus/$(FUZZ_TARGET) \
		tests/fuzz/corpus/$(FUZZ_TARGET)

fuzz-resp:
	@$(MAKE) fuzz FUZZ_TARGET=resp

# The cluster simulator (docs/simulation.md), Release build. `make soak` runs seeds from
# SOAK_FIRST until stopped (Ctrl-C) or for SOAK_SECONDS (0 = no limit), printing seeds per
# hour and faults per kind every 30 s; `make sim-planted` checks that every planted bug is
# caught within SIM_PLANTED_SEEDS seeds.
SOAK_FIRST ?= 1000000
SOAK_SECONDS ?= 0
SIM_PLANTED_SEEDS ?= 1000
.PHONY: soak sim-planted
soak: build
	$(RELEASE_DIR)/stoa-sim --soak --seed $(SOAK_FIRST) --seconds $(SOAK_SECONDS)

sim-planted: build
	@tests/sim/test_planted.sh $(RELEASE_DIR)/stoa-sim $(SIM_PLANTED_SEEDS)

clean:
	rm -rf build

# The real-process nemesis (docs/nemesis.md), Release build, as root: five members in network
# namespaces under kills, pauses, partitions, packet loss and clock jumps for NEMESIS_SECONDS,
# then healed, converged and checked with stoa-check. Data, logs and histories stay in
# NEMESIS_DIR (a new temporary directory when empty).
NEMESIS_SECONDS ?= 600
NEMESIS_DIR ?=
.PHONY: nemesis
nemesis: build
	/usr/bin/python3 tests/nemesis/nemesis.py --stoa $(RELEASE_DIR)/stoa --duration $(NEMESIS_SECONDS) $(if $(NEMESIS_DIR),--dir $(NEMESIS_DIR),)
