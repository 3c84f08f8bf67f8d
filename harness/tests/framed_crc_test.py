#!/usr/bin/python3
"""Typed parts, framing and checksums end to end: the framed-crc example suite against the
example server (framed_crc_server.py, started by sockspec as a managed server), correct and
with a faulty CRC. Asserts verdicts and what every report format says about the failed field."""
import json
import os
import signal
import socket
import struct
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


def listening(proc):
    """The HOST, PORT of a process's first line, `listening tcp HOST:PORT`."""
    line = proc.stdout.readline().split()
    if len(line) != 3 or line[0] != "listening":
        proc.kill()
        raise AssertionError(f"no listening line: {line}")
    host, port = line[2].rsplit(":", 1)
    return host, int(port)


def message(op, ident, data):
    body = bytes([op]) + struct.pack(">H", ident) + data
    return struct.pack(">H", len(body)) + body + struct.pack(">I", __import__("zlib").crc32(body))


class RecordFramed(unittest.TestCase):
    def test_a_recording_with_a_frame_has_one_typed_step_per_message_and_replays(self):
        server = subprocess.Popen([sys.executable, SERVER, "0"], stdout=subprocess.PIPE, text=True)
        try:
            upstream = "%s:%d" % listening(server)
            with tempfile.TemporaryDirectory() as d:
                out = os.path.join(d, "rec.json")
                rec = subprocess.Popen([SOCKSPEC, "record", "--listen", "127.0.0.1:0", "--upstream", upstream,
                                        "-o", out, "--frame", "length:0:2:big:4", "--sessions", "1"],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                try:
                    addr = listening(rec)
                    two = message(1, 1, b"one") + message(2, 2, b"two")
                    with socket.create_connection(addr, timeout=10) as c:
                        c.sendall(two[:5])  # split inside the first message
                        c.sendall(two[5:])
                        want = message(0x81, 1, b"one") + message(0x82, 2, b"TWO")
                        got = b""
                        while len(got) < len(want):
                            chunk = c.recv(4096)
                            if not chunk:
                                break
                            got += chunk
                        self.assertEqual(got, want)
                    _, err = rec.communicate(timeout=60)
                    self.assertEqual(rec.returncode, 0, err)
                finally:
                    if rec.poll() is None:
                        rec.send_signal(signal.SIGINT)
                        rec.communicate(timeout=30)
                with open(out) as f:
                    steps = json.load(f)["cases"][0]["steps"]
                self.assertEqual(steps[0]["frame"], {"length": {"offset": 0, "width": 2, "endian": "big", "adjust": 4}})
                sends = [s for s in steps if s["op"] == "send"]
                expects = [s for s in steps if s["op"] == "expect"]
                self.assertEqual(len(sends), 2, steps)  # one per message, not per read
                self.assertEqual(len(expects), 2, steps)
                self.assertEqual(sends[0]["parts"][0], {"u16": {"length_of": "body", "adjust": -4}})
                r = subprocess.run([SOCKSPEC, "run", out, "--target", upstream],
                                   capture_output=True, text=True, timeout=120)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        finally:
            server.send_signal(signal.SIGTERM)
            server.communicate(timeout=30)


if __name__ == "__main__":
    unittest.main()
