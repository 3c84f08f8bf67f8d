#!/usr/bin/env bash
# `make demo`: the built-in suites against the built-in reference servers, then the same
# suite against a deliberately broken server to show what a failure looks like.
set -uo pipefail
sockspec=$1
out=${2:-out}
mkdir -p "$out"

echo "== built-in suites against the reference servers (reports in $out/)"
"$sockspec" run --target builtin:echo --out "$out"
status=$?

echo
echo "== the same suite against a server that rewrites \\n to \\r\\n (this one is meant to fail)"
"$sockspec" run scenarios/examples/format-tour.json \
  --server-cmd "$sockspec serve echo --fault crlf --port {port}" \
  --filter format-tour/payloads-and-matchers --out "$out/faulty-crlf"
echo
echo "== a short load test: 16 connections against the reference echo, every reply checked"
"$sockspec" load scenarios/load/echo-tcp-rr.json --target builtin:echo --duration 3 --warmup 1 --out "$out"
load_status=$?
[ $status -eq 0 ] && status=$load_status

echo
echo "open in a browser: $out/index.html (conformance) and $out/load.html (load)"
echo "                   $out/faulty-crlf/index.html shows what a failure looks like"
exit $status
