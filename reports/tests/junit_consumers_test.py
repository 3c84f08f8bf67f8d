#!/usr/bin/python3
"""Our JUnit XML as CI systems read it: two independent readers from the package registries,
Debian's python3-junitparser and npm's junit2json, must find every case of a real run with
the result its verdict maps to, and the same counts as the run's own JSON report.

Environment (set by ctest): SOCKSPEC (the binary), SOCKSPEC_SCENARIOS_SRC (scenarios/),
SOCKSPEC_SCRATCH (a folder for the run and the npm install).
"""
import collections
import json
import os
import pathlib
import re
import shutil
import subprocess
import unittest

import junitparser

SOCKSPEC = os.environ["SOCKSPEC"]
SUITES = pathlib.Path(os.environ["SOCKSPEC_SCENARIOS_SRC"]) / "suites"
SCRATCH = pathlib.Path(os.environ["SOCKSPEC_SCRATCH"])
NPM_PROJECT = pathlib.Path(__file__).parent / "junit_consumers"

# How docs/reports.md maps verdicts onto JUnit results.
JUNIT_KIND = {"pass": "passed", "warn": "passed", "fail": "failure", "xpass": "failure",
              "error": "error", "skip": "skipped", "xfail": "skipped"}


def run_with_every_verdict():
    """A run against a faulty echo server on a port the kernel picked (so the lifecycle cases,
    which need a managed server, are skipped), with one expected failure that fails (xfail)
    and one that passes (xpass). Returns (report JSON, JUnit path)."""
    server = subprocess.Popen([SOCKSPEC, "serve", "echo", "--fault", "truncate-1024", "--port", "0"],
                              stdout=subprocess.PIPE, text=True)
    try:
        port = re.search(r"listening tcp 127\.0\.0\.1:(\d+)", server.stdout.readline()).group(1)
        expect_fail = SCRATCH / "known.txt"
        expect_fail.write_text("echo-udp/size-1025 cut at 1024 bytes\n"
                               "echo-tcp/short-line listed by mistake\n")
        junit, report = SCRATCH / "junit.xml", SCRATCH / "report.json"
        r = subprocess.run([SOCKSPEC, "run", *(str(SUITES / f) for f in (
                               "echo-tcp.json", "echo-udp.json", "lifecycle-echo.json")),
                            "--target", f"127.0.0.1:{port}", "--expect-fail", str(expect_fail),
                            "--junit", str(junit), "--report-json", str(report)],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 1, r.stdout + r.stderr
        return json.loads(report.read_text()), junit
    finally:
        server.terminate()
        server.wait(timeout=30)


def expected_cases(report):
    return {(s["name"], c["id"]): JUNIT_KIND[c["verdict"]] for s in report["suites"] for c in s["cases"]}


def tally(cases):
    """Per suite and in total: tests, failures, errors, skipped, from {(suite, id): kind}."""
    counts = collections.defaultdict(collections.Counter)
    for (suite, _), kind in cases.items():
        for key in (suite, None):
            counts[key]["tests"] += 1
            counts[key][kind] += 1
    return counts


class JunitConsumers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        shutil.rmtree(SCRATCH, ignore_errors=True)
        SCRATCH.mkdir(parents=True)
        cls.report, cls.junit = run_with_every_verdict()
        cls.want = expected_cases(cls.report)

    def test_the_run_has_every_junit_result_kind(self):
        verdicts = collections.Counter(c["verdict"] for s in self.report["suites"] for c in s["cases"])
        for v in ("pass", "fail", "skip", "xfail", "xpass"):
            self.assertGreater(verdicts[v], 0, v)
        self.assertEqual(dict(verdicts), {k: n for k, n in self.report["counts"].items()
                                          if k != "total" and n})

    def check(self, got, suite_attrs):
        """`got`: {(suite, id): kind} as a reader saw them; `suite_attrs`: {suite or None:
        (tests, failures, errors, skipped)} as the reader read the counts attributes."""
        self.assertEqual(got, self.want)
        expected = tally(self.want)
        for key, (tests, failures, errors, skipped) in suite_attrs.items():
            e = expected[key]
            self.assertEqual((tests, failures, errors, skipped),
                             (e["tests"], e["failure"], e["error"], e["skipped"]), key)
        self.assertIn(None, suite_attrs)
        self.assertEqual(len(suite_attrs), len(self.report["suites"]) + 1)

    def test_junitparser_reads_every_case_and_the_counts_of_the_run(self):
        xml = junitparser.JUnitXml.fromfile(str(self.junit))
        got, attrs = {}, {None: (xml.tests, xml.failures, xml.errors, xml.skipped)}
        for suite in xml:
            attrs[suite.name] = (suite.tests, suite.failures, suite.errors, suite.skipped)
            for case in suite:
                kinds = {type(r).__name__.lower() for r in case.result}
                self.assertLessEqual(len(kinds), 1, case.name)
                got[(suite.name, case.name)] = kinds.pop() if kinds else "passed"
        self.check(got, attrs)
        c = self.report["counts"]
        self.assertEqual(attrs[None], (c["total"], c["fail"] + c["xpass"], c["error"],
                                       c["skip"] + c["xfail"]))

    def test_junit2json_reads_every_case_and_the_counts_of_the_run(self):
        project = SCRATCH / "npm"
        project.mkdir()
        for f in ("package.json", "package-lock.json"):
            shutil.copy(NPM_PROJECT / f, project)
        r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=project,
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = subprocess.run([str(project / "node_modules" / ".bin" / "junit2json"), str(self.junit)],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        attrs = {None: (doc["tests"], doc["failures"], doc["errors"], doc["skipped"])}
        got = {}
        for suite in doc["testsuite"]:
            attrs[suite["name"]] = (suite["tests"], suite["failures"], suite["errors"],
                                    suite["skipped"])
            for case in suite["testcase"]:
                kinds = [k for k in ("failure", "error", "skipped") if k in case]
                self.assertLessEqual(len(kinds), 1, case["name"])
                got[(suite["name"], case["name"])] = kinds[0] if kinds else "passed"
        self.check(got, attrs)
        # The run's own counts, as the report states them, are what the readers found.
        c = self.report["counts"]
        self.assertEqual(attrs[None], (c["total"], c["fail"] + c["xpass"], c["error"],
                                       c["skip"] + c["xfail"]))


if __name__ == "__main__":
    unittest.main(verbosity=2)
