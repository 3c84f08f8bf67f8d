#!/usr/bin/env bash
# In-flight windows against sockperf, in one run, alternating A/B at every step:
#   - UDP open loop, one thread, 64-byte datagrams, every reply checked: `sockspec load`
#     (in_flight 4096 on one socket, replies matched by tag) vs `sockperf under-load
#     --reply-every 1` (its latency-under-load mode, every message answered). Each climbs the
#     same ladder of rates; a rate is clean for sockspec with 0 missed starts and 0 lost, for
#     sockperf with 0 dropped. Reported: the highest clean rate of each, and p50 latency at the
#     highest rate both kept clean (sockperf's latency is half a round trip: doubled here; ours
#     counts from each datagram's scheduled send).
#   - TCP, one connection against `sockperf server --tcp`: round trips/s with 16 in flight vs 1.
# Both UDP clients talk to `sockspec serve echo --sockperf-compat`: `sockperf server` only
# answers sockperf-format messages, and our tag comes first in every datagram.
# A benchmark, not a test: it prints figures and ratios and asserts nothing.
set -euo pipefail
sockspec=${1:-build/release/harness/sockspec}
seconds=${SECONDS_PER_RUN:-2}
rounds=${ROUNDS:-3}
rates=${RATES:-"10000 20000 40000 60000 80000 100000 130000 160000 200000"}
work=$(mktemp -d)
"$sockspec" serve echo --transport udp --sockperf-compat --threads 1 --port 0 > "$work/echo.txt" &
echo_pid=$!
tport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sockperf server -i 127.0.0.1 -p "$tport" --tcp > /dev/null 2>&1 &
tcp_pid=$!
trap 'kill $echo_pid $tcp_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do grep -q listening "$work/echo.txt" && break; sleep 0.1; done
uport=$(grep -o '[0-9]*$' "$work/echo.txt" | head -1)

# 46 bytes of payload after the 18-byte tag: 64-byte datagrams, as sockperf's -m 64.
cat > "$work/udp.json" <<JSON
{"format": 1, "profile": "udp-open", "transport": "udp", "defaults": {"timeout_ms": 200},
 "executor": {"type": "constant-rate", "rate": 1000, "connections": 1}, "in_flight": 4096,
 "threads": 1, "duration_s": $seconds, "warmup_s": 0.4,
 "setup": [{"op": "connect", "conn": "u"}],
 "iteration": [{"op": "send", "conn": "u", "fill": {"bytes": 46, "pattern": "ascii"}},
               {"op": "expect", "conn": "u", "echo": true}]}
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

# "clean p50_us" for one run at a rate.
ours_udp() {
  "$sockspec" load "$work/udp.json" --target "127.0.0.1:$uport" --rate "$1" --report-json "$work/r.json" > /dev/null || true
  python3 -c 'import json,sys; l=json.load(open(sys.argv[1]))["load"]
print(int(l["missed_starts"] == 0 and l["udp"]["lost"] == 0 and l["errors"] == 0), l["latency"]["percentiles"]["p50"]/1e3)' "$work/r.json"
}
theirs_udp() {
  sockperf under-load -i 127.0.0.1 -p "$uport" -t "$seconds" -m 64 --mps "$1" --reply-every 1 2>&1 | awk '
    /Valid Duration/ { for (i = 1; i <= NF; i++) if ($i ~ /^ReceivedMessages=/) { sub("ReceivedMessages=", "", $i); n = $i } }
    /dropped messages/ { for (i = 1; i <= NF; i++) if ($i == "=") { d = $(i + 1); sub(";", "", d); break } }
    /percentile 50.000/ { p50 = $NF * 2 }
    END { print (d == 0 && n > 0) ? 1 : 0, p50 }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

best_ours=0; best_theirs=0
: > "$work/lat"
echo "UDP open loop, 1 socket, 64 B, every reply checked (clean: all answered, no missed start):"
for rate in $rates; do
  : > "$work/a"; : > "$work/b"
  for _ in $(seq "$rounds"); do ours_udp "$rate" >> "$work/a"; theirs_udp "$rate" >> "$work/b"; done
  # Clean at a rate: clean in most rounds (a busy shared machine drops the odd datagram).
  oc=$(awk '{ s += $1 } END { print (s * 2 > NR) ? 1 : 0 }' "$work/a")
  tc=$(awk '{ s += $1 } END { print (s * 2 > NR) ? 1 : 0 }' "$work/b")
  op=$(cut -d' ' -f2 "$work/a" | median); tp=$(cut -d' ' -f2 "$work/b" | median)
  printf "  %7d/s  sockspec %-5s p50 %8.1f us   sockperf %-5s p50 %8.1f us\n" "$rate" \
    "$([ "$oc" = 1 ] && echo clean || echo LOSS)" "$op" "$([ "$tc" = 1 ] && echo clean || echo LOSS)" "$tp"
  [ "$oc" = 1 ] && best_ours=$rate
  [ "$tc" = 1 ] && best_theirs=$rate
  [ "$oc" = 1 ] && [ "$tc" = 1 ] && echo "$rate $op $tp" >> "$work/lat"
  [ "$oc" = 0 ] && [ "$tc" = 0 ] && break
done
echo "  highest clean rate: sockspec $best_ours/s, sockperf $best_theirs/s"
awk -v a="$best_ours" -v b="$best_theirs" 'BEGIN { if (b > 0) printf "  ratio sockspec/sockperf: rate %.2f\n", a / b }'
if [ -s "$work/lat" ]; then
  tail -1 "$work/lat" | awk '{ printf "  at %d/s (both clean): p50 ratio sockspec/sockperf %.2f\n", $1, $2 / $3 }'
fi

echo "TCP, 1 connection, 64 B, against sockperf server:"
: > "$work/a"; : > "$work/b"
for _ in $(seq "$rounds"); do
  for n in 1 16; do
    "$sockspec" load "$work/tcp$n.json" --target "127.0.0.1:$tport" --report-json "$work/t.json" > /dev/null || true
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["load"]["achieved_rate"])' "$work/t.json" \
      >> "$work/$([ $n = 1 ] && echo a || echo b)"
  done
done
one=$(median < "$work/a"); sixteen=$(median < "$work/b")
printf "  in_flight 1:  %9.0f round trips/s\n  in_flight 16: %9.0f round trips/s\n" "$one" "$sixteen"
awk -v a="$sixteen" -v b="$one" 'BEGIN { printf "  ratio 16/1: %.2f\n", a / b }'
