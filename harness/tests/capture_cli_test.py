#!/usr/bin/python3
"""`capture` end to end: the login-token example suite against the example login server
(login_server.py, started by sockspec as a managed server), with `run` and `load`, correct and
faulty. Asserts verdicts, counts and what the reports show, never timing."""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

SOCKSPEC = os.environ.get("SOCKSPEC", "sockspec")
SCENARIOS = os.environ.get("SOCKSPEC_SCENARIOS_SRC", "scenarios")
EXAMPLE = os.path.join(SCENARIOS, "examples", "login-token.json")
SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "login_server.py")
TOKEN = re.compile(r"^[0-9a-f]{16}$")


def server_cmd(fault=None):
    return f"{sys.executable} {SERVER} {{port}}" + (f" --fault {fault}" if fault else "")


def captures_by_case(report):
    return {c["id"]: c.get("captures", {}) for s in report["suites"] for c in s["cases"]}


class RunTheExample(unittest.TestCase):
    def test_the_example_passes_and_the_report_keeps_what_was_captured(self):
        with tempfile.TemporaryDirectory() as out:
            r = subprocess.run([SOCKSPEC, "run", EXAMPLE, "--server-cmd", server_cmd(), "--out", out],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            with open(os.path.join(out, "report.json")) as f:
                caps = captures_by_case(json.load(f))
        first = caps["whoami-with-the-token"]
        self.assertEqual(sorted(first), ["greeting", "session", "token"])
        self.assertRegex(first["token"], TOKEN)
        self.assertEqual(first["greeting"], f"OK TOKEN {first['token']} SESSION {first['session']}")
        self.assertNotEqual(caps["token-works-on-another-connection"]["token"], first["token"])

    def test_a_failure_shows_the_values_captured_so_far(self):
        with tempfile.TemporaryDirectory() as out:
            r = subprocess.run([SOCKSPEC, "run", EXAMPLE, "--server-cmd", server_cmd("forgetful"),
                                "--filter", "login-token/whoami-with-the-token", "--out", out],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            with open(os.path.join(out, "report.json")) as f:
                token = captures_by_case(json.load(f))["whoami-with-the-token"]["token"]
            self.assertRegex(token, TOKEN)
            self.assertIn(f'captured: greeting="OK TOKEN {token} SESSION 1", session="1", token="{token}"',
                          r.stdout)
            junit = ET.parse(os.path.join(out, "junit.xml")).getroot()
            failure = junit.find("./testsuite/testcase/failure")
            self.assertIn(f'token="{token}"', failure.text)
            # The saved report reads back with its captures (sockspec report, merge).
            md = os.path.join(out, "again.md")
            again = subprocess.run([SOCKSPEC, "report", os.path.join(out, "report.json"), "--markdown", md],
                                   capture_output=True, text=True, timeout=60)
            self.assertEqual(again.returncode, 1, again.stderr)
            with open(md) as f:
                self.assertIn(f'token="{token}"', f.read())

    def test_a_parallel_copy_that_fails_names_its_own_captures(self):
        r = subprocess.run([SOCKSPEC, "run", EXAMPLE, "--server-cmd", server_cmd("forgetful"),
                            "--filter", "login-token/every-login-gets-its-own-token"],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r'does not match /USER user0/.*; captured token="[0-9a-f]{16}"')


def login_profile(iterations_per_user):
    return {"format": 1, "profile": "login", "transport": "tcp", "defaults": {"timeout_ms": 2000},
            "executor": {"type": "closed", "vus": 4}, "iterations": iterations_per_user,
            "duration_s": 60, "warmup_s": 0, "thresholds": ["error_rate < 1%"],
            "setup": [{"op": "connect", "conn": "c"},
                      {"op": "send", "conn": "c", "text": "LOGIN vu${client}\r\n"},
                      {"op": "expect", "conn": "c", "regex": "OK TOKEN ([0-9a-f]{16}) SESSION [0-9]+",
                       "until": "\r\n", "capture": {"token": 1}}],
            "iteration": [{"op": "send", "conn": "c", "text": "WHOAMI ${token}\r\n"},
                          {"op": "expect", "conn": "c", "regex": "USER (vu[0-9]+)", "until": "\r\n",
                           "capture": {"me": 1}},
                          {"op": "send", "conn": "c", "text": "WHOAMI ${token}\r\n"},
                          {"op": "expect", "conn": "c", "text": "USER ${me}\r\n"}],
            "teardown": [{"op": "send", "conn": "c", "text": "LOGOUT ${token}\r\n"},
                         {"op": "expect", "conn": "c", "regex": "BYE vu[0-9]+", "until": "\r\n"}]}


class LoadWithCaptures(unittest.TestCase):
    def load(self, fault):
        d = tempfile.mkdtemp()
        path = os.path.join(d, "p.json")
        with open(path, "w") as f:
            json.dump(login_profile(50), f)
        r = subprocess.run([SOCKSPEC, "load", path, "--server-cmd", server_cmd(fault), "--out", d],
                           capture_output=True, text=True, timeout=120)
        with open(os.path.join(d, "load-report.json")) as f:
            return r, json.load(f)["load"]

    def test_each_virtual_user_logs_in_once_and_uses_its_token_every_iteration(self):
        r, l = self.load(None)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(l["iterations"], 200)
        self.assertEqual(l["errors"], 0)

    def test_a_failing_user_reports_its_token(self):
        r, l = self.load("forgetful")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertGreater(l["errors"], 0)
        self.assertRegex(l["first_errors"][0]["message"], r'ERR bad token.*; captured token="[0-9a-f]{16}"')


if __name__ == "__main__":
    unittest.main(verbosity=2)
