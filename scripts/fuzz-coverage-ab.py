#!/usr/bin/python3
"""Time to each planted bug with coverage feedback and without (a benchmark: it prints figures
and judges none). The five servers of harness/tests/planted/ are built once with clang's
trace-pc-guard and sockspec's coverage runtime; each is fuzzed from its ordinary suite with
seeds 1..N, once with feedback and once with --no-coverage (the same binary: only the feedback
differs), the two sides alternating which goes first. A side that found nothing within the
limit, or did not run as it should, fails the benchmark: a missing figure is not a zero.

    scripts/fuzz-coverage-ab.py [SOCKSPEC] [--seeds N] [--limit SECONDS]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLANTED = os.path.join(ROOT, "harness", "tests", "planted")
RUNTIME = os.path.join(ROOT, "harness", "coverage_runtime")
SERVERS = ["length_overflow", "double_hello", "token_login", "zero_frame_hang", "udp_truncated"]
CFLAGS = ["-g", "-O1", "-fsanitize=address,undefined", "-fno-omit-frame-pointer",
          "-fsanitize-coverage=trace-pc-guard"]


def fail(why):
    sys.exit(f"fuzz-coverage-ab: FAILED: {why}")


def campaign(sockspec, exe, name, seed, limit, coverage, tmp):
    out = os.path.join(tmp, f"{name}-{seed}-{'cov' if coverage else 'bb'}")
    cmd = [sockspec, "fuzz", os.path.join(PLANTED, name + ".json"), "--server-cmd", f"{exe} {{port}}",
           "--seed", str(seed), "--max-findings", "1", "--duration", str(limit), "--minimize-budget", "0",
           "--out", out] + ([] if coverage else ["--no-coverage"])
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=limit + 300)
    side = "with coverage" if coverage else "black-box"
    if r.returncode != 1:
        fail(f"{name} seed {seed} {side}: exit {r.returncode}, no finding within {limit} s\n{r.stdout[-2000:]}")
    with open(os.path.join(out, "report.json")) as f:
        report = json.load(f)
    notes = " ".join(report["notes"])
    if coverage != ("coverage feedback" in notes):
        fail(f"{name} seed {seed} {side}: the campaign ran in the other mode: {notes}")
    m = re.search(r"; input (\d+) after ([0-9.]+) s", report["suites"][0]["cases"][1]["reason"])
    if not m:
        fail(f"{name} seed {seed} {side}: no input count in the finding")
    return int(m.group(1)), float(m.group(2))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sockspec", nargs="?", default=os.path.join(ROOT, "build", "release", "harness", "sockspec"))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--limit", type=int, default=120, help="seconds each campaign may take")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'server':16} {'seed':>4} {'inputs cov':>10} {'s cov':>7} {'inputs bb':>9} {'s bb':>7}")
        ratios = []
        for name in SERVERS:
            exe = os.path.join(tmp, name)
            subprocess.run(["clang", *CFLAGS, "-I", RUNTIME, "-o", exe, os.path.join(PLANTED, name + ".c"),
                            os.path.join(RUNTIME, "sockspec-coverage.c")], check=True)
            cov_s, bb_s = [], []
            for seed in range(1, a.seeds + 1):
                order = [True, False] if seed % 2 else [False, True]
                got = {c: campaign(a.sockspec, exe, name, seed, a.limit, c, tmp) for c in order}
                print(f"{name:16} {seed:>4} {got[True][0]:>10} {got[True][1]:>7.1f} "
                      f"{got[False][0]:>9} {got[False][1]:>7.1f}", flush=True)
                cov_s.append(got[True][0])
                bb_s.append(got[False][0])
            mc, mb = statistics.median(cov_s), statistics.median(bb_s)
            ratios.append(mc / mb if mb else float("inf"))
            print(f"{name:16} median inputs to the bug: {mc:g} with coverage, {mb:g} black-box "
                  f"(ratio {ratios[-1]:.2f})")
        print(f"geometric mean of the ratios (below 1: coverage found it in fewer inputs): "
              f"{statistics.geometric_mean(ratios):.2f}")


if __name__ == "__main__":
    main()
