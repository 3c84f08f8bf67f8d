#!/usr/bin/python3
"""`sockspec load` end to end: profiles, thresholds, missed starts, mismatches under load.
These assert behaviour (counts, verdicts, exit codes), never how fast anything was."""
import json
import os
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET

SOCKSPEC = os.environ.get("SOCKSPEC", "sockspec")
SCENARIOS = os.environ.get("SOCKSPEC_SCENARIOS_SRC", "scenarios")


def load(profile, *args, timeout=120):
    d = tempfile.mkdtemp()
    path = os.path.join(d, "p.json")
    with open(path, "w") as f:
        json.dump(profile, f)
    r = subprocess.run([SOCKSPEC, "load", path, "--out", d, *args], capture_output=True, text=True, timeout=timeout)
    report = None
    if os.path.exists(os.path.join(d, "load-report.json")):
        with open(os.path.join(d, "load-report.json")) as f:
            report = json.load(f)
    return r, report, d


def profile(**kw):
    p = {"format": 1, "profile": "t", "transport": "tcp", "defaults": {"timeout_ms": 1000},
         "executor": {"type": "closed", "vus": 2}, "duration_s": 0.5, "warmup_s": 0,
         "setup": [{"op": "connect", "conn": "c"}],
         "iteration": [{"op": "send", "conn": "c", "text": "ping ${client}\n"}, {"op": "expect", "conn": "c", "echo": True}]}
    p.update(kw)
    return p


class LoadRuns(unittest.TestCase):
    def test_a_closed_loop_against_echo_checks_every_reply_and_passes_its_thresholds(self):
        r, rep, _ = load(profile(thresholds=["error_rate == 0", "iterations > 10"]), "--target", "builtin:echo")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        l = rep["load"]
        self.assertEqual(rep["kind"], "load")
        self.assertEqual(l["errors"], 0)
        self.assertGreater(l["iterations"], 10)
        self.assertEqual(l["latency"]["count"], l["iterations"])
        self.assertEqual(sum(n for _, n in l["latency"]["buckets"]), l["iterations"])
        self.assertTrue(all(t["passed"] for t in l["thresholds"]))
        self.assertGreaterEqual(len(l["series"]), 1)

    def test_the_built_in_profiles_run(self):
        for name in ("echo-tcp-rr", "echo-udp-rr"):
            with self.subTest(profile=name):
                r = subprocess.run([SOCKSPEC, "load", os.path.join(SCENARIOS, "load", name + ".json"), "--target",
                                    "builtin:echo", "--duration", "1", "--warmup", "0"],
                                   capture_output=True, text=True, timeout=60)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_a_failing_threshold_exits_1_and_is_a_failed_junit_testcase(self):
        r, rep, d = load(profile(thresholds=["error_rate < 1%", "p99 < 1ns"]), "--target", "builtin:echo")
        self.assertEqual(r.returncode, 1)
        self.assertIn("FAIL p99 < 1ns", r.stdout)
        self.assertIn("PASS error_rate < 1%", r.stdout)
        suite = ET.parse(os.path.join(d, "load-junit.xml")).getroot().find("testsuite")
        cases = {c.get("name"): c for c in suite.findall("testcase")}
        self.assertIsNone(cases["error_rate < 1%"].find("failure"))
        self.assertIsNotNone(cases["p99 < 1ns"].find("failure"))

    def test_mismatched_replies_under_load_are_counted_with_their_bytes(self):
        cmd = f"{SOCKSPEC} serve echo --fault crlf --port {{port}}"
        r, rep, _ = load(profile(thresholds=["error_rate < 1%"]), "--server-cmd", cmd)
        self.assertEqual(r.returncode, 1, r.stdout)
        l = rep["load"]
        self.assertEqual(l["iterations"], 0)
        self.assertGreater(l["errors"], 0)
        self.assertEqual(l["errors_by_kind"], {"mismatch": l["errors"]})
        first = l["first_errors"][0]
        self.assertEqual(first["kind"], "mismatch")
        self.assertTrue(first["mismatch"]["actual_text"].endswith("\\r\\n"), first)

    def test_a_server_slower_than_the_rate_makes_missed_starts_and_an_invalid_run(self):
        cmd = f"{SOCKSPEC} serve echo --fault slow --delay-ms 200 --port {{port}}"
        p = profile(executor={"type": "constant-rate", "rate": 100, "connections": 2}, duration_s=1,
                    defaults={"timeout_ms": 2000})
        r, rep, _ = load(p, "--server-cmd", cmd)
        self.assertEqual(r.returncode, 1, r.stdout)
        l = rep["load"]
        self.assertFalse(l["rate_kept"])
        self.assertEqual(l["scheduled"], 100)  # 100/s for 1 s
        # 2 connections at 200 ms per reply start at most ~10 of them; the rest never start.
        self.assertGreaterEqual(l["missed_starts"], 80)
        self.assertLessEqual(l["iterations"] + l["missed_starts"] + l["errors"], l["scheduled"])
        self.assertIn("did not keep the asked rate", r.stdout)
        # Latency counts from the scheduled start, service time from the send: waiting shows.
        self.assertGreater(l["latency"]["percentiles"]["p99"], l["service"]["percentiles"]["p99"])

    def test_invalid_profiles_exit_2_with_pointers(self):
        p = profile(executor={"type": "constant-rate"}, thresholds=["p99 < 2"],
                    iteration=[{"op": "send", "conn": "nope", "text": "x"}])
        r, _, _ = load(p, "--target", "builtin:echo")
        self.assertEqual(r.returncode, 2)
        self.assertIn(":/executor/rate: is required for constant-rate", r.stderr)
        self.assertIn(":/thresholds/0: 'p99' needs a time unit", r.stderr)
        self.assertIn(":/iteration/0/conn: conn 'nope' is not open", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
