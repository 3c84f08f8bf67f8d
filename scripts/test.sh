#!/usr/bin/env bash
# The body of `make test`, after the ASan+UBSan build: every ctest test, then the ThreadSanitizer
# checks (scripts/tsan.sh) and a short fuzz run (scripts/fuzz.sh FUZZ_SMOKE_SECONDS).
# The tests spend most of their time waiting on sockets, so the ThreadSanitizer and libFuzzer
# builds start beside them, niced so that the tests come first (the tests are proven to hold
# with a CPU hog on every core, `make test-busy`, which is what these builds are to them); what
# they have not finished when the tests end is built then, at normal priority.
#   scripts/test.sh TEST_DIR        (JOBS, FUZZ_SMOKE_SECONDS from the environment)
set -uo pipefail
cd "$(dirname "$0")/.."
dir=$1
jobs=${JOBS:-$(nproc)}
mkdir -p build
log=build/side-builds.log
set -m  # the side builds in a process group of their own, to stop them all if we are stopped
(BUILD_ONLY=1 JOBS=$jobs nice -n 10 scripts/tsan.sh && BUILD_ONLY=1 JOBS=$jobs nice -n 10 scripts/fuzz.sh) \
  >"$log" 2>&1 &
side=$!
set +m
trap 'kill -- -$side 2>/dev/null' EXIT INT TERM
echo "test: building the ThreadSanitizer and fuzz targets beside the tests (log: $log)"
ctest_rc=0
ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 600 || ctest_rc=$?
# Whatever the side builds have not finished is built now at normal priority: niced, they
# would crawl beside any other load (ninja keeps what they finished).
kill -- -$side 2>/dev/null
wait $side 2>/dev/null
trap - EXIT INT TERM
[ $ctest_rc -eq 0 ] || exit $ctest_rc
set -e
JOBS=$jobs scripts/tsan.sh
JOBS=$jobs scripts/fuzz.sh "${FUZZ_SMOKE_SECONDS:-3}"
