#!/usr/bin/env bash
# In-flight windows against sockperf, in one run, alternating A/B/C at every step:
#   - UDP open loop, one thread, one socket, 64-byte datagrams, every reply checked, against
#     the real `sockperf server`: `sockspec load` (in_flight 4096, replies matched by tag) as it
#     runs by default (its loop sleeps until the next start or reply) and with --busy-poll (it
#     spins, as sockperf does), vs `sockperf under-load --reply-every 1` (its latency-under-load
#     mode, every message answered). Each climbs the same ladder of rates; a rate is clean for
#     sockspec with 0 missed starts, 0 lost and 0 errors, for sockperf with 0 dropped, in most of
#     the rounds (a shared machine drops the odd datagram). Reported: the highest clean rate of
#     each, and p50 latency at every rate (sockperf prints half a round trip: doubled here; ours
#     runs from each datagram's *scheduled* send, its service time from the actual send).
#     sockperf's server answers only messages that start with its own 14-byte header (client
#     and pong-request flags set), and answers with the client flag cleared: our datagrams carry
#     that header first and our tag after it (udp_tag_offset 14), and each reply is checked byte
#     for byte against the header with the flag cleared plus our 32 payload bytes.
#   - TCP, one connection, 64-byte requests: round trips/s with 16 in flight vs 1, against
#     `sockperf server --tcp` (it writes one reply per message, a send() each) and against
#     `sockspec serve echo` (it writes back whatever one read returned, in one send()).
# PIN=1 (with 2 cores or more) runs the servers on CPU 1 and every client on CPU 0, so a client
# that spins (sockperf, --busy-poll) does not take the server's core; off by default: on the
# shared 2-vCPU development VM pinned runs lost more and were slower than unpinned ones.
# A benchmark, not a test: it prints figures and ratios and asserts nothing about them; a side
# that errored or measured nothing (no iteration, no message received, no report) stops it
# with exit status 1 and the reason (scripts/bench-lib.sh). Loss at a high rate is a figure.
set -euo pipefail
. "$(dirname "$0")/bench-lib.sh"
sockspec=${1:-build/release/harness/sockspec}
seconds=${SECONDS_PER_RUN:-2}
rounds=${ROUNDS:-3}
rates=${RATES:-"10000 20000 30000 40000 50000 60000 80000 100000 130000 160000 200000"}
server_cpu=(); client_cpu=()
if [ "${PIN:-0}" = 1 ] && [ "$(nproc)" -ge 2 ] && command -v taskset > /dev/null; then
  server_cpu=(taskset -c 1); client_cpu=(taskset -c 0)
fi
work=$(mktemp -d)
free_port() {
  python3 -c 'import socket,sys; s=socket.socket(type=int(sys.argv[1])); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "$1"
}
uport=$(free_port 2)
tport=$(free_port 1)
"${server_cpu[@]}" sockperf server -i 127.0.0.1 -p "$uport" > "$work/udp-server.txt" 2>&1 &
udp_pid=$!
"${server_cpu[@]}" sockperf server -i 127.0.0.1 -p "$tport" --tcp > "$work/tcp-server.txt" 2>&1 &
tcp_pid=$!
"${server_cpu[@]}" "$sockspec" serve echo --transport tcp --threads 1 --port 0 > "$work/echo.txt" &
echo_pid=$!
trap 'kill $udp_pid $tcp_pid $echo_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do grep -q listening "$work/echo.txt" && break; sleep 0.1; done
eport=$(grep -o '[0-9]*$' "$work/echo.txt" | head -1)
[ -n "$eport" ] || bench_fail "sockspec serve echo did not start: $(cat "$work/echo.txt")"
sleep 1  # sockperf's servers print nothing when ready

echo "machine: $(nproc) cores, $(uptime | sed 's/.*load average/load average/'), $(date -u '+%Y-%m-%d %H:%M UTC'), $([ ${#server_cpu[@]} -gt 0 ] && echo "servers on CPU 1, clients on CPU 0" || echo "not pinned")"
# sockperf's header: sequence number (8 bytes), flags (2: 1 client, 2 pong request), length of
# the whole message (4, here 64), all in network order. Then our tag (18), then 32 bytes.
rest=$(printf '61%.0s' $(seq 32))
cat > "$work/udp.json" <<JSON
{"format": 1, "profile": "udp-open", "transport": "udp", "defaults": {"timeout_ms": 200},
 "executor": {"type": "constant-rate", "rate": 1000, "connections": 1}, "in_flight": 4096,
 "udp_tag_offset": 14, "threads": 1, "duration_s": $seconds, "warmup_s": 0.4,
 "setup": [{"op": "connect", "conn": "u"}],
 "iteration": [{"op": "send", "conn": "u", "hex": "0000000000000001 0003 00000040 $rest"},
               {"op": "expect", "conn": "u", "hex": "0000000000000001 0002 00000040 $rest"}]}
JSON
ping_hex="0000000000000001 0003 00000040 $(printf '00%.0s' $(seq 50))"
for n in 1 16; do
  cat > "$work/tcp$n.json" <<JSON
{"format": 1, "profile": "tcp-$n", "transport": "tcp", "defaults": {"timeout_ms": 1000},
 "executor": {"type": "closed", "vus": 1}, "in_flight": $n, "threads": 1, "duration_s": $seconds,
 "warmup_s": 0.4, "setup": [{"op": "connect", "conn": "c", "options": {"nodelay": true}}],
 "iteration": [{"op": "send", "conn": "c", "hex": "$ping_hex"}, {"op": "expect", "conn": "c", "length": 64}]}
JSON
done

# "clean p50_us service_p50_us" for one run at a rate ($2: extra options). Exit status 1 (the
# rate was not kept) and timeouts are what a rate too high gives: "not clean", still measured.
ours_udp() {
  # shellcheck disable=SC2086
  sockspec_load "sockspec udp at $1/s ${2:-}" "$work/r.json" "0 1" "$work/udp.json" \
    --target "127.0.0.1:$uport" --rate "$1" ${2:-}
  load_figures "sockspec udp at $1/s ${2:-} (against sockperf server)" "$work/r.json" \
    '"%d %s %s" % (l["missed_starts"] == 0 and l["udp"]["lost"] == 0 and l["errors"] == 0, l["latency"]["percentiles"]["p50"] / 1e3, l["service"]["percentiles"]["p50"] / 1e3)' 1
}
theirs_udp() {
  local row
  run_sockperf "sockperf under-load at $1/s" "$work/sockperf.txt" under-load -i 127.0.0.1 -p "$uport" \
    -t "$seconds" -m 64 --mps "$1" --reply-every 1
  row=$(awk '
    /Valid Duration/ { for (i = 1; i <= NF; i++) if ($i ~ /^ReceivedMessages=/) { sub("ReceivedMessages=", "", $i); n = $i } }
    /dropped messages/ { for (i = 1; i <= NF; i++) if ($i == "=") { d = $(i + 1); sub(";", "", d); break } }
    /percentile 50.000/ { p50 = $NF * 2 }
    END { if (n > 0 && p50 != "") print (d == 0) ? 1 : 0, p50, p50 }' "$work/sockperf.txt")
  [ -n "$row" ] || bench_fail "sockperf under-load at $1/s measured nothing (no message received or no p50): $(tail -n 5 "$work/sockperf.txt")"
  echo "$row"
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
mostly() { awk '{ s += $1 } END { print (s * 2 > NR) ? 1 : 0 }' "$1"; }
word() { [ "$1" = 1 ] && echo clean || echo LOSS; }

best_s=0; best_b=0; best_t=0
: > "$work/lat"
echo "UDP open loop vs sockperf server, 1 socket, 64 B, every reply checked; p50 in us"
echo "(sockspec: from the scheduled send [service time from the actual send]; sockperf: 2 x its half round trip)"
printf "  %8s  %-28s %-28s %-16s\n" rate "sockspec (sleeps)" "sockspec --busy-poll" "sockperf"
for rate in $rates; do
  : > "$work/s"; : > "$work/b"; : > "$work/t"
  for _ in $(seq "$rounds"); do
    ours_udp "$rate" >> "$work/s"
    ours_udp "$rate" --busy-poll >> "$work/b"
    theirs_udp "$rate" >> "$work/t"
  done
  sc=$(mostly "$work/s"); bc=$(mostly "$work/b"); tc=$(mostly "$work/t")
  sp=$(cut -d' ' -f2 "$work/s" | median); ss=$(cut -d' ' -f3 "$work/s" | median)
  bp=$(cut -d' ' -f2 "$work/b" | median); bs=$(cut -d' ' -f3 "$work/b" | median)
  tp=$(cut -d' ' -f2 "$work/t" | median)
  printf "  %7d/s  %-5s %8.1f [%8.1f]      %-5s %8.1f [%8.1f]      %-5s %8.1f\n" "$rate" \
    "$(word "$sc")" "$sp" "$ss" "$(word "$bc")" "$bp" "$bs" "$(word "$tc")" "$tp"
  [ "$sc" = 1 ] && best_s=$rate
  [ "$bc" = 1 ] && best_b=$rate
  [ "$tc" = 1 ] && best_t=$rate
  echo "$rate $sc $bc $tc $sp $ss $bp $bs $tp" >> "$work/lat"
  [ "$sc" = 0 ] && [ "$bc" = 0 ] && [ "$tc" = 0 ] && break
done
echo "  highest clean rate: sockspec $best_s/s, sockspec --busy-poll $best_b/s, sockperf $best_t/s"
awk -v s="$best_s" -v b="$best_b" -v t="$best_t" 'BEGIN { if (t > 0)
  printf "  rate ratio vs sockperf: sockspec %.2f, sockspec --busy-poll %.2f\n", s / t, b / t }'
# p50 at equal rate: the highest rate where sockperf and the sockspec mode were both clean.
awk '$2 == 1 && $4 == 1 { s = $0 } $3 == 1 && $4 == 1 { b = $0 } END {
  if (b != "") { split(b, f, " "); printf "  p50 ratio at %d/s (both clean), busy-poll vs sockperf (both spin): %.2f (service time: %.2f)\n", f[1], f[7] / f[9], f[8] / f[9] }
  if (s != "") { split(s, f, " "); printf "  p50 ratio at %d/s (both clean), sleeping sockspec vs sockperf: %.2f (service time: %.2f)\n", f[1], f[5] / f[9], f[6] / f[9] }
}' "$work/lat"

echo "TCP, 1 connection, 64 B requests, every reply checked; round trips/s (median of $rounds):"
tcp_rate() {
  sockspec_load "sockspec tcp in_flight $1 to port $2" "$work/t.json" "0" "$work/tcp$1.json" --target "127.0.0.1:$2"
  load_figures "sockspec tcp in_flight $1 to port $2" "$work/t.json" 'l["achieved_rate"]'
}
for server in sockperf echo; do
  port=$([ $server = sockperf ] && echo "$tport" || echo "$eport")
  : > "$work/one"; : > "$work/sixteen"
  for _ in $(seq "$rounds"); do
    tcp_rate 1 "$port" >> "$work/one"
    tcp_rate 16 "$port" >> "$work/sixteen"
  done
  one=$(median < "$work/one"); sixteen=$(median < "$work/sixteen")
  label=$([ $server = sockperf ] && echo "sockperf server --tcp" || echo "sockspec serve echo  ")
  awk -v l="$label" -v a="$one" -v b="$sixteen" 'BEGIN {
    printf "  %s  in_flight 1: %8.0f   in_flight 16: %9.0f   ratio 16/1: %.2f\n", l, a, b, b / a }'
done
