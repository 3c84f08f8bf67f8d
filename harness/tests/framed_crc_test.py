#!/usr/bin/python3
"""Typed parts, framing and checksums end to end: the framed-crc example suite against the
example server (framed_crc_server.py, started by sockspec as a managed server), correct and
with a faulty CRC. Asserts verdicts and what every report format says about the failed field."""
import json
import os
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

SOCKSPEC = os.environ.get("SOCKSPEC", "sockspec")
SCENARIOS = os.environ.get("SOCKSPEC_SCENARIOS_SRC", "scenarios")
EXAMPLE = os.path.join(SCENARIOS, "examples", "framed-crc.json")
SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "framed_crc_server.py")
FIELD = 'field /cases/0/steps/2/parts/2 (u32 "crc")'


def server_cmd(fault=None):
    return f"{sys.executable} {SERVER} {{port}}" + (f" --fault {fault}" if fault else "")


def run(out, fault=None):
    return subprocess.run([SOCKSPEC, "run", EXAMPLE, "--server-cmd", server_cmd(fault), "--out", out],
                          capture_output=True, text=True, timeout=120)


def verdicts(out):
    with open(os.path.join(out, "report.json")) as f:
        report = json.load(f)
    return {c["id"]: c for s in report["suites"] for c in s["cases"]}


class FramedCrc(unittest.TestCase):
    def test_the_example_passes_and_captures_the_reply_fields(self):
        with tempfile.TemporaryDirectory() as out:
            r = run(out)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            cases = verdicts(out)
        self.assertEqual({c["verdict"] for c in cases.values()}, {"pass"})
        caps = cases["reply-checksum-is-crc32"].get("captures", {})
        self.assertEqual(caps.get("id"), "7")  # an integer field, bound as its decimal value
        self.assertEqual(caps.get("data"), "hello")

    def test_a_bad_reply_checksum_fails_the_case_named_for_it_and_every_report_names_the_field(self):
        with tempfile.TemporaryDirectory() as out:
            r = run(out, "bad-crc")
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn(FIELD + ": crc32 of \"reply\" is 0x", r.stdout)
            cases = verdicts(out)
            self.assertEqual(cases["reply-checksum-is-crc32"]["verdict"], "fail")
            # The request-side check does not depend on the reply's CRC.
            self.assertEqual(cases["a-bad-request-checksum-is-refused"]["verdict"], "pass")
            failed = json.dumps(cases["reply-checksum-is-crc32"])
            self.assertIn(FIELD.replace('"', '\\"'), failed)
            junit = ET.parse(os.path.join(out, "junit.xml")).getroot()
            texts = [(f.get("message") or "") + (f.text or "") for f in junit.iter("failure")]
            self.assertTrue(any(FIELD in t for t in texts), texts)
            with open(os.path.join(out, "summary.md")) as f:
                self.assertIn(FIELD, f.read())
            with open(os.path.join(out, "index.html")) as f:
                self.assertIn(FIELD.replace('"', "&quot;"), f.read())

    def test_validate_points_at_a_length_of_a_block_that_does_not_exist(self):
        with open(EXAMPLE) as f:
            suite = json.load(f)
        suite["cases"][0]["steps"][1]["parts"][0]["u16"]["length_of"] = "nobody"
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "bad.json")
            with open(path, "w") as f:
                json.dump(suite, f)
            r = subprocess.run([SOCKSPEC, "validate", path], capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("/cases/0/steps/1/parts/0/u16", r.stdout + r.stderr)
        self.assertIn("\"nobody\", which does not exist", r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
