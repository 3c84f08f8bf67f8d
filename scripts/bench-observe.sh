#!/usr/bin/env bash
# What watching a run costs (#26): closed-loop echo throughput (echo-tcp-rr: 16 users, 64-byte
# messages, every reply checked, one generator thread) against `sockspec serve echo`, without
# --metrics (A) and with --metrics scraped ten times a second (B), alternating A/B and B/A over
# PAIRS pairs of SECONDS each. Prints each pair, its ratio B/A, and the median ratio.
# The server and the scraper share CPU 0; the generator has CPU 1 (with 2 cores or more).
# A benchmark, not a test: it asserts nothing about the figures; a side that measured nothing
# (no iteration, no report) or a scraper that read nothing stops it with exit status 1.
#   scripts/bench-observe.sh [SOCKSPEC] [PAIRS] [SECONDS]
set -euo pipefail
. "$(dirname "$0")/bench-lib.sh"
sockspec=${1:-build/release/harness/sockspec}
pairs=${2:-6}
seconds=${3:-5}
profile="$(dirname "$0")/../scenarios/load/echo-tcp-rr.json"
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
server_cpu=() client_cpu=()
if [ "$(nproc)" -ge 2 ]; then server_cpu=(taskset -c 0) client_cpu=(taskset -c 1); fi

${server_cpu[@]+"${server_cpu[@]}"} "$sockspec" serve echo --transport tcp --port 0 > "$work/server.out" &
server=$!
for _ in $(seq 50); do grep -q . "$work/server.out" && break; sleep 0.1; done
target=$(awk '{print $NF; exit}' "$work/server.out")
[ -n "$target" ] || bench_fail "the echo server did not start"

# Scrapes http://127.0.0.1:PORT/metrics every 100 ms for SECONDS; prints how many answered.
scraper='
import sys, time, urllib.request
port, seconds = sys.argv[1], float(sys.argv[2])
ok, end = 0, time.monotonic() + seconds
while time.monotonic() < end:
    t = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1) as r:
            ok += b"sockspec_iterations_total" in r.read()
    except Exception:  # the run ending mid-read
        pass
    time.sleep(max(0, 0.1 - (time.monotonic() - t)))
print(ok)
'
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run_side() {  # run_side a|b PAIR: prints iterations per second
  local side=$1 i=$2 report="$work/$1$2.json"
  if [ "$side" = a ]; then
    sockspec_load "A (no --metrics) pair $i" "$report" "0" "$profile" --target "$target" \
      --threads 1 --duration "$seconds" --warmup 1
  else
    local port
    port=$(free_port)
    ${server_cpu[@]+"${server_cpu[@]}"} python3 -c "$scraper" "$port" "$((seconds + 2))" > "$work/scrapes$i" &
    local scraper_pid=$!
    sockspec_load "B (--metrics) pair $i" "$report" "0" "$profile" --target "$target" \
      --threads 1 --duration "$seconds" --warmup 1 --metrics "127.0.0.1:$port" --metrics-linger 1
    wait "$scraper_pid" || bench_fail "B pair $i: the scraper failed"
    positive "B pair $i: scrapes answered" "$(cat "$work/scrapes$i")"
  fi
  load_figures "$side pair $i" "$report" 'round(l["achieved_rate"], 1)'
}

echo "bench-observe: echo-tcp-rr, 1 generator thread, ${seconds} s per run, $pairs pairs; B scraped every 100 ms"
ratios=()
for i in $(seq "$pairs"); do
  if [ $((i % 2)) -eq 1 ]; then a=$(run_side a "$i"); b=$(run_side b "$i"); else b=$(run_side b "$i"); a=$(run_side a "$i"); fi
  positive "pair $i" "$a" "$b"
  r=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f", b / a }')
  ratios+=("$r")
  printf '  pair %d: A %s/s  B %s/s (%s scrapes)  B/A %s\n' "$i" "$a" "$b" "$(cat "$work/scrapes$i")" "$r"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END {
  m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
  printf "median B/A %.4f (lowest %.4f, highest %.4f): --metrics scraped 10/s costs %.1f%% of throughput\n", m, v[1], v[NR], (1 - m) * 100 }'
