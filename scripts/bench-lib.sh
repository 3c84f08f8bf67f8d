# Sourced by scripts/bench-*.sh. A benchmark prints figures and asserts nothing about them, but
# a side that errored or measured nothing must not print zeros and ratios as if it had run: it
# stops the benchmark with exit status 1 and says why (bench_fail). Clients run under the
# caller's `client_cpu` command prefix (taskset), when it sets one.
# shellcheck shell=bash

bench_fail() {
  printf '%s: FAILED: %s\n' "$(basename "$0")" "$*" >&2
  exit 1
}

# positive WHAT VALUE...: each VALUE must be a number above zero ("measured something").
positive() {
  local what=$1 v
  shift
  [ $# -gt 0 ] || bench_fail "$what: no figures at all"
  for v in "$@"; do
    awk -v v="$v" 'BEGIN { exit !(v ~ /^[-+]?[0-9.]+([eE][-+]?[0-9]+)?$/ && v + 0 > 0) }' ||
      bench_fail "$what measured nothing: got '$v' in '$*'"
  done
}

# sockspec_load WHAT REPORT OK_CODES ARGS...: runs `sockspec load ARGS... --report-json REPORT`
# (its console output kept in REPORT.log); an exit status not in OK_CODES ("0" or "0 1": 1 is a
# failed threshold or a rate not kept, a measurement all the same) or no report fails the
# benchmark, with the tail of that output.
sockspec_load() {
  local what=$1 report=$2 ok=$3 rc=0
  shift 3
  rm -f "$report"
  ${client_cpu[@]+"${client_cpu[@]}"} "$sockspec" load "$@" --report-json "$report" > "$report.log" 2>&1 || rc=$?
  if [[ " $ok " != *" $rc "* ]] || [ ! -s "$report" ]; then
    tail -n 15 "$report.log" >&2
    bench_fail "$what: sockspec load exited with status $rc$([ -s "$report" ] || echo ', no report')"
  fi
}

# run_sockperf WHAT OUT ARGS...: runs `sockperf ARGS...` with its console output in OUT; a
# non-zero exit fails the benchmark, with the tail of that output.
run_sockperf() {
  local what=$1 out=$2 rc=0
  shift 2
  ${client_cpu[@]+"${client_cpu[@]}"} sockperf "$@" > "$out" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then
    tail -n 15 "$out" >&2
    bench_fail "$what: sockperf exited with status $rc"
  fi
}

# load_figures WHAT REPORT EXPR [ALLOW_ERRORS]: prints EXPR (Python, over the report's "load"
# section as `l`) once the run is known to have measured: at least one iteration, and no
# errors unless ALLOW_ERRORS is 1 (an overloaded open-loop step times out by design).
load_figures() {
  python3 - "$@" <<'PY' || bench_fail "$1: see above"
import json, sys
what, path, expr = sys.argv[1:4]
allow_errors = len(sys.argv) > 4 and sys.argv[4] == "1"
l = json.load(open(path))["load"]
n, errors = l.get("iterations", 0), l.get("errors", 0)
kinds = ", ".join(f"{k} {v}" for k, v in sorted(l.get("errors_by_kind", {}).items()))
detail = f" ({kinds})" if kinds else ""
if n <= 0:
    sys.exit(f"{what}: nothing was measured: 0 iterations, {errors} errors{detail}")
if errors > 0 and not allow_errors:
    sys.exit(f"{what}: {errors} errors{detail} in {n} iterations")
print(eval(expr, {"l": l}))
PY
}

# cpu_times OUT CMD...: runs CMD and writes its CPU time to OUT as "USER_S SYS_S" (its own and
# its threads', from wait4: exact to the microsecond, where bash's `times` gives only the sum
# over every child at 10 ms). Exits with CMD's status. Usable as a `client_cpu` prefix.
cpu_times() {
  python3 - "$@" <<'PY'
import os, sys
out, argv = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    except OSError as e:
        print(f"{argv[0]}: {e}", file=sys.stderr)
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(out, "w") as f:
    f.write(f"{usage.ru_utime:.6f} {usage.ru_stime:.6f}\n")
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
PY
}
