#!/usr/bin/env bash
# sockspec load against wrk as HTTP/1.1 keep-alive clients of Debian's nginx, in one run,
# alternating A/B so drift on the machine hits both sides alike. Both fetch the same static page
# over persistent connections, closed loop, one client thread, 16 then 256 connections:
#   - `sockspec load scenarios/load/http-keepalive-get.json`: every response read by its
#     Content-Length, its status line and body checked byte for byte;
#   - `wrk -t1 -cN --latency`: it parses each response (to find its end) and checks nothing.
# For each side: requests/s, and the client's CPU time (user and sys, from wait4) per request.
# A benchmark, not a test: it prints figures and ratios and asserts nothing about them; a side
# that errored or measured nothing (0 requests, any sockspec error, wrk's socket errors or
# non-2xx responses) stops it with exit status 1 and the reason (scripts/bench-lib.sh).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/bench-lib.sh"
sockspec=${1:-build/release/harness/sockspec}
rounds=${ROUNDS:-3}
# wrk takes whole seconds only.
seconds=${SECONDS_PER_RUN:-4}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || bench_fail "ROUNDS must be a whole number above 0, got '$rounds'"
[[ $seconds =~ ^[1-9][0-9]*$ ]] || bench_fail "SECONDS_PER_RUN must be a whole number above 0, got '$seconds'"
src=$(cd "$(dirname "$0")/.." && pwd)
profile=$src/scenarios/load/http-keepalive-get.json
command -v wrk > /dev/null || bench_fail "wrk is not installed (scripts/install-deps.sh bench)"
# sbin is not on every user's PATH.
nginx=$(PATH=$PATH:/usr/sbin:/sbin command -v nginx) || bench_fail "nginx is not installed (scripts/install-deps.sh bench)"

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port/index.html
# The nginx of the protocol suite (docs/protocols.md: its defaults, access log on, pid, logs and
# temporary files in our folder, serving scenarios/protocols/fixtures/http) with one change:
# keepalive_requests. At its default of 1000 nginx ends a connection after 1000 responses; wrk
# then reconnects, but a profile cannot, and would count an error every 1000 requests per
# connection. Raised out of reach, neither client reconnects, and both measure keep-alive alone.
sed -e "s|@PORT@|$port|g" -e "s|@TMP@|$work|g" -e "s|@ROOT@|$src/scenarios/protocols/fixtures/http|g" \
    -e 's|^http {$|&\n    keepalive_requests 1000000000;|' \
    "$src/scenarios/protocols/fixtures/nginx.conf.in" > "$work/nginx.conf"
grep -q '^    keepalive_requests ' "$work/nginx.conf" ||
  bench_fail "scenarios/protocols/fixtures/nginx.conf.in has no 'http {' line to raise keepalive_requests in"
# Its own session, so that stopping it reaches the worker too, even if the master died first.
# One worker (nginx's own default, said here since Debian's packaged conf says "auto").
setsid "$nginx" -p "$work" -c "$work/nginx.conf" -g 'worker_processes 1;' > "$work/nginx.err" 2>&1 &
nginx_pid=$!
# True while a process of nginx's session is still running (zombies aside: pgrep counts them).
# shellcheck disable=SC2009
nginx_left() { ps -o stat= -s "$nginx_pid" 2> /dev/null | grep -qv '^Z'; }
stop_nginx() {
  kill -TERM -- "-$nginx_pid" 2> /dev/null || true
  for _ in $(seq 50); do nginx_left || break; sleep 0.1; done
  kill -KILL -- "-$nginx_pid" 2> /dev/null || true
  wait "$nginx_pid" 2> /dev/null || true
}
trap 'stop_nginx; rm -rf "$work"' EXIT
# An interrupted run still stops nginx (EXIT runs on exit, which these make of the signals).
trap 'exit 130' INT
trap 'exit 143' TERM
for _ in $(seq 100); do
  nginx_left || { tail -n 5 "$work/nginx.err" >&2; bench_fail "nginx exited before it listened on port $port"; }
  if (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; then break; fi
  sleep 0.1
done
(exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null || bench_fail "nginx did not listen on port $port within 10 s"
body_bytes=$(wc -c < "$src/scenarios/protocols/fixtures/http/index.html")
floor="$(dirname "$sockspec")/keepalive_floor_bench"  # built when liburing-dev is installed

# Each prints "requests/s cpu_us user_us sys_us p50_us p99_us" for one run (CPU per request), or
# fails the benchmark saying why. CPU is the client process's whole life, start and end included,
# so the requests it is divided by must be all of them: wrk counts every response of its run,
# and sockspec runs with no warm-up (--warmup 0) so that its iterations are all it made.
ours() {
  local c=$1 row
  client_cpu=(cpu_times "$work/cpu")
  sockspec_load "sockspec, $c connections" "$work/r.json" "0 1" "$profile" --target "127.0.0.1:$port" \
    --connections "$c" --threads 1 --duration "$seconds" --warmup 0
  client_cpu=()
  row=$(load_figures "sockspec, $c connections (against nginx)" "$work/r.json" \
    '"%d %s %s %s" % (l["iterations"], l["achieved_rate"], l["latency"]["percentiles"]["p50"] / 1e3, l["latency"]["percentiles"]["p99"] / 1e3)')
  # shellcheck disable=SC2086
  per_request $row
}
theirs() {
  local c=$1 rc=0 row
  cpu_times "$work/cpu" wrk -t1 -c"$c" -d"${seconds}s" --latency "$url" > "$work/wrk.txt" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then
    tail -n 15 "$work/wrk.txt" >&2
    bench_fail "wrk, $c connections: exited with status $rc"
  fi
  # wrk prints these lines only when something went wrong: a closed or refused connection, a
  # timeout, or a status other than 2xx/3xx.
  if grep -E 'Socket errors|Non-2xx' "$work/wrk.txt" >&2; then
    bench_fail "wrk, $c connections: errors (above) in $(awk '$2 == "requests" && $3 == "in" { print $1 }' "$work/wrk.txt") requests"
  fi
  row=$(awk '
    function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1e3; if (v ~ /m$/) return v * 6e7; return v * 1e6 }
    $1 == "50%" { p50 = us($2) }
    $1 == "99%" { p99 = us($2) }
    $2 == "requests" && $3 == "in" { n = $1 }
    $1 == "Requests/sec:" { rate = $2 }
    END { print (n == "" ? "none" : n), (rate == "" ? "none" : rate), (p50 == "" ? "none" : p50), (p99 == "" ? "none" : p99) }' "$work/wrk.txt")
  # shellcheck disable=SC2086
  positive "wrk, $c connections (requests, requests/s, p50, p99)" $row
  # shellcheck disable=SC2086
  per_request $row
}
# per_request REQUESTS RATE P50 P99, with the client's CPU in $work/cpu: the row described above.
per_request() {
  read -r user sys < "$work/cpu"
  awk -v n="$1" -v rate="$2" -v p50="$3" -v p99="$4" -v u="$user" -v s="$sys" \
    'BEGIN { printf "%.0f %.3f %.3f %.3f %.1f %.1f\n", rate, (u + s) * 1e6 / n, u * 1e6 / n, s * 1e6 / n, p50, p99 }'
  # nginx logs every request, as by default; emptied between runs so the log stays small (it
  # writes with O_APPEND, so it goes on at the new end).
  : > "$work/access.log"
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
col() { cut -d' ' -f"$1" "$2" | median; }
range() { cut -d' ' -f"$1" "$2" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo, hi }'; }
side() {  # name file
  printf "  %-8s %7.0f req/s  CPU %5.2f us/req (user %5.2f, sys %5.2f)  p50 %7.1f us  p99 %7.1f us\n" \
    "$1" "$(col 1 "$2")" "$(col 2 "$2")" "$(col 3 "$2")" "$(col 4 "$2")" "$(col 5 "$2")" "$(col 6 "$2")"
}

# The load average says how much the figures may owe to other work on the machine.
printf "HTTP/1.1 keep-alive GET of a %d-byte page from %s (1 worker), 1 client thread, %d s a run, %d round(s); load average %s\n" \
  "$body_bytes" "$("$nginx" -v 2>&1 | sed 's|.*: ||')" "$seconds" "$rounds" "$(cut -d' ' -f1 /proc/loadavg)"
for c in 16 256; do
  : > "$work/a"; : > "$work/b"; : > "$work/ratio"
  echo "$c connections:"
  for r in $(seq "$rounds"); do
    # Not $(ours): a command substitution would not stop at a failure inside (errexit).
    ours "$c" >> "$work/a"; theirs "$c" >> "$work/b"
    read -r ra ca ua sa _ < <(tail -n 1 "$work/a")
    read -r rb cb ub sb _ < <(tail -n 1 "$work/b")
    awk -v ra="$ra" -v rb="$rb" -v ca="$ca" -v cb="$cb" 'BEGIN { print ra / rb, ca / cb }' >> "$work/ratio"
    printf "  round %d  sockspec %7.0f req/s %6.2f us/req (user %5.2f, sys %5.2f)   wrk %7.0f req/s %6.2f us/req (user %5.2f, sys %5.2f)\n" \
      "$r" "$ra" "$ca" "$ua" "$sa" "$rb" "$cb" "$ub" "$sb"
  done
  echo " medians:"
  side sockspec "$work/a"
  side wrk "$work/b"
  printf "  ratio sockspec/wrk, median (range over rounds): req/s %.2f (%s)  CPU per request %.2f (%s)\n" \
    "$(col 1 "$work/ratio")" "$(range 1 "$work/ratio")" "$(col 2 "$work/ratio")" "$(range 2 "$work/ratio")"
  # The same requests with nothing parsed or checked, by epoll and by io_uring: what the kernel
  # alone costs a client here (the floor under both clients above), and which way is cheaper.
  if [ -x "$floor" ]; then
    "$floor" 127.0.0.1 "$port" /index.html "$c" "$seconds" "$rounds" > "$work/floor.txt" 2>&1 ||
      { cat "$work/floor.txt" >&2; bench_fail "keepalive_floor_bench, $c connections"; }
    sed 's/^/ /' "$work/floor.txt"
    : > "$work/access.log"
  else
    echo "  (no floor: $floor was not built; liburing-dev was missing when the build was configured)"
  fi
done
