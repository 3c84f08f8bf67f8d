#!/usr/bin/python3
"""The planted bugs, seed after seed, checked as docs/fuzz.md promises: each of the five servers
of harness/tests/planted/ (built with AddressSanitizer and UBSan, as the tests build them) is
fuzzed from its ordinary suite with seeds 1..N. For each campaign it checks that the bug was
found within the limit, written once (one file in findings/, though the campaign goes on after
it for --max-execs inputs), that the reproducer replays (`sockspec run` exits 1), and that it
keeps no step the bug does not need: each step of the input, left out in turn, must make the bug
go away (no sanitizer report; for the hang, the liveness steps pass). Prints a line per
campaign; exit 1 on the first campaign that does not hold.

    scripts/fuzz-planted.py [SOCKSPEC] [--seeds N] [--limit SECONDS] [--jobs N] [--servers A,B]
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLANTED = os.path.join(ROOT, "harness", "tests", "planted")
CFLAGS = ["-g", "-O1", "-fsanitize=address,undefined", "-fno-omit-frame-pointer"]
HANGS = {"zero_frame_hang"}  # found by the liveness check; the others by a sanitizer report
SERVERS = ["length_overflow", "double_hello", "token_login", "zero_frame_hang", "udp_truncated"]
AFTER = 1500  # inputs a campaign runs in all, so hits after the first are seen (and not written)


def fail(why):
    sys.exit(f"fuzz-planted: FAILED: {why}")


def bug_shows(report, hang):
    """Whether a `sockspec run` report of a reproducer shows the bug."""
    if report.get("exit_code") != 1:
        return False
    if not hang:
        err = (report.get("server") or {}).get("stderr", "")
        return "Sanitizer" in err or "runtime error" in err
    for suite in report["suites"]:
        for case in suite["cases"]:
            for step in case["steps"]:
                if step.get("label", "").startswith("still answering") and step["verdict"] != "pass":
                    return True
    return False


def replay(sockspec, suite, cmd, tmp, name):
    path = os.path.join(tmp, name + ".json")
    with open(path, "w") as f:
        json.dump(suite, f)
    rep = os.path.join(tmp, name + "-report.json")
    if os.path.exists(rep):
        os.remove(rep)
    subprocess.run([sockspec, "run", path, "--server-cmd", cmd, "--report-json", rep],
                   capture_output=True, text=True, timeout=300)
    if not os.path.exists(rep):
        return None  # not a valid suite any more: the step was needed
    with open(rep) as f:
        return json.load(f)


def check(sockspec, name, exe, seed, limit, jobs, tmp):
    out = os.path.join(tmp, f"{name}-{seed}")
    cmd = f"{exe} {{port}}"
    r = subprocess.run([sockspec, "fuzz", os.path.join(PLANTED, name + ".json"), "--server-cmd", cmd,
                        "--seed", str(seed), "--duration", str(limit), "--max-execs", str(AFTER),
                        "--jobs", str(jobs), "--out", out], capture_output=True, text=True,
                       timeout=limit + 600)
    if r.returncode != 1:
        fail(f"{name} seed {seed}: exit {r.returncode}, no finding\n{r.stdout[-2000:]}")
    files = glob.glob(os.path.join(out, "findings", "*.json"))
    if len(files) != 1:
        fail(f"{name} seed {seed}: {len(files)} reproducers, not one: {files}")
    with open(os.path.join(out, "report.json")) as f:
        finding = json.load(f)["suites"][0]["cases"][1]
    m = re.search(r"input (\d+) after ([\d.]+) s, hit by (\d+) input", finding["reason"])
    after, hits = float(m.group(2)), int(m.group(3))
    if after > limit:
        fail(f"{name} seed {seed}: found after {after} s, over {limit}")
    with open(files[0]) as f:
        suite = json.load(f)
    hang = name in HANGS
    if not bug_shows(replay(sockspec, suite, cmd, tmp, "as-written"), hang):
        fail(f"{name} seed {seed}: the reproducer does not replay ({files[0]})")
    steps = suite["cases"][0]["steps"]
    # The input is what comes before the closes of its connections and the liveness check's
    # steps (on "live-..." connections).
    n = next((i for i, s in enumerate(steps) if str(s.get("conn", "")).startswith("live-")
              or s.get("label", "").startswith("the input's connections close")), len(steps))
    for i in range(n):
        without = json.loads(json.dumps(suite))
        del without["cases"][0]["steps"][i]
        rep = replay(sockspec, without, cmd, tmp, f"without-{i}")
        if rep is not None and bug_shows(rep, hang):
            fail(f"{name} seed {seed}: step {i} ({steps[i]['op']}) is not needed; the input: "
                 f"{json.dumps(steps[:n])[:3000]}")
    print(f"{name} seed {seed}: found after {after:.1f} s (input {m.group(1)}), hit by {hits} of "
          f"{AFTER} inputs, one reproducer of {n} input step(s), each needed; it replays", flush=True)
    return after


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sockspec", nargs="?", default=os.path.join(ROOT, "build", "release", "harness", "sockspec"))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--limit", type=float, default=120)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--servers", default=",".join(SERVERS), help="comma-separated, of " + ", ".join(SERVERS))
    a = ap.parse_args()
    sockspec = os.path.abspath(a.sockspec)
    with tempfile.TemporaryDirectory() as tmp:
        worst = {}
        for name in a.servers.split(","):
            if name not in SERVERS:
                fail(f"no planted server {name!r}")
            exe = os.path.join(tmp, name)
            subprocess.run(["gcc", *CFLAGS, "-o", exe, os.path.join(PLANTED, name + ".c")], check=True)
            worst[name] = max(check(sockspec, name, exe, seed, a.limit, a.jobs, tmp)
                              for seed in range(1, a.seeds + 1))
        print("slowest find per bug: " + ", ".join(f"{k} {v:.1f} s" for k, v in worst.items()))


if __name__ == "__main__":
    main()
