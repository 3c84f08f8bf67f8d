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
echo "reports: $out/report.json $out/junit.xml (and the failing run in $out/faulty-crlf/)"
exit $status
