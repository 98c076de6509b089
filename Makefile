# stoa: the top-level entry points. CMake does the real work; these targets choose the
# build directory and type. See docs/HACKING.md.
#
#   make run    build (Release) and start one node with its data in ./data
#   make test   build with AddressSanitizer + UBSan and run every test tier
#   make build  Release build only          make debug  Debug build only
#   make tsan   ThreadSanitizer build + tests  make clean  remove build/
#   make deps   install the Debian packages the project needs (idempotent)
#   make bench-engine  the engine's benchmarks beside Redis (docs/performance.md)

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

.PHONY: all run test build debug asan tsan clean deps check-deps style bench-engine

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

clean:
	rm -rf build
