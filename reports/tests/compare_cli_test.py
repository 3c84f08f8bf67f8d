#!/usr/bin/python3
"""`sockspec compare` end to end: suites run against the reference echo and against a faulty
one give the newly failing cases; a load run against the echo with a slow fault is called
slower; every output file is written; bad usage exits 2 and says why."""
import json
import os
import pathlib
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET

SOCKSPEC = os.environ.get("SOCKSPEC", "sockspec")
ROOT = pathlib.Path(os.environ.get("SOCKSPEC_ROOT", "."))
SUITE = str(ROOT / "scenarios" / "suites" / "echo-tcp.json")
PROFILE = str(ROOT / "scenarios" / "load" / "echo-tcp-rr.json")


def sockspec(*args):
    return subprocess.run([SOCKSPEC, *args], capture_output=True, text=True, timeout=300)


class Compare(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = pathlib.Path(tempfile.mkdtemp(prefix="sockspec-compare-"))
        d = cls.dir
        cls.good = sockspec("run", SUITE, "--target", "builtin:echo", "--report-json", str(d / "good.json"))
        faulty = f"{SOCKSPEC} serve echo --fault truncate-1024 --port {{port}}"
        cls.bad = sockspec("run", SUITE, "--server-cmd", faulty, "--report-json", str(d / "bad.json"))
        load = ["load", PROFILE, "--connections", "1", "--duration", "1", "--warmup", "0.2"]
        cls.loads = [sockspec(*load, "--target", "builtin:echo", "--report-json", str(d / "fast.json"))]
        slow = f"{SOCKSPEC} serve echo --fault slow --delay-us 5000 --port {{port}}"
        cls.loads.append(sockspec(*load, "--server-cmd", slow, "--report-json", str(d / "slow.json")))

    def test_runs_to_compare_ran(self):
        self.assertEqual(self.good.returncode, 0, self.good.stdout + self.good.stderr)
        self.assertEqual(self.bad.returncode, 1, self.bad.stdout + self.bad.stderr)
        for r in self.loads:
            self.assertIn(r.returncode, (0, 1), r.stdout + r.stderr)

    def failing_cases(self, report):
        r = json.loads((self.dir / report).read_text())
        return {f"{s['name']}/{c['id']}" for s in r["suites"] for c in s["cases"]
                if c["verdict"] in ("fail", "error", "xpass")}

    def test_the_faulty_server_is_newly_failing_exactly_where_its_run_failed(self):
        d = self.dir
        out = d / "cases.json"
        r = sockspec("compare", str(d / "good.json"), "--", str(d / "bad.json"),
                     "--fail-on", "newly-failing > 0", "--json", str(out), "--junit", str(d / "cases.xml"),
                     "--github-annotations")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        c = json.loads(out.read_text())
        newly = {x["id"] for x in c["cases"] if x["change"] == "newly failing"}
        self.assertTrue(newly)
        self.assertEqual(newly, self.failing_cases("bad.json"))
        self.assertEqual(c["cases"][0]["change"], "newly failing")  # first
        self.assertIn("FAIL newly-failing > 0", r.stdout)
        self.assertIn("::error title=compare%3A newly-failing > 0::", r.stdout)
        self.assertIn("::warning file=", r.stdout)
        suite = ET.parse(d / "cases.xml").getroot().find("testsuite")
        self.assertEqual((suite.get("tests"), suite.get("failures")), ("1", "1"))

        back = sockspec("compare", str(d / "bad.json"), str(d / "good.json"),
                        "--fail-on", "newly-failing > 0", "--json", str(out))
        self.assertEqual(back.returncode, 0, back.stdout + back.stderr)
        c = json.loads(out.read_text())
        self.assertEqual({x["id"] for x in c["cases"] if x["change"] == "newly passing"},
                         self.failing_cases("bad.json"))
        same = sockspec("compare", str(d / "good.json"), str(d / "good.json"), "--fail-on", "newly-failing > 0")
        self.assertEqual(same.returncode, 0, same.stdout)
        self.assertIn("0 changed", same.stdout)

    def test_a_slower_server_fails_the_latency_rule_and_every_format_is_written(self):
        d = self.dir
        r = sockspec("compare", str(d / "fast.json"), "--", str(d / "slow.json"), "--fail-on", "p50 > +10%",
                     "--fail-on", "rate > +1000%", "--json", str(d / "load.json"), "--html", str(d / "load.html"),
                     "--markdown", str(d / "load.md"), "--junit", str(d / "load.xml"))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("FAIL p50 > +10%", r.stdout)
        self.assertIn("ok   rate > +1000%", r.stdout)
        c = json.loads((d / "load.json").read_text())
        p50 = c["profiles"][0]["metrics"][0]
        self.assertEqual(p50["name"], "p50")
        self.assertTrue(p50["significant"])
        self.assertGreater(p50["new"], 5_000_000)  # every reply held 5 ms
        html = (d / "load.html").read_text()
        for chart in ("compare-percentile-chart-1", "compare-rate-chart-1", "compare-latency-chart-1"):
            self.assertIn(f'id="{chart}"', html)
        self.assertNotIn("http://", html)
        self.assertNotIn("https://", html)
        self.assertIn("| `p50 > +10%` | **FAIL** |", (d / "load.md").read_text())
        suite = ET.parse(d / "load.xml").getroot().find("testsuite")
        self.assertEqual((suite.get("tests"), suite.get("failures")), ("2", "1"))

    def test_bad_usage_exits_2_and_says_why(self):
        d = self.dir
        cases = [
            (["compare", str(d / "good.json")], "BASE.json... -- NEW.json"),
            (["compare", str(d / "good.json"), str(d / "fast.json")], "load profile 'echo-tcp-rr' is only on the new side"),
            (["compare", str(d / "fast.json"), str(d / "fast.json"), "--fail-on", "p98 > 1%"], "unknown metric 'p98'"),
            (["compare", str(d / "fast.json"), str(d / "fast.json"), "--fail-on", "loss > +1pp"], "has loss"),
            (["compare", str(d / "fast.json"), "--", str(d / "missing.json")], "missing.json"),
            (["compare", str(d / "fast.json"), str(d / "fast.json"), "--alpha", "2"], "--alpha"),
        ]
        for args, said in cases:
            with self.subTest(args=args[1:]):
                r = sockspec(*args)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertIn(said, r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
