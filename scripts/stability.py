#!/usr/bin/python3
"""Verdict stability: runs every built-in suite against every reference server N times at
each --jobs count and lists every case whose verdict is not the same in all runs.

    scripts/stability.py SOCKSPEC [--runs N] [--jobs 1,4] [--services echo,time] [--out DIR]

A case that passes at --jobs 1 and warns at --jobs 2, or fails one run in ten, is a verdict
nobody can trust: the goal is zero such cases. Exit 0 when every verdict held, 1 when one
changed, 2 on bad usage or when a run could not be made at all.
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile

SERVICES = ["echo", "discard", "chargen", "daytime", "time", "upper", "chat"]


def verdicts(report_file):
    with open(report_file) as f:
        report = json.load(f)
    return {s["name"] + "/" + c["id"]: c["verdict"] for s in report["suites"] for c in s["cases"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sockspec", help="the sockspec binary")
    ap.add_argument("--runs", type=int, default=10, help="runs per service and job count (default 10)")
    ap.add_argument("--jobs", default=f"1,{os.cpu_count() or 1}",
                    help="comma-separated --jobs values (default 1 and the number of cores)")
    ap.add_argument("--services", default=",".join(SERVICES), help="reference services (default all)")
    ap.add_argument("--out", help="keep the reports here (default a temporary folder)")
    a = ap.parse_args()
    jobs = sorted({int(j) for j in a.jobs.split(",") if j})
    services = [s for s in a.services.split(",") if s]
    unknown = [s for s in services if s not in SERVICES]
    if a.runs < 1 or not jobs or min(jobs) < 1 or unknown:
        ap.error(f"--runs and --jobs must be >= 1; unknown services: {unknown}")
    out = a.out or tempfile.mkdtemp(prefix="sockspec-stability-")

    seen = collections.defaultdict(lambda: collections.defaultdict(list))  # case -> verdict -> runs
    total = restarts = 0
    for svc in services:
        for j in jobs:
            for n in range(a.runs):
                report = os.path.join(out, f"{svc}-j{j}-run{n}.json")
                # Exit 3 (the server did not start: e.g. its ephemeral port was taken by another
                # program between the probe and the bind) says nothing of a verdict: try again,
                # at most three times.
                for _ in range(3):
                    r = subprocess.run([a.sockspec, "run", "--target", f"builtin:{svc}", "-j", str(j),
                                        "--report-json", report], capture_output=True, text=True, timeout=600)
                    if r.returncode != 3:
                        break
                    restarts += 1
                if r.returncode not in (0, 1) or not os.path.exists(report):
                    print(f"stability: builtin:{svc} -j{j} run {n} could not run (exit {r.returncode}):\n"
                          f"{r.stdout}{r.stderr}", file=sys.stderr)
                    return 2
                for case, v in verdicts(report).items():
                    seen[f"{svc}: {case}"][v].append(f"j{j}#{n}")
                total += 1
    changed = {c: vs for c, vs in seen.items() if len(vs) > 1}
    print(f"{total} runs ({a.runs} per service and job count; --jobs {','.join(map(str, jobs))}; "
          f"services {','.join(services)}), {len(seen)} cases, {len(changed)} with a changing verdict"
          + (f"; {restarts} run(s) repeated because the server did not start" if restarts else ""))
    for case, vs in sorted(changed.items()):
        detail = "; ".join(f"{v} in {len(runs)} ({', '.join(runs[:6])}{'...' if len(runs) > 6 else ''})"
                           for v, runs in sorted(vs.items()))
        print(f"  {case}: {detail}")
    not_pass = sorted(c for c, vs in seen.items() if len(vs) == 1 and "pass" not in vs)
    for case in not_pass:
        print(f"  steady but not passing: {case}: {next(iter(seen[case]))}")
    print(f"reports: {out}")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
