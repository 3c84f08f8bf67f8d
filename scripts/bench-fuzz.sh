#!/usr/bin/env bash
# Inputs per second of `sockspec fuzz` against the reference echo, from its TCP suite and from
# its UDP suite, one job (--jobs 1 is all there is yet), the two sides alternating for ROUNDS
# rounds of SECONDS_PER_RUN seconds. Each input is a mutant of a suite case and then the
# liveness case that checks the server still answers: two cases, two or more connections or
# exchanges. Prints each run's rate, the medians and the ratio TCP/UDP.
# A benchmark, not a test: it asserts nothing about the figures; a run that failed or ran no
# input stops it with exit status 1 (scripts/bench-lib.sh).
set -euo pipefail
. "$(dirname "$0")/bench-lib.sh"
sockspec=${1:-build/release/harness/sockspec}
rounds=${ROUNDS:-3}
seconds=${SECONDS_PER_RUN:-10}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

rate() {  # rate SIDE FILTER: prints inputs per second of one campaign
  local side=$1 filter=$2 rc=0
  "$sockspec" fuzz --target builtin:echo --filter "$filter" --duration "$seconds" --seed 1 \
    --out "$dir/$side" > "$dir/$side.log" 2>&1 || rc=$?
  [ "$rc" -eq 0 ] || { tail -n 15 "$dir/$side.log" >&2; bench_fail "$side: sockspec fuzz exited with status $rc"; }
  python3 -c '
import json, re, sys
notes = " ".join(json.load(open(sys.argv[1]))["notes"])
m = re.search(r"fuzz: (\d+) inputs in (\d+) s", notes)
print(int(m.group(1)) / max(1, int(m.group(2))) if m else 0)' "$dir/$side/report.json"
}

tcp=() udp=()
for r in $(seq "$rounds"); do
  if [ $((r % 2)) -eq 1 ]; then
    tcp+=("$(rate tcp 'echo-tcp/*')"); udp+=("$(rate udp 'echo-udp/*')")
  else
    udp+=("$(rate udp 'echo-udp/*')"); tcp+=("$(rate tcp 'echo-tcp/*')")
  fi
  printf 'round %d: TCP %.0f inputs/s, UDP %.0f inputs/s\n' "$r" "${tcp[-1]}" "${udp[-1]}"
done
positive "TCP inputs/s" "${tcp[@]}"
positive "UDP inputs/s" "${udp[@]}"
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
mt=$(median "${tcp[@]}") mu=$(median "${udp[@]}")
printf 'median: TCP %.0f inputs/s, UDP %.0f inputs/s (one job, %d s runs); TCP/UDP %.2f\n' \
  "$mt" "$mu" "$seconds" "$(awk -v a="$mt" -v b="$mu" 'BEGIN { print a / b }')"
