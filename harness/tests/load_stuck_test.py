#!/usr/bin/python3
"""Load runs against servers that never complete a connect or never answer (issue 22): what
got stuck is counted as errors and shown, never dropped at the end. Counts only; no timings."""
import socket
import threading
import unittest

from load_test import load  # the same runner: a profile to a temp dir, its report back


class NeverAccepts:
    """A listener with a backlog of 0 that never accepts: once its queue holds one connection
    (the load command's check that the target is up, or the first user's) the kernel drops
    further SYNs, so every later connect waits until its timeout."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]

    def close(self):
        self.sock.close()


class AcceptsSilently:
    """Accepts every connection and never sends a byte."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        for _ in range(1_000_000):  # bounded; ends with the test
            if self.done.is_set():
                return
            try:
                self.conns.append(self.sock.accept()[0])
            except socket.timeout:
                continue

    def close(self):
        self.done.set()
        self.thread.join(timeout=10)
        for c in self.conns:
            c.close()
        self.sock.close()


def profile(**kw):
    p = {"format": 1, "profile": "stuck", "transport": "tcp", "defaults": {"timeout_ms": 1000},
         "executor": {"type": "closed", "vus": 4}, "duration_s": 0.5, "warmup_s": 0, "threads": 1,
         "thresholds": ["errors == 0"],
         "setup": [{"op": "connect", "conn": "c"}],
         "iteration": [{"op": "send", "conn": "c", "text": "hi\n"}, {"op": "expect", "conn": "c", "echo": True}]}
    p.update(kw)
    return p


class StuckConnects(unittest.TestCase):
    def run_against_never_accepts(self, p):
        server = NeverAccepts()
        try:
            r, rep, _ = load(p, "--target", f"127.0.0.1:{server.port}")
        finally:
            server.close()
        self.assertIsNotNone(rep, r.stdout + r.stderr)
        return r, rep["load"]

    def check_every_user_failed(self, r, l):
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertEqual(l["iterations"], 0)
        # Every user: its connect stuck (or, if the queue's one place went to a user rather
        # than to the target check, that user's request unanswered).
        self.assertEqual(l["errors"], 4, l["errors_by_kind"])
        self.assertGreaterEqual(l["errors_by_kind"].get("connect", 0), 3, l["errors_by_kind"])
        self.assertIn("connect %d" % l["errors_by_kind"]["connect"], r.stdout)

    def test_connects_that_time_out_after_the_end_are_counted(self):
        # Each connect's 1 s timeout passes after the 0.5 s run: still an error of the run.
        r, l = self.run_against_never_accepts(profile())
        self.check_every_user_failed(r, l)

    def test_connects_still_waiting_when_the_run_gives_up_are_counted(self):
        # The connect's own timeout outlasts the run's grace: the run abandons it, and says so.
        p = profile(setup=[{"op": "connect", "conn": "c", "timeout_ms": 60000}])
        r, l = self.run_against_never_accepts(p)
        self.check_every_user_failed(r, l)
        self.assertIn("not finished when the run ended", l["first_errors"][0]["message"])


class SilentServerPipelined(unittest.TestCase):
    def run_silent(self, **kw):
        server = AcceptsSilently()
        try:
            p = profile(executor={"type": "constant-rate", "rate": 200, "connections": 1}, in_flight=4, **kw)
            r, rep, _ = load(p, "--target", f"127.0.0.1:{server.port}")
        finally:
            server.close()
        self.assertIsNotNone(rep, r.stdout + r.stderr)
        return r, rep["load"]

    def test_warm_up_requests_unanswered_into_the_window_are_errors(self):
        # The warm-up fills the window; its requests time out only as the run ends, so every
        # measured start is missed. Those timeouts held the window: they are the run's errors.
        r, l = self.run_silent(warmup_s=1, duration_s=1, defaults={"timeout_ms": 2000})
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertEqual(l["scheduled"], 200)
        self.assertEqual(l["iterations"], 0)
        self.assertEqual(l["missed_starts"], 200)
        self.assertEqual(l["errors_by_kind"], {"timeout": 1, "abandoned": 3})

    def test_a_connection_whose_requests_timed_out_takes_measured_starts_again(self):
        # Timeouts of 300 ms in a 1.5 s window: the connection is replaced after each, and each
        # new one takes measured starts (which time out in turn, as errors).
        r, l = self.run_silent(warmup_s=0.3, duration_s=1.5, defaults={"timeout_ms": 300})
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertEqual(l["iterations"], 0)
        self.assertGreaterEqual(l["errors_by_kind"].get("timeout", 0), 2, l["errors_by_kind"])
        self.assertEqual(l["errors_by_kind"]["abandoned"], 3 * l["errors_by_kind"]["timeout"])
        self.assertLess(l["missed_starts"], l["scheduled"])


if __name__ == "__main__":
    unittest.main()
