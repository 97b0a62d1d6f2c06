# zonehost - the two-command quick start lives here:
#   make demo    install packages, build, make a pool, an image and zones
#   make check   install packages, build (-Werror), unit + fuzz-smoke + system tests
# Also: make (build), make install PREFIX=DIR, make bench, make clean.
#   make fuzz          every libFuzzer target FUZZ_MINUTES (default 10) minutes
#                      each on copies of its seed corpus; prints cov:/ft: reached
#   make bench-hvm     bench/hvm --runs 3: HVM boot time and memory, vmadm
#                      against bare QEMU (SeaBIOS and OVMF)
#   make bench-churn   bench/churn --cycles 10000 --zones 100: create/start/
#                      stop/delete cycles, before/after counts of host objects
#   make help          this list
# Crash-consistency test hook: ZONEHOST_CRASH_AT=<step> (docs/testing.md).

PREFIX ?= /usr/local
BUILD  ?= build

.PHONY: all build deps check demo demo-clean install bench bench-deps bench-density bench-net bench-storage bench-churn bench-hvm fuzz help image-debian clean format

all: build

deps:
	./tools/install-deps

$(BUILD)/build.ninja:
	meson setup $(BUILD) --prefix=$(abspath $(PREFIX)) --sbindir=sbin

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

check: deps
	./tools/check

demo: deps build
	./tools/demo

demo-clean:
	./tools/demo clean

install: $(BUILD)/build.ninja
	meson configure $(BUILD) -Dprefix=$(abspath $(PREFIX)) >/dev/null
	ninja -C $(BUILD)
	meson install -C $(BUILD) --no-rebuild

bench-deps:
	./tools/install-bench-deps

bench: build bench-deps
	./bench/run
	./bench/peers

bench-density: build
	./bench/density --count 1000

bench-net: build bench-deps
	./bench/net --zones 500

bench-storage: build
	./bench/storage --files 100000 --mib 512

CHURN_CYCLES ?= 10000
CHURN_ZONES  ?= 100
bench-churn: build
	./bench/churn --cycles $(CHURN_CYCLES) --zones $(CHURN_ZONES)

bench-hvm: build
	./bench/hvm --runs 3

FUZZ_MINUTES ?= 10
fuzz:
	FUZZ_MINUTES=$(FUZZ_MINUTES) ./tools/fuzz

help:
	@sed -n 's/^# \{0,1\}//p' Makefile | sed -n '1,/^Crash/p'

image-debian:
	./tools/mkimage-debian /var/tmp/zonehost-images

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-ci build-asan build-fuzz
