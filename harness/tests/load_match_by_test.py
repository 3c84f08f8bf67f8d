#!/usr/bin/python3
"""`match_by`: load that numbers its requests in a field of their own protocol and matches each
reply by that field. Against the real dnsmasq (scenarios/load/dns-udp.json, started exactly as
the profile's docs say, on loopback, never forwarding), against servers that change the id or
the answer, and the profiles `validate` refuses. Counts are compared exactly; nothing here
asserts how fast anything was."""
import json
import os
import socket
import subprocess
import sys
import threading
import unittest

from load_test import load  # the same runner: a profile to a temp dir, its report back

SOCKSPEC = os.environ.get("SOCKSPEC", "sockspec")
SCENARIOS = os.environ.get("SOCKSPEC_SCENARIOS_SRC", "scenarios")
# dnsmasq started as docs/load.md and docs/protocols.md give it (answers example.test itself,
# forwards nothing), on a port free for UDP and TCP, by the protocol suites' own helper.
sys.path.insert(0, os.path.join(SCENARIOS, "tests"))
import real_servers  # noqa: E402
DNS_PROFILE = os.path.join(SCENARIOS, "load", "dns-udp.json")
QUERY = bytes.fromhex("0000 0100 0001 0000 0000 0000 07 6578616d706c65 04 74657374 00 0001 0001")
ANSWER = bytes.fromhex("8580 0001 0001 0000 0000 07 6578616d706c65 04 74657374 00 0001 0001"
                       " c00c 0001 0001 00000000 0004 c0000201")


def dns_profile(**kw):
    with open(DNS_PROFILE) as f:
        p = json.load(f)
    p.pop("$schema")
    p.update(kw)
    return p


class FakeDns:
    """Answers every query with the reply dnsmasq gives, except that `change` rewrites it;
    `delay` seconds after the query when set."""

    def __init__(self, change, delay=0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.change = change
        self.delay = delay
        self.answered = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        for _ in range(10_000_000):  # bounded; ends with the test
            if self.done.is_set():
                return
            try:
                q, peer = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            self.answered += 1
            replies = self.change(q[:2] + ANSWER)
            for r in replies if isinstance(replies, list) else [replies]:
                if self.delay:
                    threading.Timer(self.delay, self.sock.sendto, (r, peer)).start()
                else:
                    self.sock.sendto(r, peer)

    def stop(self):
        self.done.set()
        self.thread.join(timeout=10)
        self.sock.close()


# A rate a busy machine keeps: the counts, not the speed, are what these tests check.
SAFE = ("--rate", "400", "--duration", "1.5", "--threads", "1")


@unittest.skipUnless(real_servers.missing_program("dns") is None,
                     "dnsmasq is not installed (scripts/install-deps.sh test)")
class AgainstDnsmasq(unittest.TestCase):
    def test_every_query_answered_matched_by_its_id_and_checked(self):
        server = real_servers.Server("dns").start()
        try:
            r, rep, _ = load(dns_profile(), "--target", f"127.0.0.1:{server.port}", *SAFE)
        finally:
            server.stop()
        self.assertIsNotNone(rep, r.stdout + r.stderr)
        l = rep["load"]
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(l["scheduled"], 600)
        self.assertEqual(l["errors"], 0, l["first_errors"])
        self.assertEqual(l["missed_starts"], 0)
        self.assertEqual(l["iterations"], l["scheduled"])
        self.assertEqual(l["udp"]["sent"], l["scheduled"])
        self.assertEqual(l["udp"]["lost"] + l["udp"]["duplicates"] + l["udp"]["late"], 0)
        # The queries go out as written, 33 bytes each: no tag rewrote them.
        self.assertEqual(l["traffic"]["bytes_sent"], 600 * len(QUERY))
        self.assertEqual(l["traffic"]["bytes_received"], 600 * (2 + len(ANSWER)))


class AgainstFaultyServers(unittest.TestCase):
    def run_against(self, change, delay=0, **kw):
        server = FakeDns(change, delay)
        try:
            r, rep, _ = load(dns_profile(**{"defaults": {"timeout_ms": 300}, **kw}), "--target",
                             f"127.0.0.1:{server.port}", *SAFE)
        finally:
            server.stop()
        self.assertIsNotNone(rep, r.stdout + r.stderr)
        return r, rep["load"], server.answered

    def test_the_same_reply_with_the_right_id_passes(self):
        r, l, answered = self.run_against(lambda reply: reply)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(l["iterations"], 600)
        self.assertEqual(answered, 600)

    def test_replies_that_come_after_the_window_closed_count_their_bytes_with_their_requests(self):
        # Each reply 250 ms late: those to the last 250 ms of requests arrive after the 1.5 s
        # window. Their iterations count (by when they were meant to start), so their bytes do.
        r, l, _ = self.run_against(lambda reply: reply, delay=0.25, defaults={"timeout_ms": 5000})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(l["iterations"], 600)
        self.assertEqual(l["traffic"]["bytes_received"], 600 * (2 + len(ANSWER)))

    def test_a_reply_with_another_id_is_an_error_never_a_pass(self):
        # Every reply one id off: it names a request not sent yet, or another one than its own.
        r, l, answered = self.run_against(lambda reply: ((int.from_bytes(reply[:2], "big") + 1) % 65536)
                                          .to_bytes(2, "big") + reply[2:])
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertEqual(answered, 600)
        self.assertGreater(l["errors"], 0)
        self.assertLess(l["iterations"], 600)
        # Every request whose reply never came under its own id is lost.
        self.assertEqual(l["iterations"] + l["udp"]["lost"], 600)

    def test_dropped_and_duplicated_replies_are_counted_as_with_tags(self):
        # One socket, ids 0..599: those ending in 3 go unanswered, those ending in 7 are
        # answered twice (60 each).
        def change(reply):
            n = int.from_bytes(reply[:2], "big") % 10
            return [] if n == 3 else [reply, reply] if n == 7 else reply
        r, l, _ = self.run_against(change, executor={"type": "constant-rate", "rate": 400, "connections": 1})
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertEqual(l["udp"]["sent"], 600)
        self.assertEqual(l["udp"]["lost"], 60)
        self.assertEqual(l["udp"]["duplicates"], 60)
        self.assertEqual(l["iterations"], 540)
        self.assertEqual(l["errors_by_kind"], {"loss": 60})

    def test_the_rest_of_the_reply_is_still_checked_byte_for_byte(self):
        # The right id, a wrong address (192.0.2.2): every reply found, every reply wrong.
        r, l, _ = self.run_against(lambda reply: reply[:-1] + b"\x02")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertEqual(l["iterations"], 0)
        self.assertEqual(l["errors_by_kind"], {"mismatch": 600})
        first = l["first_errors"][0]
        self.assertEqual(first["mismatch"]["offset"], 45, first)


class TcpByField(unittest.TestCase):
    def test_a_pipelined_stream_numbers_its_requests_and_checks_each_reply_id(self):
        p = {"format": 1, "profile": "tcp-ids", "transport": "tcp", "defaults": {"timeout_ms": 2000},
             "executor": {"type": "closed", "vus": 2}, "iterations": 300, "duration_s": 30, "threads": 1,
             "in_flight": 16, "match_by": {"offset": 2, "width": 4, "endian": "little"},
             "setup": [{"op": "connect", "conn": "c"}],
             "iteration": [{"op": "send", "conn": "c", "hex": "ab 00000000 cd 0a"},
                           {"op": "expect", "conn": "c", "echo": True}]}
        r, rep, _ = load(p, "--target", "builtin:echo")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(rep["load"]["iterations"], 600)
        self.assertEqual(rep["load"]["errors"], 0)


    def test_a_stream_reply_with_another_id_is_a_mismatch_at_the_field(self):
        # An echo that adds 1 to the first byte of the field (offset 2) of every reply.
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(16)
        srv.settimeout(0.1)
        done = threading.Event()

        def serve():
            conns = []
            for _ in range(1_000_000):  # bounded; ends with the test
                if done.is_set():
                    break
                try:
                    c = srv.accept()[0]
                    conns.append(c)
                    threading.Thread(target=echo_changed, args=(c,), daemon=True).start()
                except socket.timeout:
                    continue
            for c in conns:
                c.close()

        def echo_changed(c):
            buf = b""
            try:
                for _ in range(100_000):  # bounded
                    data = c.recv(4096)
                    if not data:
                        return
                    buf += data
                    while len(buf) >= 7:  # each request is 7 bytes
                        req, buf = buf[:7], buf[7:]
                        c.sendall(req[:2] + bytes([(req[2] + 1) % 256]) + req[3:])
            except OSError:
                return

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        p = {"format": 1, "profile": "tcp-ids", "transport": "tcp", "defaults": {"timeout_ms": 2000},
             "executor": {"type": "closed", "vus": 1}, "iterations": 20, "duration_s": 30, "threads": 1,
             "in_flight": 4, "match_by": {"offset": 2, "width": 4},
             "setup": [{"op": "connect", "conn": "c"}],
             "iteration": [{"op": "send", "conn": "c", "hex": "ab 00000000 cd 0a"},
                           {"op": "expect", "conn": "c", "echo": True}]}
        try:
            r, rep, _ = load(p, "--target", "127.0.0.1:%d" % srv.getsockname()[1])
        finally:
            done.set()
            t.join(timeout=10)
            srv.close()
        l = rep["load"]
        self.assertEqual(l["iterations"], 0)
        self.assertGreater(l["errors_by_kind"]["mismatch"], 0)
        first = [e for e in l["first_errors"] if e["kind"] == "mismatch"][0]
        self.assertEqual(first["mismatch"]["offset"], 2, first)


class Refused(unittest.TestCase):
    def test_a_udp_profile_that_would_rewrite_its_datagrams_says_what_to_write(self):
        p = dns_profile()
        del p["match_by"]
        r, _, d = load(p, "--target", "127.0.0.1:9")
        self.assertEqual(r.returncode, 2)
        self.assertIn(":/iteration/1: this expect is not `echo`", r.stderr)
        for advice in ('"match_by"', '"udp_sequence": false', '"udp_sequence": true'):
            self.assertIn(advice, r.stderr)
        v = subprocess.run([SOCKSPEC, "validate", os.path.join(d, "p.json")], capture_output=True, text=True,
                           timeout=60)
        self.assertNotEqual(v.returncode, 0)
        self.assertIn("p.json:/iteration/1: this expect is not `echo`", v.stdout + v.stderr)
        v = subprocess.run([SOCKSPEC, "validate", DNS_PROFILE], capture_output=True, text=True, timeout=60)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)

    def test_a_profile_that_expects_no_reply_sends_its_datagrams_as_written(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
            sink.bind(("127.0.0.1", 0))
            sink.settimeout(10)
            p = {"format": 1, "profile": "send-only", "transport": "udp", "executor": {"type": "closed", "vus": 1},
                 "iterations": 3, "duration_s": 30, "threads": 1, "setup": [{"op": "connect", "conn": "u"}],
                 "iteration": [{"op": "send", "conn": "u", "text": "syslog line"}]}
            r, rep, _ = load(p, "--target", "127.0.0.1:%d" % sink.getsockname()[1])
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertEqual([sink.recv(2048) for _ in range(3)], [b"syslog line"] * 3)

    def test_match_by_mistakes_name_their_pointer(self):
        cases = [({"match_by": {"offset": 0, "width": 3}}, "/match_by/width: must be 1, 2, 4 or 8"),
                 ({"match_by": {"offset": 0, "width": 1}, "in_flight": 256},
                  "/match_by: a match_by field of 1 byte(s) numbers 256 requests at most"),
                 ({"udp_sequence": True}, "/udp_sequence: match_by numbers the requests itself"),
                 ({"match_by": {"offset": 0, "width": 2, "endian": "middle"}}, "/match_by/endian: must be"),
                 ({"iteration": [{"op": "send", "conn": "dns", "hex": "00"}]},
                  "/match_by: match_by needs an iteration of exactly one send followed by one expect")]
        for change, message in cases:
            with self.subTest(message):
                r, _, _ = load(dns_profile(**change), "--target", "127.0.0.1:9")
                self.assertEqual(r.returncode, 2)
                self.assertIn(message, r.stderr)

    def test_a_payload_too_short_for_the_field_is_an_error_of_each_iteration(self):
        p = dns_profile(match_by={"offset": 40, "width": 2})
        r, rep, _ = load(p, "--target", "127.0.0.1:9", "--rate", "50", "--duration", "0.2", "--threads", "1")
        self.assertEqual(r.returncode, 1)
        self.assertIn("too few for the match_by field (offset 40, width 2)", rep["load"]["first_errors"][0]["message"])


if __name__ == "__main__":
    unittest.main()
