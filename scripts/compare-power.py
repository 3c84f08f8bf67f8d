#!/usr/bin/python3
"""How often `sockspec compare` calls a change where there is none, and how often it catches a
known one, on real runs (docs/compare.md). Not a test: it measures, and prints what it found.

Two servers run side by side for the whole measurement: the reference echo (A) and the same
echo with the slow fault holding every reply back a known time (B: --delay-us, default 50).
Each pair is two sides of RUNS load runs each (one connection, closed loop), the runs of the
two sides alternating so that drift of the machine falls on both. The servers run on CPU 0 and
the client on CPU 1 (taskset; --no-pin leaves placement to the scheduler): on a 2-core VM an
unpinned run lands its client and server on one core now and then, and its round trip drops
from ~90 us to ~15 us; such runs are a real difference between runs, which compare reports as
it should (not significant), but they measure the machine, not the tool.
  - A/A pairs: the reference echo against itself; a "slower" verdict is a false alarm;
  - A/B pairs: the reference echo against the delayed one; "slower" is a catch.
"Slower" is `sockspec compare` exiting 1 with the rule a CI job would use, --fail-on
'p50 > +10%' (past the limit and significant). Exits 1 when a run failed or measured nothing,
or when the figures miss what docs/compare.md promises (false alarms <= 1 of 10, catches 10 of
10 at the defaults).

    scripts/compare-power.py [SOCKSPEC] [--pairs 10] [--runs 5] [--seconds 1] [--delay-us 50]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROFILE = os.path.join(ROOT, "scenarios", "load", "echo-tcp-rr.json")
RULE = "p50 > +10%"


def fail(why):
    print(f"compare-power: FAILED: {why}", file=sys.stderr)
    sys.exit(1)


def start(sockspec, extra, pin):
    prefix = ["taskset", "-c", "0"] if pin else []
    p = subprocess.Popen([*prefix, sockspec, "serve", "echo", "--transport", "tcp", "--threads", "1", *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline().split()
    if len(line) != 3 or line[0] != "listening":
        p.kill()
        fail(f"sockspec serve echo {' '.join(extra)} did not start: {line} {p.stderr.read()}")
    return p, line[2]


def load(sockspec, target, report, seconds, pin):
    prefix = ["taskset", "-c", "1"] if pin else []
    r = subprocess.run([*prefix, sockspec, "load", PROFILE, "--target", target, "--connections", "1", "--threads", "1",
                        "--duration", str(seconds), "--warmup", "0.5", "--report-json", report],
                       capture_output=True, text=True, timeout=60 + 3 * seconds)
    if r.returncode not in (0, 1) or not os.path.exists(report):
        fail(f"load against {target} exited {r.returncode}: {r.stdout[-400:]} {r.stderr[-400:]}")
    with open(report) as f:
        l = json.load(f)["load"]
    if l["iterations"] == 0:
        fail(f"load against {target} completed no iteration ({report})")


def pair(sockspec, base_target, new_target, runs, seconds, pin, folder):
    base, new = [], []
    for i in range(runs):
        for side, target, files in (("base", base_target, base), ("new", new_target, new)):
            path = os.path.join(folder, f"{side}{i}.json")
            load(sockspec, target, path, seconds, pin)
            files.append(path)
    out = os.path.join(folder, "compare.json")
    r = subprocess.run([sockspec, "compare", *base, "--", *new, "--fail-on", RULE, "--json", out],
                       capture_output=True, text=True, timeout=120)
    if r.returncode not in (0, 1):
        fail(f"compare exited {r.returncode}: {r.stderr}")
    with open(out) as f:
        c = json.load(f)
    p50 = next(m for m in c["profiles"][0]["metrics"] if m["name"] == "p50")
    return r.returncode == 1, p50


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sockspec", nargs="?", default=os.path.join(ROOT, "build", "release", "harness", "sockspec"))
    ap.add_argument("--pairs", type=int, default=10)
    ap.add_argument("--runs", type=int, default=5, help="load runs a side in each pair")
    ap.add_argument("--seconds", type=float, default=1, help="measured seconds of each run")
    ap.add_argument("--delay-us", type=int, default=50)
    ap.add_argument("--no-pin", action="store_true", help="no taskset: the scheduler places both")
    a = ap.parse_args()
    pin = not a.no_pin and os.cpu_count() >= 2
    reference, ref_addr = start(a.sockspec, [], pin)
    delayed, slow_addr = start(a.sockspec, ["--fault", "slow", "--delay-us", str(a.delay_us)], pin)
    counts = {"A/A": 0, "A/B": 0}
    try:
        with tempfile.TemporaryDirectory(prefix="compare-power-") as tmp:
            print(f"rule --fail-on '{RULE}'; {a.runs} runs of {a.seconds:g} s a side, one "
                  f"connection; B: the echo with every reply {a.delay_us} us late; "
                  + ("servers on CPU 0, client on CPU 1" if pin else "not pinned"))
            print(f"{'pair':6} {'kind':4} {'verdict':8} {'p50 base':>9} {'p50 new':>9} "
                  f"{'change':>8} {'p':>7}  {'decided by':12} each run's p50 (us), base | new")
            for n in range(a.pairs):
                for kind, new_target in (("A/A", ref_addr), ("A/B", slow_addr)):
                    folder = os.path.join(tmp, f"{kind.replace('/', '')}{n}")
                    os.makedirs(folder)
                    slower, p50 = pair(a.sockspec, ref_addr, new_target, a.runs, a.seconds, pin, folder)
                    counts[kind] += slower
                    print(f"{n + 1:<6} {kind:4} {'slower' if slower else '~':8} "
                          f"{p50['base'] / 1000:8.1f}u {p50['new'] / 1000:8.1f}u "
                          f"{p50['change'] * 100:+7.1f}% {p50['p']:7.3f}  {p50['decided_by']:12} "
                          + " ".join(f"{v / 1000:.0f}" for v in p50["base_runs"]) + " | "
                          + " ".join(f"{v / 1000:.0f}" for v in p50["new_runs"]), flush=True)
    finally:
        for p in (reference, delayed):
            p.terminate()
            p.wait(timeout=10)
    print(f"A/A: {counts['A/A']} of {a.pairs} pairs called slower (false alarms)")
    print(f"A/B: {counts['A/B']} of {a.pairs} pairs called slower (caught)")
    if counts["A/A"] > a.pairs // 10 or counts["A/B"] < a.pairs:
        fail("short of docs/compare.md: false alarms <= 1 in 10, every A/B caught")


if __name__ == "__main__":
    main()
