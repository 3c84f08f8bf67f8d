#!/usr/bin/python3
"""Servers whose replies crashed or hung the regex matching of `sockspec run`.

std::regex recursed once per byte (a 30 KB line or a 65,507-byte datagram overflowed the
stack) and backtracked exponentially (`(a*)*b` over 20 bytes ran for minutes past a 100 ms
step deadline). Each test here points a built-in suite, or a one-case suite, at a small
server that sends such a reply, and checks the run ends by itself with a report and the right
verdicts. The servers are threads of this test on loopback, on ports the kernel picks.
"""
import json
import os
import socket
import subprocess
import tempfile
import threading
import unittest

SOCKSPEC = os.environ.get("SOCKSPEC", "sockspec")
SCENARIOS = os.environ.get("SOCKSPEC_SCENARIOS_SRC", "scenarios")
SUITES = os.path.join(SCENARIOS, "suites")


class TcpServer:
    """Accepts connections and calls handle(conn) for each, until closed."""

    def __init__(self, handle):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.handle = handle
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]

    def loop(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.serve_one, args=(conn,), daemon=True).start()

    def serve_one(self, conn):
        conn.settimeout(10)
        try:
            self.handle(conn, self.stop)
        except OSError:
            pass  # the client went away: that is its right
        finally:
            conn.close()

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


class UdpServer:
    """Answers every datagram with reply()."""

    def __init__(self, reply):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.reply = reply
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]

    def loop(self):
        while not self.stop.is_set():
            try:
                _, peer = self.sock.recvfrom(65535)
                self.sock.sendto(self.reply, peer)
            except socket.timeout:
                continue
            except OSError:
                return

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


def run_suite(test, suite, target):
    """Runs `suite` against `target`; returns {case id: (verdict, messages)}."""
    with tempfile.TemporaryDirectory() as out:
        p = subprocess.run([SOCKSPEC, "run", suite, "--target", target, "--out", out],
                           capture_output=True, text=True, timeout=120)
        # A crash is a negative return code (the signal), or 1 under ASan, and no report.
        test.assertIn(p.returncode, (0, 1), p.stdout + p.stderr)
        test.assertNotIn("Sanitizer", p.stderr)
        report_path = os.path.join(out, "report.json")
        test.assertTrue(os.path.exists(report_path), "no report written:\n" + p.stderr[-3000:])
        with open(report_path) as f:
            report = json.load(f)
    cases = {}
    for s in report["suites"]:
        for c in s["cases"]:
            msgs = " | ".join(st.get("message", "") for st in c.get("steps", []))
            cases[c["id"]] = (c["verdict"], msgs)
    return cases, p.stdout


def one_case_suite(d, expect_step, timeout_ms=None):
    step = dict(expect_step, op="expect", conn="c")
    if timeout_ms:
        step["timeout_ms"] = timeout_ms
    path = os.path.join(d, "one.json")
    with open(path, "w") as f:
        json.dump({"format": 1, "suite": "one", "cases": [
            {"id": "reply", "steps": [{"op": "connect", "conn": "c"}, step]}]}, f)
    return path


class HugeRepliesDoNotCrash(unittest.TestCase):
    LINE = b"x" * (30 * 1024)

    def test_daytime_tcp_against_one_thirty_kilobyte_line(self):
        def handle(conn, stop):
            conn.sendall(self.LINE + b"\r\n")
            conn.shutdown(socket.SHUT_WR)
            while conn.recv(4096):  # until the client closes
                pass
        srv = TcpServer(handle)
        try:
            cases, out = run_suite(self, os.path.join(SUITES, "daytime-tcp.json"), srv.addr)
        finally:
            srv.close()
        self.assertEqual(cases["one-line"][0], "pass", out)  # 30 KB of printable bytes: valid
        self.assertEqual(cases["rfc-example-format"][0], "warn", out)  # should-level, not a date
        self.assertIn("does not match", cases["rfc-example-format"][1])

    def test_chargen_tcp_against_thirty_kilobyte_lines(self):
        def handle(conn, stop):
            conn.setblocking(True)
            for _ in range(64):  # bounded: far more than the suite reads
                if stop.is_set():
                    return
                conn.sendall(self.LINE + b"\r\n")
        srv = TcpServer(handle)
        try:
            cases, out = run_suite(self, os.path.join(SUITES, "chargen-tcp.json"), srv.addr)
        finally:
            srv.close()
        self.assertEqual(cases["printable-lines"][0], "pass", out)
        self.assertNotEqual(cases["72-character-lines"][0], "pass", out)
        self.assertIn("does not match /[ -~]{72}/", cases["72-character-lines"][1])

    def test_daytime_udp_against_a_65507_byte_datagram(self):
        srv = UdpServer(b"T" * 65506 + b"\n")
        try:
            cases, out = run_suite(self, os.path.join(SUITES, "daytime-udp.json"), srv.addr)
        finally:
            srv.close()
        self.assertEqual(cases["answers-with-ascii"][0], "pass", out)
        self.assertEqual(cases["one-line"][0], "pass", out)

    def test_a_star_over_a_hundred_kilobyte_reply(self):
        def handle(conn, stop):
            conn.sendall(b"a" * (100 * 1024))
            conn.recv(1)
        srv = TcpServer(handle)
        try:
            with tempfile.TemporaryDirectory() as d:
                suite = one_case_suite(d, {"regex": "a*", "bytes": 100 * 1024})
                cases, out = run_suite(self, suite, srv.addr)
        finally:
            srv.close()
        self.assertEqual(cases["reply"][0], "pass", out)


class SlowPatternsEndWithinTheirStep(unittest.TestCase):
    def test_nested_stars_over_twenty_bytes_fail_promptly(self):
        # std::regex backtracked for minutes here, past the 100 ms step timeout.
        def handle(conn, stop):
            conn.sendall(b"a" * 20 + b"\n")
            conn.recv(1)
        srv = TcpServer(handle)
        try:
            with tempfile.TemporaryDirectory() as d:
                suite = one_case_suite(d, {"regex": "(a*)*b", "until": "\n"}, timeout_ms=100)
                cases, out = run_suite(self, suite, srv.addr)
        finally:
            srv.close()
        self.assertEqual(cases["reply"][0], "fail", out)
        self.assertIn("does not match /(a*)*b/", cases["reply"][1])

    def test_a_pattern_over_its_work_limit_fails_with_the_limit_named(self):
        def handle(conn, stop):
            conn.sendall(b"a" * 60000)
            conn.recv(1)
        srv = TcpServer(handle)
        try:
            with tempfile.TemporaryDirectory() as d:
                suite = one_case_suite(d, {"regex": "[ab]*a[ab]{900}", "until": "\n"})
                cases, out = run_suite(self, suite, srv.addr)
        finally:
            srv.close()
        self.assertEqual(cases["reply"][0], "fail", out)
        self.assertIn("regex limit: /[ab]*a[ab]{900}/ may examine at most", cases["reply"][1])


class ValidateRejectsWhatTheEngineCannotRun(unittest.TestCase):
    def test_each_unsupported_construct_is_reported_at_its_pointer(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "bad.json")
            steps = [{"op": "connect", "conn": "c"},
                     {"op": "expect", "conn": "c", "regex": "(a)\\1", "until": "\n"},
                     {"op": "expect", "conn": "c", "regex": "a(?=b)", "until": "\n"},
                     {"op": "expect", "conn": "c", "regex": "[ab]*a[ab]{900}", "bytes": 1000000}]
            with open(path, "w") as f:
                json.dump({"format": 1, "suite": "bad", "cases": [{"id": "a", "steps": steps}]}, f)
            p = subprocess.run([SOCKSPEC, "validate", path], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn(path + ":/cases/0/steps/1/regex: is not a regex sockspec can run", p.stderr)
        self.assertIn("backreferences are not supported", p.stderr)
        self.assertIn(path + ":/cases/0/steps/2/regex: is not a regex sockspec can run", p.stderr)
        self.assertIn("lookahead and lookbehind are not supported", p.stderr)
        self.assertIn(path + ":/cases/0/steps/3/bytes: regex limit: /[ab]*a[ab]{900}/ may examine at most",
                      p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
