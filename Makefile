# Makefile: the short commands around CMake. `make` builds, `make check` is what CI runs (four
# builds: gcc, clang, ASan+UBSan, TSan), `make bench` measures. It never builds anything itself:
# every compile goes through CMake, in build*/ directories only.
#
#   make / make build   deps, then a gcc Release build in build/  (build/ipcx, build/ipcx-bench,
#                       build/lib/libipcx.{so,a}, build/tests/<dir>_test_<name>)
#   make check          deps, then check-gcc, check-clang (shm timing perturbed), check-asan,
#                       check-tsan in turn; stops at the first failing step (`make -k check-gcc
#                       check-clang check-asan check-tsan` runs all four and reports each)
#   make demo           build, then `ipcx recv` and `ipcx send` pass one message between two processes
#   make test           ctest in build/ (no deps, no other builds)
#   make bench          deps --bench, build, run build/ipcx bench --report report $(BENCH_ARGS)
#                       (the README's first command: the table, and report/index.html)
#   make install        cmake --install build [--prefix $(PREFIX)]
#   make format         clang-format -i over the C sources;  make format-check: report only
#   make clean          remove the build directories
#
# Variables: JOBS (2), CTEST_TIMEOUT (600 s per test), PREFIX, BENCH_ARGS, ASAN_CC (clang).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build
# The check steps share two cores; never run them side by side, even under make -j.
.NOTPARALLEL:

JOBS ?= 2
CTEST_TIMEOUT ?= 600
PREFIX ?=
BENCH_ARGS ?=
ASAN_CC ?= clang
TSAN_CC ?= clang

CMAKE ?= cmake
CTEST ?= ctest
CONFIGURE = $(CMAKE) -S . -G "Unix Makefiles" -DIPCX_WERROR=ON
BUILD = $(CMAKE) --build
CTEST_RUN = $(CTEST) --output-on-failure --timeout $(CTEST_TIMEOUT) -j$(JOBS) --test-dir

ASAN_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
TSAN_ENV = TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
# Older TSan runtimes abort when the kernel randomises mmap more than they expect; running
# the tests without address-space randomisation avoids that and changes nothing else.
NORAND := $(shell setarch $$(uname -m) -R true >/dev/null 2>&1 && echo "setarch $$(uname -m) -R")

FORMAT_DIRS := include src tests bench fuzz examples
FORMAT_FILES = $(shell find $(FORMAT_DIRS) -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | sort)

.PHONY: all build deps configure demo test check check-gcc check-clang check-asan check-tsan bench \
	install clean format format-check

all: build

deps:
	scripts/deps.sh

configure:
	$(CONFIGURE) -B build -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Release

build: deps configure
	$(BUILD) build -j$(JOBS)

test:
	$(CTEST_RUN) build

check: deps
	$(MAKE) --no-print-directory check-gcc
	$(MAKE) --no-print-directory check-clang
	$(MAKE) --no-print-directory check-asan
	$(MAKE) --no-print-directory check-tsan
	@echo "make check: all four builds passed"

# (1) gcc, Release, warnings as errors, every test (including the install test).
check-gcc: configure
	@echo "== check (1/4): gcc Release in build/"
	$(BUILD) build -j$(JOBS)
	$(CTEST_RUN) build

# (2) clang, Debug (asserts on), every test, with the shm engine's timing perturbed at each
# protocol step (IPCX_SHM_PERTURB, src/shm/perturb.h): the rare interleavings, every run.
check-clang:
	@echo "== check (2/4): clang Debug, shm timing perturbed, in build-clang/"
	$(CONFIGURE) -B build-clang -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
		-DIPCX_SHM_PERTURB=ON
	$(BUILD) build-clang -j$(JOBS)
	$(CTEST_RUN) build-clang

# (3) AddressSanitizer + UndefinedBehaviorSanitizer over the whole suite. With clang the fuzz
# targets are built too and each runs briefly (ctest label "fuzz").
check-asan:
	@echo "== check (3/4): $(ASAN_CC) ASan+UBSan in build-asan/"
	$(CONFIGURE) -B build-asan -DCMAKE_C_COMPILER=$(ASAN_CC) -DCMAKE_BUILD_TYPE=Debug \
		-DCMAKE_C_FLAGS_DEBUG="-O1 -g" -DIPCX_SANITIZE=address,undefined \
		-DIPCX_FUZZ=$(if $(findstring clang,$(ASAN_CC)),ON,OFF)
	$(BUILD) build-asan -j$(JOBS)
	$(ASAN_ENV) $(CTEST_RUN) build-asan

# (4) ThreadSanitizer over the stress and conformance tests.
check-tsan:
	@echo "== check (4/4): $(TSAN_CC) TSan in build-tsan/ (labels stress, conformance)"
	$(CONFIGURE) -B build-tsan -DCMAKE_C_COMPILER=$(TSAN_CC) -DCMAKE_BUILD_TYPE=Debug \
		-DCMAKE_C_FLAGS_DEBUG="-O1 -g" -DIPCX_SANITIZE=thread -DIPCX_BUILD_BENCH=OFF
	$(BUILD) build-tsan -j$(JOBS)
	$(TSAN_ENV) $(NORAND) $(CTEST_RUN) build-tsan -L '^(stress|conformance)$$'

# The README's first command: two processes, one mailbox, one message each way of the CLI.
DEMO_URL ?= unix:///tmp/ipcx-demo-$$$$.sock
demo: build
	@url="$(DEMO_URL)"; \
	./build/ipcx recv "$$url" -n 1 --timeout 10s & rpid=$$!; \
	./build/ipcx send "$$url" "hello from process $$$$ to the receiver" --timeout 10s; \
	wait $$rpid

bench:
	scripts/deps.sh --bench
	$(MAKE) --no-print-directory configure
	$(BUILD) build -j$(JOBS)
	@if [ -x build/ipcx-bench ]; then \
		echo "== build/ipcx bench --report report $(BENCH_ARGS)"; \
		./build/ipcx bench --report report $(BENCH_ARGS); \
	else \
		echo "make bench: build/ipcx-bench was not built (bench/ has no sources)" >&2; exit 1; \
	fi

install: build
	$(CMAKE) --install build $(if $(PREFIX),--prefix "$(PREFIX)")

clean:
	rm -rf build build-clang build-asan build-tsan

format:
	@if [ -n "$(FORMAT_FILES)" ]; then clang-format -i $(FORMAT_FILES); fi

format-check:
	@if [ -n "$(FORMAT_FILES)" ]; then clang-format --dry-run --Werror $(FORMAT_FILES); fi
