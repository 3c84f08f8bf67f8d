#!/usr/bin/python3
"""Reports end to end: the JSON reports match their schema, merging two half-runs gives the
percentiles of the buckets summed by hand, and the HTML pages load in a real browser.

The browser test runs Debian's Chromium headless, with no network, and saves screenshots
under out/browser/ (at the repository root) for a person to look at."""
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import unittest

import jsonschema

SOCKSPEC = os.environ.get("SOCKSPEC", "sockspec")
ROOT = pathlib.Path(os.environ.get("SOCKSPEC_ROOT", "."))
SCHEMA = json.loads((ROOT / "reports" / "schema" / "report-v1.schema.json").read_text())
SCREENSHOTS = ROOT / "out" / "browser"


def sockspec(*args):
    return subprocess.run([SOCKSPEC, *args], capture_output=True, text=True, timeout=300)


class Reports(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = pathlib.Path(tempfile.mkdtemp(prefix="sockspec-reports-"))
        faulty = f"{SOCKSPEC} serve echo --fault truncate-1024 --port {{port}}"
        cls.conformance = sockspec("run", str(ROOT / "scenarios" / "suites" / "echo-tcp.json"),
                                   str(ROOT / "scenarios" / "suites" / "echo-udp.json"),
                                   "--server-cmd", faulty, "--out", str(cls.dir))
        profile = str(ROOT / "scenarios" / "load" / "echo-tcp-rr.json")
        for part in ("a", "b"):
            sockspec("load", profile, "--target", "builtin:echo", "--duration", "1", "--warmup", "0",
                     "--connections", "4", "--report-json", str(cls.dir / f"half-{part}.json"))
        cls.load = sockspec("load", str(ROOT / "scenarios" / "load" / "echo-udp-rr.json"), "--target", "builtin:echo",
                            "--duration", "2", "--warmup", "0", "--out", str(cls.dir))
        # A short capacity search against a server of known capacity (400/s).
        busy = subprocess.Popen([SOCKSPEC, "serve", "echo", "--transport", "udp", "--fault", "busy",
                                 "--busy-us", "2500", "--port", "0"], stdout=subprocess.PIPE, text=True)
        target = busy.stdout.readline().split()[2]
        cls.find_max = sockspec("load", str(ROOT / "scenarios" / "load" / "echo-udp-rr.json"), "--target", target,
                                "--find-max", "--min", "100", "--precision", "20%", "--step-duration", "0.5",
                                "--warmup", "0.2", "--threshold", "p99 < 200ms", "--out", str(cls.dir / "find-max"))
        busy.terminate()
        busy.wait(timeout=10)
        busy.stdout.close()

    def test_conformance_and_load_reports_match_the_json_schema(self):
        jsonschema.Draft7Validator.check_schema(SCHEMA)
        self.assertEqual(self.conformance.returncode, 1, self.conformance.stderr)
        self.assertEqual(self.load.returncode, 0, self.load.stdout + self.load.stderr)
        self.assertEqual(self.find_max.returncode, 0, self.find_max.stdout + self.find_max.stderr)
        for name in ("report.json", "load-report.json", "half-a.json", "find-max/load-report.json"):
            with self.subTest(report=name):
                jsonschema.validate(json.loads((self.dir / name).read_text()), SCHEMA)
        golden = ROOT / "reports" / "tests" / "golden" / "report.json"
        jsonschema.validate(json.loads(golden.read_text()), SCHEMA)
        broken = json.loads((self.dir / "report.json").read_text())
        broken["suites"][0]["cases"][0]["verdict"] = "passed"
        with self.assertRaises(jsonschema.ValidationError):
            jsonschema.validate(broken, SCHEMA)

    def test_merging_two_half_runs_gives_the_percentiles_of_the_summed_buckets(self):
        merged_path = self.dir / "merged.json"
        r = sockspec("merge", str(self.dir / "half-a.json"), str(self.dir / "half-b.json"), "-o", str(merged_path))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        a, b, m = (json.loads((self.dir / n).read_text())["load"] for n in ("half-a.json", "half-b.json", "merged.json"))
        self.assertEqual(m["iterations"], a["iterations"] + b["iterations"])
        summed = {}
        for part in (a, b):
            for value, count in part["latency"]["buckets"]:
                summed[value] = summed.get(value, 0) + count
        self.assertEqual({v: n for v, n in m["latency"]["buckets"]}, summed)
        # Percentiles by hand from the summed buckets: the value of rank ceil(p * n), reported
        # as the highest value its bucket stands for (1 ns wide below 2^11, twice as wide per octave).
        bits = m["latency"]["sub_bucket_bits"]
        total = sum(summed.values())
        for p, key in ((50, "p50"), (90, "p90"), (99, "p99"), (99.9, "p99.9")):
            rank = max(1, -(-p * total // 100))
            seen = 0
            for value in sorted(summed):
                seen += summed[value]
                if seen >= rank:
                    width = 1 << max(0, value.bit_length() - bits)
                    self.assertEqual(m["latency"]["percentiles"][key], value + width - 1, key)
                    break
        self.assertEqual([t["expression"] for t in m["thresholds"]], [t["expression"] for t in a["thresholds"]])

    def test_a_saved_report_renders_in_every_format(self):
        out = self.dir / "rendered"
        r = sockspec("report", str(self.dir / "report.json"), "--html", str(out / "page.html"),
                     "--markdown", str(out / "summary.md"), "--junit", str(out / "junit.xml"))
        self.assertEqual(r.returncode, 1)  # the saved run failed, and report says so
        self.assertIn("echo-tcp/just-past-1024", (out / "summary.md").read_text())
        self.assertIn('id="case-table"', (out / "page.html").read_text())

    def browser(self, page, shot):
        chromium = shutil.which("chromium")
        if not chromium:
            self.skipTest("chromium is not installed")
        profile = tempfile.mkdtemp(prefix="sockspec-chromium-")
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0"]
        dom = subprocess.run([chromium, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        subprocess.run([chromium, *flags, "--window-size=1280,1400", f"--screenshot={SCREENSHOTS / shot}", page.as_uri()],
                       capture_output=True, text=True, timeout=120)
        shutil.rmtree(profile, ignore_errors=True)
        console_errors = [l for l in dom.stderr.splitlines() if "CONSOLE" in l and ("Uncaught" in l or "Error" in l)]
        self.assertEqual(console_errors, [], "the page logged errors")
        self.assertIn('data-ready="1"', dom.stdout, "the page script did not run to its end")
        self.assertTrue((SCREENSHOTS / shot).exists())
        return dom.stdout

    def test_the_conformance_page_loads_in_a_browser_with_its_case_table(self):
        dom = self.browser(self.dir / "index.html", "conformance.png")
        self.assertIn('id="case-table"', dom)
        self.assertIn('data-verdict="fail"', dom)
        self.assertIn("echo-tcp/just-past-1024", dom)

    def test_the_load_page_loads_in_a_browser_with_its_charts(self):
        dom = self.browser(self.dir / "load.html", "load.png")
        for chart in ("percentile-chart", "rate-chart", "latency-chart"):
            self.assertIn(f'id="{chart}"', dom)
        self.assertIn("<polyline", dom)
        self.assertIn('id="thresholds"', dom)

    def test_the_capacity_search_page_loads_in_a_browser_with_its_chart(self):
        dom = self.browser(self.dir / "find-max" / "load.html", "find-max.png")
        self.assertIn('id="find-max-chart"', dom)
        self.assertIn('id="find-max-steps"', dom)
        self.assertIn("stroke-dasharray", dom)  # the p99 limit
        self.assertGreaterEqual(dom.count("<circle"), 3 * 3)  # p50, p90, p99 at each of >= 3 steps


if __name__ == "__main__":
    unittest.main(verbosity=2)
