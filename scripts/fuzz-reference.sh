#!/usr/bin/env bash
# Fuzzes every reference server from its built-in suites for SECONDS in all (default 600, the
# same share each), one `sockspec fuzz --target builtin:SERVICE` after another. Any finding
# fails the script (exit 1) and names its reproducer; a campaign that could not run fails it
# too (its exit status). Reports go to OUT/SERVICE/ (default fuzz-reference-out/).
#   scripts/fuzz-reference.sh [SECONDS]      SOCKSPEC=path/to/sockspec SEED=N OUT=DIR JOBS=N
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
sockspec=${SOCKSPEC:-build/release/harness/sockspec}
out=${OUT:-fuzz-reference-out}
services=(echo upper chat daytime time discard chargen)
share=$(awk -v s="$seconds" -v n=${#services[@]} 'BEGIN { printf "%.1f", s / n }')
seed_args=()
[ -n "${SEED:-}" ] && seed_args=(--seed "$SEED")
failed=0
for s in "${services[@]}"; do
  echo "== builtin:$s for $share s"
  rc=0
  "$sockspec" fuzz --target "builtin:$s" --duration "$share" --out "$out/$s" --jobs "${JOBS:-1}" \
    ${seed_args[@]+"${seed_args[@]}"} || rc=$?
  case $rc in
    0) ;;
    1) echo "fuzz-reference: builtin:$s: a finding (see $out/$s/findings/)" >&2; failed=1 ;;
    *) echo "fuzz-reference: builtin:$s: sockspec fuzz exited with status $rc" >&2; exit "$rc" ;;
  esac
done
exit "$failed"
