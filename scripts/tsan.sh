#!/usr/bin/env bash
# ThreadSanitizer check of the multi-threaded parts: builds sockspec with -fsanitize=thread
# (build/tsan) and runs the parallel runner and the load driver against built-in servers.
# Any ThreadSanitizer report fails the script. Kept short on purpose: `make test` calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build/tsan
jobs=${JOBS:-$(nproc)}
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSOCKSPEC_TSAN=ON \
  "${launcher[@]}" >/dev/null
cmake --build "$dir" -j "$jobs" --target sockspec
[ -n "${BUILD_ONLY:-}" ] && exit 0  # scripts/test.sh builds ahead, beside the tests
bin=$dir/harness/sockspec
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# exitcode=66 sets a report apart from sockspec's own exit codes (0-3).
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1"
status=0
check() {  # check NAME EXPECTED_CODES... -- ARGS...
  local name=$1
  shift
  local codes=()
  while [ "$1" != "--" ]; do codes+=("$1"); shift; done
  shift
  local rc=0
  timeout 300 "$bin" "$@" >"$out/$name.out" 2>"$out/$name.err" || rc=$?
  if grep -q "ThreadSanitizer" "$out/$name.err" || [[ ! " ${codes[*]} " =~ " $rc " ]]; then
    echo "tsan: $name FAILED (exit $rc)" >&2
    cat "$out/$name.err" >&2
    status=1
  else
    echo "tsan: $name clean (exit $rc)"
  fi
}
# The parallel runner: every echo case on four job threads (and the multi-threaded server).
check run-jobs 0 -- run --target builtin:echo --jobs 4 --seed 1
# The load driver: closed loop on two threads (TCP), open loop with a UDP sequence (UDP).
check load-tcp 0 1 -- load scenarios/load/echo-tcp-rr.json --target builtin:echo \
  --duration 1 --warmup 0 --threads 2 --connections 4
check load-udp 0 1 -- load scenarios/load/echo-udp-rr.json --target builtin:echo \
  --duration 1 --warmup 0 --threads 2 --rate 500
# A watched load run (--metrics, --push): the generator threads' hand-over to the watcher, the
# HTTP threads reading what it published (/metrics and /live read as fast as they answer) and
# the pusher's thread (to a port where nobody listens: each push fails at once).
rc=0
timeout 120 "$bin" load scenarios/load/echo-tcp-rr.json --target builtin:echo --duration 3 \
  --warmup 0 --threads 2 --connections 4 --metrics 127.0.0.1:0 --push http://127.0.0.1:1 \
  --push-interval 0.2 >"$out/watch.out" 2>"$out/watch.err" &
pid=$!
reads=$(timeout 100 python3 - "$out/watch.err" $pid <<'PY'
import os, re, sys, time, urllib.request
err, pid, reads, url = sys.argv[1], int(sys.argv[2]), 0, None
while os.path.exists(f"/proc/{pid}"):
    if url is None:
        m = re.search(r"^metrics: (http://\S+/)metrics", open(err).read(), re.M)
        url = m.group(1) if m else None
        time.sleep(0.05)
        continue
    for path in ("metrics", "live"):
        try:
            urllib.request.urlopen(url + path, timeout=2).read()
            reads += 1
        except Exception:  # the run ending mid-read (connection closed, IncompleteRead)
            pass
print(reads)
PY
) || true
wait $pid || rc=$?
if grep -q "ThreadSanitizer" "$out/watch.err" || [[ ! " 0 1 " =~ " $rc " ]] || [ "${reads:-0}" -lt 10 ]; then
  echo "tsan: load-watched FAILED (exit $rc, ${reads:-0} reads)" >&2
  cat "$out/watch.err" >&2
  status=1
else
  echo "tsan: load-watched clean (exit $rc, $reads reads)"
fi
# An interrupted load run: the signal path across threads.
rc=0
timeout 60 "$bin" load scenarios/load/echo-tcp-rr.json --target builtin:echo --duration 30 \
  --threads 2 >"$out/int.out" 2>"$out/int.err" &
pid=$!
sleep 2
kill -INT $pid
wait $pid || rc=$?
if grep -q "ThreadSanitizer" "$out/int.err" || [ $rc -ne 1 ]; then
  echo "tsan: load-interrupted FAILED (exit $rc)" >&2
  cat "$out/int.err" >&2
  status=1
else
  echo "tsan: load-interrupted clean (exit $rc)"
fi
exit $status
