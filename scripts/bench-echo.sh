#!/usr/bin/env bash
# Our reference echo against sockperf's own server, measured by the same client
# (`sockperf ping-pong`, 64-byte messages, one connection), in one run, alternating A/B so
# drift on the machine hits both sides alike. Prints medians and the ratios ours/sockperf.
# A benchmark, not a test: it measures and reports, it asserts nothing about the figures; a
# side that errored or measured nothing stops it with exit status 1 and the reason
# (scripts/bench-lib.sh).
set -euo pipefail
. "$(dirname "$0")/bench-lib.sh"
sockspec=${1:-build/release/harness/sockspec}
rounds=${ROUNDS:-3}
seconds=${SECONDS_PER_RUN:-4}

ours_out=$(mktemp)
"$sockspec" serve echo --port 0 --threads 1 --sockperf-compat > "$ours_out" &
ours_pid=$!
port_sp=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sockperf server -i 127.0.0.1 -p "$port_sp" > /dev/null 2>&1 &
sp_udp_pid=$!
sockperf server -i 127.0.0.1 -p "$port_sp" --tcp > /dev/null 2>&1 &
sp_tcp_pid=$!
trap 'kill $ours_pid $sp_tcp_pid $sp_udp_pid 2>/dev/null; rm -f "$ours_out" "${sockperf_out:-}"' EXIT
for _ in $(seq 50); do grep -q udp "$ours_out" && break; sleep 0.1; done
port_ours=$(grep 'listening udp' "$ours_out" | sed 's/.*://')
[ -n "$port_ours" ] || bench_fail "sockspec serve echo did not start: $(cat "$ours_out")"
sleep 0.5

# One ping-pong run: prints "p50 p99 msgs_per_sec" (latencies are sockperf's half round trip,
# usec), or fails the benchmark saying which server measured nothing.
sockperf_out=$(mktemp)
measure() {
  local port=$1 transport=$2 who=$3 row
  # shellcheck disable=SC2086
  run_sockperf "sockperf ping-pong ${transport:-udp} against $who" "$sockperf_out" ping-pong \
    -i 127.0.0.1 -p "$port" -t "$seconds" -m 64 $transport
  row=$(awk '
    /Valid Duration/ { for (i = 1; i <= NF; i++) { if ($i ~ /^RunTime=/) { sub("RunTime=", "", $i); t = $i }
                                                   if ($i ~ /^ReceivedMessages=/) { sub("ReceivedMessages=", "", $i); n = $i } } }
    /percentile 50.000/ { p50 = $NF }
    /percentile 99.000/ { p99 = $NF }
    END { printf "%s %s %s\n", (p50 == "" ? "none" : p50), (p99 == "" ? "none" : p99), (t > 0 ? sprintf("%.0f", n / t) : "none") }' "$sockperf_out")
  # shellcheck disable=SC2086
  positive "sockperf ping-pong ${transport:-udp} against $who (p50, p99, messages/s)" $row
  echo "$row"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

printf "%-5s %-9s %10s %10s %12s\n" transport server p50_us p99_us msgs_per_s
for transport in udp tcp; do
  flag=""; [ "$transport" = tcp ] && flag="--tcp"
  : > /tmp/bench_ours; : > /tmp/bench_sp
  for r in $(seq "$rounds"); do
    measure "$port_ours" "$flag" "sockspec serve echo" >> /tmp/bench_ours
    measure "$port_sp" "$flag" "sockperf server" >> /tmp/bench_sp
  done
  for who in ours sp; do
    f=/tmp/bench_$who
    name=$([ $who = ours ] && echo sockspec || echo sockperf)
    printf "%-5s %-9s %10s %10s %12s\n" "$transport" "$name" \
      "$(cut -d' ' -f1 $f | median)" "$(cut -d' ' -f2 $f | median)" "$(cut -d' ' -f3 $f | median)"
  done
  o50=$(cut -d' ' -f1 /tmp/bench_ours | median); s50=$(cut -d' ' -f1 /tmp/bench_sp | median)
  o99=$(cut -d' ' -f2 /tmp/bench_ours | median); s99=$(cut -d' ' -f2 /tmp/bench_sp | median)
  orate=$(cut -d' ' -f3 /tmp/bench_ours | median); srate=$(cut -d' ' -f3 /tmp/bench_sp | median)
  awk -v a="$o50" -v b="$s50" -v c="$o99" -v d="$s99" -v e="$orate" -v f="$srate" -v t="$transport" \
    'BEGIN { printf "%-5s ratio ours/sockperf: p50 %.2f  p99 %.2f  rate %.2f  (latency: lower is better; rate: higher)\n", t, a/b, c/d, e/f }'
done
