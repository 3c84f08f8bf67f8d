#!/usr/bin/python3
"""End-to-end tests of --impair and the impair step: conditions that show in what the
clients see and in the relay's counts (never in a timing bound, except latency that must be
at least the delay asked for).

Every server listens on loopback, on a port the kernel picks.
"""
import json
import os
import re
import subprocess
import tempfile
import unittest

SOCKSPEC = os.environ.get("SOCKSPEC", "sockspec")
SCENARIOS = os.environ.get("SOCKSPEC_SCENARIOS_SRC", "scenarios")
EXAMPLE = os.path.join(SCENARIOS, "examples", "impairments.json")


def run(*args, timeout=180):
    return subprocess.run([SOCKSPEC, *args], capture_output=True, text=True, timeout=timeout)


def load_json(path):
    with open(path) as f:
        return json.load(f)


def suite_file(folder, cases, transport="tcp"):
    path = os.path.join(folder, "suite.json")
    with open(path, "w") as f:
        json.dump({"format": 1, "suite": "t", "title": "t", "transport": transport,
                   "cases": cases}, f)
    return path


class ImpairSteps(unittest.TestCase):
    def test_the_example_suite_passes_at_one_and_two_jobs_and_reports_the_network(self):
        for jobs in ("1", "2"):
            with tempfile.TemporaryDirectory() as out:
                r = run("run", EXAMPLE, "--target", "builtin:echo", "--jobs", jobs,
                        "--report-json", os.path.join(out, "r.json"))
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                report = load_json(os.path.join(out, "r.json"))
                cases = {c["id"]: c for s in report["suites"] for c in s["cases"]}
                self.assertEqual(len(cases), 8)
                dup = cases["udp-every-third-duplicated"]["impairment"]
                self.assertIn("then to-server duplicate every 3", dup)
                self.assertIn("datagrams to server: 3 arrived, 4 sent", dup)
                self.assertIn("1 duplicated", dup)
                cut = cases["udp-cut-and-restored"]["impairment"]
                self.assertIn("3 arrived, 2 sent, 1 dropped", cut)
                reset = cases["tcp-reset-after-10-bytes"]["impairment"]
                self.assertIn("10 bytes to client", reset)
                self.assertIn("1 reset", reset)

    def test_a_stalled_link_runs_into_the_steps_deadline(self):
        with tempfile.TemporaryDirectory() as d:
            path = suite_file(d, [{"id": "stalled", "title": "t", "steps": [
                {"op": "impair", "spec": "stall"},
                {"op": "connect", "conn": "c"},
                {"op": "send", "conn": "c", "text": "x"},
                {"op": "expect", "conn": "c", "text": "x", "timeout_ms": 300}]}])
            r = run("run", path, "--target", "builtin:echo")
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("FAIL  t/stalled", r.stdout)
            self.assertIn("300 ms", r.stdout)
            self.assertIn("network: none, then stall", r.stdout)

    def test_a_reset_after_n_bytes_towards_the_server_passes_exactly_n_then_resets(self):
        with tempfile.TemporaryDirectory() as d:
            path = suite_file(d, [{"id": "cut", "title": "t", "steps": [
                {"op": "impair", "spec": "to-server reset-after 6"},
                {"op": "connect", "conn": "c"},
                {"op": "send", "conn": "c", "text": "abcdefghijkl"},
                {"op": "expect_reset", "conn": "c"}]}])
            r = run("run", path, "--target", "builtin:echo", "--report-json",
                    os.path.join(d, "r.json"))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            case = load_json(os.path.join(d, "r.json"))["suites"][0]["cases"][0]
            self.assertIn("6 bytes to server in 1 writes", case["impairment"])
            self.assertIn("1 reset", case["impairment"])

    def test_a_case_without_impair_steps_or_option_goes_straight_to_the_target(self):
        with tempfile.TemporaryDirectory() as d:
            path = suite_file(d, [{"id": "plain", "title": "t", "steps": [
                {"op": "connect", "conn": "c"},
                {"op": "send", "conn": "c", "text": "x"},
                {"op": "expect", "conn": "c", "text": "x"}]}])
            r = run("run", path, "--target", "builtin:echo", "--report-json",
                    os.path.join(d, "r.json"))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            case = load_json(os.path.join(d, "r.json"))["suites"][0]["cases"][0]
            self.assertNotIn("impairment", case)

    def test_load_profiles_may_not_change_the_network_per_user(self):
        with tempfile.TemporaryDirectory() as d:
            src = load_json(os.path.join(SCENARIOS, "load", "echo-tcp-rr.json"))
            src["iteration"].insert(0, {"op": "impair", "spec": "delay 1ms"})
            path = os.path.join(d, "p.json")
            with open(path, "w") as f:
                json.dump(src, f)
            r = run("load", path, "--target", "builtin:echo", "--duration", "1")
            self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
            self.assertIn("--impair", r.stderr)


class ImpairOption(unittest.TestCase):
    def test_a_bad_spec_is_a_usage_error_naming_the_word(self):
        r = run("run", EXAMPLE, "--target", "builtin:echo", "--impair", "delay 5ms wobble 3")
        self.assertEqual(r.returncode, 2)
        self.assertIn("'wobble'", r.stderr)
        r = run("load", os.path.join(SCENARIOS, "load", "echo-tcp-rr.json"), "--target",
                "builtin:echo", "--impair", "loss 10")
        self.assertEqual(r.returncode, 2)
        self.assertIn("'10'", r.stderr)

    def test_the_whole_run_goes_through_the_conditions_and_the_report_says_so(self):
        with tempfile.TemporaryDirectory() as out:
            tour = os.path.join(SCENARIOS, "examples", "format-tour.json")
            r = run("run", tour, "--target", "builtin:echo", "--impair",
                    "delay 5ms 2ms slice 100", "--out", out)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            report = load_json(os.path.join(out, "report.json"))
            self.assertEqual(report["run"]["impairment"], "delay 5ms 2ms slice 100")
            with open(os.path.join(out, "summary.md")) as f:
                self.assertIn("Network impairment: `delay 5ms 2ms slice 100`", f.read())
            for s in report["suites"]:
                for c in s["cases"]:
                    self.assertTrue(c["impairment"].startswith("delay 5ms 2ms slice 100 (relay:"))

    def test_load_latency_includes_the_delay_both_ways(self):
        with tempfile.TemporaryDirectory() as out:
            path = os.path.join(out, "r.json")
            r = run("load", os.path.join(SCENARIOS, "load", "echo-tcp-rr.json"), "--target",
                    "builtin:echo", "--duration", "1", "--warmup", "0", "--impair", "delay 20ms",
                    "--report-json", path)
            self.assertIn(r.returncode, (0, 1), r.stdout + r.stderr)  # thresholds may fail
            report = load_json(path)
            self.assertIn("delay 20ms (relay: stream:", report["run"]["impairment"])
            pcts = report["load"]["latency"]["percentiles"]
            p0 = report["load"]["latency"]["min"]
            # 20 ms towards the server and 20 ms back: no round trip can be faster.
            self.assertGreaterEqual(p0, 40e6, pcts)
            self.assertGreater(report["load"]["iterations"], 0)

    def test_udp_load_loss_is_exactly_every_tenth_datagram(self):
        with tempfile.TemporaryDirectory() as out:
            path = os.path.join(out, "r.json")
            run("load", os.path.join(SCENARIOS, "load", "echo-udp-rr.json"), "--target",
                "builtin:echo", "--duration", "1", "--rate", "200", "--impair",
                "to-server loss every 10", "--report-json", path)
            text = load_json(path)["run"]["impairment"]
            m = re.search(r"datagrams to server: (\d+) arrived, (\d+) sent, (\d+) dropped", text)
            self.assertTrue(m, text)
            arrived, sent, dropped = map(int, m.groups())
            self.assertGreater(arrived, 100)
            self.assertEqual(dropped, arrived // 10)
            self.assertEqual(sent, arrived - dropped)

    def test_packet_level_is_refused_until_it_exists(self):
        r = run("run", EXAMPLE, "--target", "builtin:echo", "--impair", "loss 1%",
                "--impair-level", "packet")
        self.assertEqual(r.returncode, 2)
        self.assertIn("packet", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
