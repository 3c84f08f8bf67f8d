#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build/fuzz) and runs each for SECONDS seconds
# (default 60) on a corpus seeded from scenarios/ and the report goldens. New inputs found are
# kept in build/fuzz/corpus/TARGET, so later runs start from them. A crash, leak or timeout
# stops with the input saved as build/fuzz/artifacts/TARGET-*; the script then fails.
#   scripts/fuzz.sh [SECONDS] [TARGET...]        RUNS=1000000 scripts/fuzz.sh 0 [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(scenario_fuzz profile_fuzz match_fuzz report_reader_fuzz threshold_fuzz expr_fuzz parts_fuzz frame_fuzz)
dir=build/fuzz
jobs=${JOBS:-$(nproc)}

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSOCKSPEC_FUZZ=ON \
  "${launcher[@]}" >/dev/null
cmake --build "$dir" -j "$jobs" --target fuzz_targets
[ -n "${BUILD_ONLY:-}" ] && exit 0  # scripts/test.sh builds ahead, beside the tests

# Seeds: what each reader is given in real life.
seed() {  # seed TARGET FILES...
  local t=$1
  shift
  mkdir -p "$dir/corpus/$t"
  for f in "$@"; do cp -n "$f" "$dir/corpus/$t/seed-$(basename "$f")"; done
}
seed scenario_fuzz scenarios/suites/*.json scenarios/examples/*.json
seed profile_fuzz scenarios/load/*.json
seed report_reader_fuzz reports/tests/golden/report.json
mkdir -p "$dir/corpus/threshold_fuzz" "$dir/corpus/match_fuzz" "$dir/corpus/expr_fuzz" "$dir/corpus/parts_fuzz" "$dir/corpus/frame_fuzz"
python3 - "$dir/corpus" <<'PY'
import glob, json, os, sys
out = sys.argv[1]
n = 0
for f in glob.glob("scenarios/load/*.json"):
    for t in json.load(open(f)).get("thresholds", []):
        n += 1
        open(os.path.join(out, "threshold_fuzz", f"seed-{n}"), "w").write(t)
# match_fuzz: mode byte, expected bytes, NUL, received bytes.
for i, (mode, exp, got) in enumerate([(0, b"hello\n", b"hello\n"), (0, b"hello\n", b"help"),
                                      (2, b"abc", b"abcdef"), (1, b"xxxx", b"12345678"), (9, b"", b"")]):
    open(os.path.join(out, "match_fuzz", f"seed-{i}"), "wb").write(bytes([mode]) + exp + b"\0" + got)
# expr_fuzz: an expression, NUL, 8 bytes of ${a}, then ${b}'s bytes.
for i, e in enumerate([b"${a} + 1", b"(${a} & 0x8000) != 0", b"len(${b}) < 512 && ${b} * 2",
                       b"-9223372036854775808 / -1", b"1 << 63 || ${i} % 0", b"~!-${a} >> 3 ^ 7 | 1",
                       b"GET $${x} ${a} ${b}"]):
    open(os.path.join(out, "expr_fuzz", f"seed-{i}"), "wb").write(e + b"\0" + (5).to_bytes(8, "little") + b"42")
# parts_fuzz: every parts array of the shipped suites, NUL, then a reply-like message.
for f in glob.glob("scenarios/**/*.json", recursive=True):
    if "schema" in f:
        continue
    def walk(x):
        if isinstance(x, dict):
            if isinstance(x.get("parts"), list) and "op" in x:
                yield x["parts"]
            for v in x.values():
                yield from walk(v)
        elif isinstance(x, list):
            for v in x:
                yield from walk(v)
    for parts in walk(json.load(open(f))):
        n += 1
        open(os.path.join(out, "parts_fuzz", f"seed-{n}"), "wb").write(
            json.dumps(parts).encode() + b"\0" + bytes([0, 8, 0x81, 0, 7]) + b"hello" + bytes(4))
# frame_fuzz: frame selector (2 bytes), then a stream.
for i, seed in enumerate([bytes([0x10, 0]) + b"\0\3abc\0\1z", bytes([1, 0]) + b"\x30\x02ab\xe0\x00",
                          bytes([2, 2]) + b"+OK\r\n:1\r\n", bytes([3, 3]) + b"abcdefgh"]):
    open(os.path.join(out, "frame_fuzz", f"seed-{i}"), "wb").write(seed)
PY

mkdir -p "$dir/artifacts"
status=0
for t in "${targets[@]}"; do
  bin=$(find "$dir" -type f -name "$t" -perm -u+x | head -1)
  if [ -n "${RUNS:-}" ]; then
    limit=(-runs="$RUNS") what="$RUNS runs"
  else
    limit=(-max_total_time="$seconds") what="$seconds s"
  fi
  echo "fuzz: $t for $what"
  started=$SECONDS
  # -rss_limit_mb and -timeout make a memory blow-up or a hang a failure too.
  if ! "$bin" "$dir/corpus/$t" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$dir/artifacts/$t-" \
      2> "$dir/$t.log"; then
    echo "fuzz: $t FAILED; see $dir/$t.log and $dir/artifacts/" >&2
    tail -30 "$dir/$t.log" >&2
    status=1
  fi
  grep -E "stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb" \
    "$dir/$t.log" | sed "s/^/  /"
  echo "  time: $((SECONDS - started)) s"
done
exit $status
