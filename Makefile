# zonehost - the two-command quick start lives here:
#   make demo    install packages, build, make a pool, an image and zones
#   make check   install packages, build (-Werror), unit + fuzz-smoke + system tests
# Also: make (build), make install PREFIX=DIR, make bench, make clean.

PREFIX ?= /usr/local
BUILD  ?= build

.PHONY: all build deps check demo demo-clean install bench bench-deps bench-density bench-net bench-storage image-debian clean format

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

image-debian:
	./tools/mkimage-debian /var/tmp/zonehost-images

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-ci build-asan build-fuzz
