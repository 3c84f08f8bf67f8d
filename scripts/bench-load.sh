#!/usr/bin/env bash
# sockspec load against Debian's sockperf, in one run, alternating A/B so drift on the machine
# hits both sides alike. Both clients talk to `sockperf server`:
#   - round trip: `sockspec load` (closed loop, 1 connection, 1 thread, 64-byte sockperf-format
#     messages, every reply checked for length) vs `sockperf ping-pong -m 64`, UDP (matched by
#     sockperf's sequence number, and again by our tag after its header) and TCP;
#   - UDP send rate, one thread: `sockspec load` (64-byte datagrams, repeat 1024 per iteration,
#     tagged as by default and untagged) vs `sockperf throughput -m 64`;
#   - the kernel interfaces alone (io_mechanisms_bench): blocking calls vs epoll vs io_uring.
# sockperf reports half the round trip as its latency; it is doubled here to compare RTTs.
# A benchmark, not a test: it prints figures and ratios and asserts nothing about them; a side
# that errored or measured nothing (0 round trips, a sockperf that printed no figures) stops it
# with exit status 1 and the reason (scripts/bench-lib.sh).
set -euo pipefail
. "$(dirname "$0")/bench-lib.sh"
sockspec=${1:-build/release/harness/sockspec}
rounds=${ROUNDS:-3}
seconds=${SECONDS_PER_RUN:-4}
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sockperf server -i 127.0.0.1 -p "$port" > /dev/null 2>&1 &
udp_pid=$!
sockperf server -i 127.0.0.1 -p "$port" --tcp > /dev/null 2>&1 &
tcp_pid=$!
trap 'kill $udp_pid $tcp_pid 2>/dev/null; rm -rf "$work"' EXIT
sleep 0.5

# A 64-byte sockperf ping: sequence 1, flags "client + pong request", length 64.
ping_hex="0000000000000001 0003 00000040 $(printf '00%.0s' $(seq 50))"
# sockperf server answers with the sequence number (8 bytes at offset 0) as it came and the
# client bit cleared: over UDP replies are matched by that number (a tag would rewrite the header
# sockperf reads, and it would answer nothing).
match_udp='"match_by": {"offset": 0, "width": 8},'
for transport in udp tcp; do
  cat > "$work/rr-$transport.json" <<JSON
{"format": 1, "profile": "rr-$transport", "transport": "$transport", "defaults": {"timeout_ms": 1000},
 $([ $transport = udp ] && echo "$match_udp")
 "executor": {"type": "closed", "vus": 1}, "threads": 1, "duration_s": $seconds, "warmup_s": 0.5,
 "setup": [{"op": "connect", "conn": "c", "options": {"nodelay": $([ $transport = tcp ] && echo true || echo false)}}],
 "iteration": [{"op": "send", "conn": "c", "hex": "$ping_hex"}, {"op": "expect", "conn": "c", "length": 64}]}
JSON
done
# The UDP round trip once more with our tag instead of match_by: the tag goes after sockperf's
# 14-byte header (udp_tag_offset), 14 + 18 + 32 = 64 bytes on the wire; the reply is checked
# for its length with the tag taken out.
tagged_hex="0000000000000001 0003 00000040 $(printf '00%.0s' $(seq 32))"
cat > "$work/rr-udp-tagged.json" <<JSON
{"format": 1, "profile": "rr-udp-tagged", "transport": "udp", "defaults": {"timeout_ms": 1000},
 "udp_sequence": true, "udp_tag_offset": 14,
 "executor": {"type": "closed", "vus": 1}, "threads": 1, "duration_s": $seconds, "warmup_s": 0.5,
 "setup": [{"op": "connect", "conn": "c"}],
 "iteration": [{"op": "send", "conn": "c", "hex": "$tagged_hex"}, {"op": "expect", "conn": "c", "length": 46}]}
JSON
# The send rate as tagged by default (udp_sequence: each datagram its own tag, 18 bytes more)
# and untagged: both are batched (GSO, else sendmmsg).
for tagged in true false; do
  cat > "$work/send-$tagged.json" <<JSON
{"format": 1, "profile": "udp-send", "transport": "udp", "udp_sequence": $tagged, "executor": {"type": "closed", "vus": 1}, "threads": 1,
 "duration_s": $seconds, "warmup_s": 0.5, "setup": [{"op": "connect", "conn": "u"}],
 "iteration": [{"op": "send", "conn": "u", "hex": "$ping_hex", "repeat": 1024}]}
JSON
done

# Prints "p50_us p99_us per_second" for one run of each kind, or fails the benchmark saying why.
ours_rr() {
  sockspec_load "sockspec $1 round trip" "$work/r.json" "0" "$work/rr-$1.json" --target "127.0.0.1:$port"
  load_figures "sockspec $1 round trip (against sockperf server)" "$work/r.json" \
    '"%s %s %s" % (l["latency"]["percentiles"]["p50"] / 1e3, l["latency"]["percentiles"]["p99"] / 1e3, l["achieved_rate"])'
}
theirs_rr() {
  local flag="" row
  [ "$1" = tcp ] && flag="--tcp"
  run_sockperf "sockperf $1 ping-pong" "$work/sockperf.txt" ping-pong -i 127.0.0.1 -p "$port" -t "$seconds" -m 64 $flag
  row=$(awk '
    /Valid Duration/ { for (i = 1; i <= NF; i++) { if ($i ~ /^RunTime=/) { sub("RunTime=", "", $i); t = $i }
                                                   if ($i ~ /^ReceivedMessages=/) { sub("ReceivedMessages=", "", $i); n = $i } } }
    /percentile 50.000/ { p50 = $NF * 2 }
    /percentile 99.000/ { p99 = $NF * 2 }
    END { print (p50 == "" ? "none" : p50), (p99 == "" ? "none" : p99), (t > 0 ? n / t : "none") }' "$work/sockperf.txt")
  # shellcheck disable=SC2086
  positive "sockperf $1 ping-pong (p50, p99, round trips/s)" $row
  echo "$row"
}
ours_send() {
  sockspec_load "sockspec udp send" "$work/s.json" "0" "$work/send-$1.json" --target "127.0.0.1:$port"
  load_figures "sockspec udp send" "$work/s.json" 'l["traffic"]["datagrams_sent"] / l["duration_s"]'
}
theirs_send() {
  local rate
  run_sockperf "sockperf udp throughput" "$work/sockperf.txt" throughput -i 127.0.0.1 -p "$port" -t "$seconds" -m 64
  rate=$(awk '/Message Rate is/ { print $(NF-1) }' "$work/sockperf.txt")
  positive "sockperf udp throughput (messages/s)" "${rate:-none}"
  echo "$rate"
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
col() { cut -d' ' -f"$1" "$2" | median; }
# Stops the benchmark when a side measured nothing: its rate is empty or 0.
measured() {  # name value
  if ! awk -v v="$2" 'BEGIN { exit !(v + 0 > 0) }'; then
    echo "bench-load: $1 measured nothing (rate '${2}'): no ratio to give" >&2
    exit 1
  fi
}

for transport in udp udp-tagged tcp; do
  : > "$work/a"; : > "$work/b"
  for _ in $(seq "$rounds"); do ours_rr $transport >> "$work/a"; theirs_rr "${transport%-tagged}" >> "$work/b"; done
  measured "sockspec $transport round trip" "$(col 3 $work/a)"
  measured "sockperf ping-pong $transport" "$(col 3 $work/b)"
  printf "%s round trip, 1 connection, 64 B:\n" "$transport"
  printf "  sockspec  p50 %8.1f us  p99 %8.1f us  %9.0f round trips/s\n" "$(col 1 $work/a)" "$(col 2 $work/a)" "$(col 3 $work/a)"
  printf "  sockperf  p50 %8.1f us  p99 %8.1f us  %9.0f round trips/s\n" "$(col 1 $work/b)" "$(col 2 $work/b)" "$(col 3 $work/b)"
  awk -v a="$(col 1 $work/a)" -v b="$(col 1 $work/b)" -v c="$(col 2 $work/a)" -v d="$(col 2 $work/b)" \
      -v e="$(col 3 $work/a)" -v f="$(col 3 $work/b)" \
      'BEGIN { printf "  ratio sockspec/sockperf: RTT p50 %.2f  RTT p99 %.2f  round trips/s %.2f\n", a/b, c/d, e/f }'
done
: > "$work/a"; : > "$work/t"; : > "$work/b"
for _ in $(seq "$rounds"); do
  ours_send true >> "$work/t"; ours_send false >> "$work/a"; theirs_send >> "$work/b"
done
measured "sockspec udp send, tagged" "$(median < $work/t)"
measured "sockspec udp send, untagged" "$(median < $work/a)"
measured "sockperf throughput" "$(median < $work/b)"
printf "udp send rate, 1 thread, 64 B (+18 B tag):\n  sockspec tagged   %10.0f datagrams/s\n  sockspec untagged %10.0f datagrams/s\n  sockperf          %10.0f datagrams/s\n" \
  "$(median < $work/t)" "$(median < $work/a)" "$(median < $work/b)"
awk -v t="$(median < $work/t)" -v a="$(median < $work/a)" -v b="$(median < $work/b)" \
  'BEGIN { printf "  ratio sockspec/sockperf: tagged %.2f  untagged %.2f\n", t/b, a/b }'

# The kernel interfaces themselves, with no engine around them: the same ping-pong with
# blocking calls (sockperf's way), epoll (the engine's) and io_uring, against the same server.
mechanisms="$(dirname "$sockspec")/io_mechanisms_bench"
if [ -x "$mechanisms" ]; then
  for transport in udp tcp; do "$mechanisms" 127.0.0.1 "$port" $transport "$seconds" "$rounds"; done
fi
