# The two entry points of the README. Each installs what is missing, builds, runs.
#   make demo   release build; built-in suites + a short load test against the reference servers
#   make test   sanitized (ASan+UBSan) build; every unit and integration test
#   make test-busy   make test with one CPU hog per core beside it (docs/robustness.md)
#   make bench  release build; benchmarks (they print figures and judge none; a side that
#               errored or measured nothing fails the target, saying why)
#   make install [PREFIX=/usr/local] [DESTDIR=]   release build, installed like any tool
#   make package   release build, then build/sockspec_VERSION_ARCH.deb (apt-get install ./build/*.deb)
#   make fuzz   libFuzzer targets (clang), each run for FUZZ_SECONDS
#   make tsan   ThreadSanitizer build; the parallel runner and the load driver under it
.PHONY: all deps-build deps-test deps-bench deps-package build build-test test test-busy demo bench compat \
        stability install package scale-100k shard-compare clean fuzz fuzz-smoke tsan

JOBS ?= $(shell nproc)
RELEASE_DIR := build/release
TEST_DIR := build/test
OUT ?= out
PREFIX ?= /usr/local
DESTDIR ?=
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 3

all: build

deps-build:
	@scripts/install-deps.sh build
deps-test:
	@scripts/install-deps.sh test
deps-bench:
	@scripts/install-deps.sh bench
deps-package:
	@scripts/install-deps.sh package

build: deps-build
	cmake -S . -B $(RELEASE_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(RELEASE_DIR) -j $(JOBS)

build-test: deps-test
	cmake -S . -B $(TEST_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSOCKSPEC_SANITIZE=ON
	cmake --build $(TEST_DIR) -j $(JOBS)

test: build-test
	JOBS=$(JOBS) FUZZ_SMOKE_SECONDS=$(FUZZ_SMOKE_SECONDS) scripts/test.sh $(TEST_DIR)

# `make test` on a busy machine: one CPU hog (a busy shell loop) per core, started first and
# killed however the tests end (each loop, then its `timeout`; each also ends itself after
# HOG_SECONDS). A test that passes only on an idle machine fails here.
HOG_SECONDS ?= 7200
test-busy:
	@hogs=""; \
	for i in $$(seq $$(nproc)); do timeout $(HOG_SECONDS) sh -c 'while :; do :; done' & hogs="$$hogs $$!"; done; \
	trap 'for p in $$hogs; do pkill -P $$p; done; kill $$hogs 2>/dev/null' EXIT INT TERM; \
	echo "test-busy: $$(nproc) CPU hogs beside make test (pids$$hogs)"; \
	$(MAKE) test

# Each fuzz target for FUZZ_SECONDS on a corpus seeded from scenarios/ (kept in build/fuzz).
fuzz: deps-test
	JOBS=$(JOBS) scripts/fuzz.sh $(FUZZ_SECONDS)

# The short bounded fuzz run of CI: a few seconds per target.
fuzz-smoke: deps-test
	JOBS=$(JOBS) scripts/fuzz.sh $(FUZZ_SMOKE_SECONDS)

tsan: deps-test
	JOBS=$(JOBS) scripts/tsan.sh

demo: build
	@scripts/demo.sh $(RELEASE_DIR)/harness/sockspec $(OUT)

# Measures, never asserts on a figure: the harness's hot paths (Google Benchmark), sockspec load
# vs sockperf as clients, our reference echo vs sockperf's server, and sockspec load vs wrk as
# HTTP keep-alive clients of nginx. A side that measured nothing or errored fails
# (scripts/bench-lib.sh).
bench: deps-bench build
	$(RELEASE_DIR)/harness/hot_paths_bench
	@scripts/bench-load.sh $(RELEASE_DIR)/harness/sockspec
	@scripts/bench-window.sh $(RELEASE_DIR)/harness/sockspec
	@scripts/bench-echo.sh $(RELEASE_DIR)/harness/sockspec
	@scripts/bench-http.sh $(RELEASE_DIR)/harness/sockspec

# Runs the suites against every reference, faulty and third-party server and regenerates
# docs/compatibility.md from the reports.
compat: build-test
	rm -rf $(TEST_DIR)/conformance
	ctest --test-dir $(TEST_DIR) -R suites_conformance --output-on-failure
	scripts/compat-table.py $(TEST_DIR)/conformance > docs/compatibility.md

install: build
	DESTDIR="$(DESTDIR)" cmake --install $(RELEASE_DIR) --prefix "$(PREFIX)"

# The .deb lands in build/ (its dependencies come from dpkg-shlibdeps, in dpkg-dev).
package: deps-package build
	cpack --config $(RELEASE_DIR)/CPackConfig.cmake -B build
	@ls build/*.deb

# Measures, never asserts (docs/scale-out.md): 100,000 connections held by six local shards
# against eight echo servers sharing one port; one process vs four shards, side by side.
scale-100k: build
	@scripts/scale-100k.sh $(RELEASE_DIR)/harness/sockspec
shard-compare: build
	@scripts/shard-compare.sh $(RELEASE_DIR)/harness/sockspec

# Verdict stability, the long form (make test runs a 2-run variant): every suite against every
# reference server RUNS times at --jobs 1 and at --jobs = cores, listing any case whose verdict
# changed; then the hand-written servers of scenarios/tests/servers.py, 5 runs each.
RUNS ?= 10
stability: build-test
	scripts/stability.py $(TEST_DIR)/harness/sockspec --runs $(RUNS) --jobs 1,$(JOBS) --out $(TEST_DIR)/stability
	cd scenarios/tests && SOCKSPEC=$(CURDIR)/$(TEST_DIR)/harness/sockspec SOCKSPEC_SCENARIOS_SRC=$(CURDIR)/scenarios \
	  SOCKSPEC_CONFORMANCE_RUNS=5 /usr/bin/python3 conformance_test.py HandWrittenServers

clean:
	rm -rf build
