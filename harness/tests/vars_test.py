#!/usr/bin/python3
"""End-to-end tests of issue 21's variables through `sockspec run` and `sockspec validate`:
`set`, `repeat` until a condition, datagrams from any sender (a TFTP-like server that answers
from a new port), `length`/`bytes` read by an announced length, `$${`.

Every server here is a thread of this process on loopback, on a port the kernel picks.
"""
import json
import os
import socket
import subprocess
import tempfile
import threading
import unittest

SOCKSPEC = os.environ.get("SOCKSPEC", "sockspec")


def run(*args, timeout=120):
    return subprocess.run([SOCKSPEC, *args], capture_output=True, text=True, timeout=timeout)


def suite(transport, *cases):
    return {"format": 1, "suite": "vars", "transport": transport,
            "defaults": {"timeout_ms": 3000},
            "cases": [{"id": cid, "steps": steps} for cid, steps in cases]}


SCRATCH = []  # removed when the module's tests end


def tearDownModule():
    for d in SCRATCH:
        d.cleanup()


class Scenario:
    """A suite written to a temporary file."""

    def __init__(self, doc):
        self.dir = tempfile.TemporaryDirectory()
        SCRATCH.append(self.dir)
        self.path = os.path.join(self.dir.name, "vars.json")
        with open(self.path, "w") as f:
            json.dump(doc, f)

    def run(self, port, *extra):
        """The run, with `report` set to the text of its JSON report (every step's message)."""
        report = os.path.join(self.dir.name, "report.json")
        r = run("run", self.path, "--target", f"127.0.0.1:{port}", "--report-json", report, *extra)
        with open(report) as f:
            r.report = f.read()
        return r

    def validate(self):
        return run("validate", self.path)


class TcpServer:
    """Answers each connection with handler(conn) on a thread; stops when the test ends."""

    def __init__(self, handler):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(10)
        self.port = self.sock.getsockname()[1]
        self.handler = handler
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c:
                c.settimeout(10)
                try:
                    self.handler(c)
                except OSError:
                    pass

    def close(self):
        self.sock.close()


def read_line(c):
    data = b""
    while not data.endswith(b"\n"):
        b = c.recv(1)
        if not b:
            return None
        data += b
    return data


def counter(c):
    """'N\\n' -> 'N+1\\n', until the client closes."""
    while True:
        line = read_line(c)
        if line is None:
            return
        c.sendall(b"%d\n" % (int(line) + 1))


def bulk(c):
    """A RESP bulk string whose body holds CRLF, then +OK: '$12\\r\\nhello\\r\\nworld\\r\\n+OK\\r\\n'."""
    if read_line(c) is None:
        return
    body = b"hello\r\nworld"
    c.sendall(b"$%d\r\n%s\r\n+OK\r\n" % (len(body), body))
    read_line(c)


class TftpLike:
    """Answers 'RRQ' on its port from a NEW socket (a new port: the transfer id), sending
    'DATA k <8 bytes>' blocks, each after the ACK of the previous one; the last block is short.
    Counts what it saw, so a test can say what reached it."""

    BLOCK = 8

    def __init__(self, content=b"0123456789abcdefXYZ", first_block=1):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(10)
        self.port = self.sock.getsockname()[1]
        self.content = content
        self.first = first_block
        self.acks = []
        self.transfer_port = None
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        try:
            data, client = self.sock.recvfrom(100)
        except OSError:
            return
        if data != b"RRQ":
            return
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as t:
            t.bind(("127.0.0.1", 0))
            t.settimeout(5)
            self.transfer_port = t.getsockname()[1]
            blocks = [self.content[k:k + self.BLOCK]
                      for k in range(0, len(self.content) + 1, self.BLOCK)]
            for n, b in enumerate(blocks):
                t.sendto(b"DATA %d " % (n + self.first) + b, client)
                try:
                    ack, _ = t.recvfrom(100)
                except OSError:
                    return
                self.acks.append(ack)

    def close(self):
        self.sock.close()


# A client of TftpLike: block numbers generated, ending at the short block.
TFTP_READ = [
    {"op": "open", "conn": "u"},
    {"op": "send", "conn": "u", "text": "RRQ"},
    {"op": "set", "values": {"block": 1}},
    {"op": "repeat", "until": "len(${data}) < 8", "max": 10, "steps": [
        {"op": "expect", "conn": "u", "from": "127.0.0.1:*", "capture_from": "peer",
         "regex": "DATA ${block} ((?s).*)", "capture": {"data": 1}},
        {"op": "send", "conn": "u", "to": "${peer}", "text": "ACK ${block}"},
        {"op": "set", "values": {"block": "${block} + 1"}},
    ]},
]


class SetAndRepeatUntil(unittest.TestCase):
    def setUp(self):
        self.server = TcpServer(counter)
        self.addCleanup(self.server.close)

    def loop(self, until, max_):
        return [
            {"op": "connect", "conn": "c"},
            {"op": "set", "values": {"n": 0}},
            {"op": "repeat", "until": until, "max": max_, "steps": [
                {"op": "send", "conn": "c", "text": "${n}\n"},
                {"op": "expect", "conn": "c", "regex": "([0-9]+)", "until": "\n",
                 "capture": {"got": 1}},
                {"op": "set", "values": {"n": "${got}"}},
            ]},
        ]

    def test_a_loop_ends_when_its_condition_holds(self):
        steps = self.loop("${n} >= 5", 10)
        steps.append({"op": "send", "conn": "c", "text": "${n}\n"})
        steps.append({"op": "expect", "conn": "c", "text": "6\n"})
        s = Scenario(suite("tcp", ("count-to-five", steps)))
        r = s.run(self.server.port)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn('until \\"${n} >= 5\\" held after 5 iteration(s)', r.report)

    def test_reaching_max_fails_the_step_and_says_so(self):
        steps = self.loop("${n} >= 100", 3)
        s = Scenario(suite("tcp", ("never", steps)))
        r = s.run(self.server.port)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn('until "${n} >= 100" still false after max 3 iterations', r.stdout)
        self.assertIn("n=3", r.stdout)

    def test_an_evaluation_error_names_the_expression(self):
        steps = [
            {"op": "connect", "conn": "c"},
            {"op": "set", "values": {"big": "0x7fffffffffffffff"}},
            {"op": "set", "values": {"next": "${big} + 1"}},
        ]
        s = Scenario(suite("tcp", ("overflow", steps)))
        r = s.run(self.server.port)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn('set next: expression "${big} + 1": 9223372036854775807 + 1 overflows int64',
                      r.stdout)

    def test_validate_points_at_each_mistake(self):
        bad = suite("tcp", ("bad", [
            {"op": "connect", "conn": "c"},
            {"op": "set", "values": {"a": "1 +", "i": 2, "b": "${nope} * 2", "c": [1]}},
            {"op": "repeat", "until": "1", "steps": [{"op": "sleep", "ms": 1}]},
            {"op": "repeat", "times": 2, "until": "1", "max": 3, "steps": [{"op": "sleep", "ms": 1}]},
            {"op": "repeat", "times": 2, "max": 3, "steps": [{"op": "sleep", "ms": 1}]},
            {"op": "expect", "conn": "c", "regex": "x", "bytes": "${missing} + (2"},
            {"op": "expect", "conn": "c", "length": "len(${i})"},
            {"op": "repeat", "until": "${later} == 1", "max": 2, "steps": [{"op": "sleep", "ms": 1}]},
        ]))
        r = Scenario(bad).validate()
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        out = r.stdout + r.stderr
        for want in [
            "/cases/0/steps/1/values/a: expected a number, ${name}, len(${name}) or ( at the end "
            "in expression \"1 +\"",
            "/cases/0/steps/1/values/i: 'i' is a built-in variable",
            "/cases/0/steps/1/values/b: ${nope} is used before any step captures it",
            "/cases/0/steps/1/values/c: must be an integer or an expression string",
            "/cases/0/steps/2/max: is required with until",
            "/cases/0/steps/7/until: ${later} is used before any step captures it",
            "/cases/0/steps/3/times: give either times or until (with max), not both",
            "/cases/0/steps/4/max: only applies with until",
            "/cases/0/steps/5/bytes: expected ) at the end in expression",
            "/cases/0/steps/6/length: len() takes a bytes variable; ${i} is an integer",
        ]:
            self.assertIn(want, out)

    def test_until_may_read_what_the_body_captures(self):
        steps = self.loop("${got} >= 2", 5)
        steps[1] = {"op": "sleep", "ms": 0}
        steps[2]["steps"][0] = {"op": "send", "conn": "c", "text": "${i}\n"}
        steps[2]["steps"].pop()
        s = Scenario(suite("tcp", ("body-captures", steps)))
        r = s.validate()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = s.run(self.server.port)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


class AnnouncedLengths(unittest.TestCase):
    def setUp(self):
        self.server = TcpServer(bulk)
        self.addCleanup(self.server.close)

    def steps(self, body_read):
        return [
            {"op": "connect", "conn": "c"},
            {"op": "send", "conn": "c", "text": "GET k\n"},
            {"op": "expect", "conn": "c", "regex": "\\$([0-9]+)", "until": "\r\n",
             "capture": {"len": 1}},
            *body_read,
            {"op": "expect", "conn": "c", "text": "+OK\r\n"},
        ]

    def test_a_bulk_string_with_crlf_inside_is_read_by_its_length(self):
        s = Scenario(suite("tcp",
                           ("regex-bytes", self.steps([
                               {"op": "expect", "conn": "c", "regex": "(?s)hello\r\nworld\r\n",
                                "bytes": "${len} + 2"}])),
                           ("length", self.steps([
                               {"op": "expect", "conn": "c", "length": "${len}"},
                               {"op": "expect", "conn": "c", "text": "\r\n"}]))))
        r = s.run(self.server.port)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("2 passed", r.stdout)

    def test_a_wrong_count_fails(self):
        s = Scenario(suite("tcp", ("off-by-one", self.steps([
            {"op": "expect", "conn": "c", "regex": "(?s)hello\r\nworld\r\n",
             "bytes": "${len} + 3"}]))))
        r = s.run(self.server.port)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("FAIL  vars/off-by-one", r.stdout)

    def test_a_count_that_is_no_number_is_a_step_error_naming_it(self):
        s = Scenario(suite("tcp", ("not-a-number", [
            {"op": "connect", "conn": "c"},
            {"op": "send", "conn": "c", "text": "GET k\n"},
            {"op": "expect", "conn": "c", "regex": "(.)", "bytes": 1, "capture": {"dollar": 1}},
            {"op": "expect", "conn": "c", "length": "${dollar}"},
        ])))
        r = s.run(self.server.port)
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn('length: expression "${dollar}": ${dollar} is "$", not a decimal integer',
                      r.stdout)


class DatagramsFromAnySender(unittest.TestCase):
    def test_a_transfer_from_a_new_port_is_followed_to_its_short_block(self):
        server = TftpLike()
        self.addCleanup(server.close)
        s = Scenario(suite("udp", ("read", TFTP_READ)))
        r = s.run(server.port)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        server.thread.join(10)
        self.assertEqual(server.acks, [b"ACK 1", b"ACK 2", b"ACK 3"])
        self.assertNotEqual(server.transfer_port, server.port)
        self.assertIn(f'until \\"len(${{data}}) < 8\\" held after 3 iteration(s)', r.report)
        case = json.loads(r.report)["suites"][0]["cases"][0]
        self.assertEqual(case["captures"]["peer"], f"127.0.0.1:{server.transfer_port}")
        self.assertEqual(case["captures"]["block"], "4")

    def test_block_numbers_from_zero_fail(self):
        server = TftpLike(first_block=0)
        self.addCleanup(server.close)
        s = Scenario(suite("udp", ("read", TFTP_READ)))
        r = s.run(server.port)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("DATA 0 ", r.stdout)

    def test_the_default_sender_is_still_the_target(self):
        server = TftpLike()
        self.addCleanup(server.close)
        steps = json.loads(json.dumps(TFTP_READ))
        del steps[3]["steps"][0]["from"]
        s = Scenario(suite("udp", ("read", steps)))
        r = s.run(server.port)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(f"expected from 127.0.0.1:{server.port}", r.stdout)

    def test_any_and_a_named_host_with_any_port(self):
        for sender in ["any", "${target.host}:*", "target:*"]:
            server = TftpLike(content=b"short")
            self.addCleanup(server.close)
            steps = json.loads(json.dumps(TFTP_READ))
            steps[3]["steps"][0]["from"] = sender
            s = Scenario(suite("udp", ("read", steps)))
            r = s.run(server.port)
            self.assertEqual(r.returncode, 0, sender + ": " + r.stdout + r.stderr)

    def test_another_host_is_refused(self):
        server = TftpLike()
        self.addCleanup(server.close)
        steps = json.loads(json.dumps(TFTP_READ))
        steps[3]["steps"][0]["from"] = "127.0.0.2:*"
        s = Scenario(suite("udp", ("read", steps)))
        r = s.run(server.port)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("expected from 127.0.0.2:*", r.stdout)

    def test_validate_points_at_each_mistake(self):
        bad = suite("udp", ("bad", [
            {"op": "connect", "conn": "k"},
            {"op": "expect", "conn": "k", "from": "any", "text": "x"},
            {"op": "connect", "conn": "t", "transport": "tcp"},
            {"op": "expect", "conn": "t", "capture_from": "p", "text": "x", "until": "\n"},
            {"op": "open", "conn": "u"},
            {"op": "expect", "conn": "u", "from": ":*", "capture_from": "seed", "text": "x"},
        ]))
        r = Scenario(bad).validate()
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        out = r.stdout + r.stderr
        for want in [
            "/cases/0/steps/1/from: \"any\" and \"HOST:*\" need an unconnected UDP socket",
            "/cases/0/steps/3/capture_from: only applies to UDP",
            "/cases/0/steps/5/from: ",
            "/cases/0/steps/5/capture_from: 'seed' is a built-in variable",
        ]:
            self.assertIn(want, out)


class CharsetErrors(unittest.TestCase):
    def test_a_value_that_the_charset_cannot_hold_is_named(self):
        def euro_first(c):
            c.sendall("€\n".encode())
            read_line(c)
        server = TcpServer(euro_first)
        self.addCleanup(server.close)
        s = Scenario(suite("tcp", ("latin1", [
            {"op": "connect", "conn": "c"},
            {"op": "expect", "conn": "c", "regex": "(.*)", "until": "\n", "capture": {"sign": 1}},
            {"op": "send", "conn": "c", "text": "price: ${sign}\n", "encoding": "ISO-8859-1"},
        ])))
        r = s.run(server.port)
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        step = json.loads(r.report)["suites"][0]["cases"][0]["steps"][2]
        self.assertIn('${sign} = "\\xe2\\x82\\xac" cannot be encoded as ISO-8859-1 (', step["message"])


class LiteralDollarBrace(unittest.TestCase):
    def test_dollar_dollar_brace_sends_dollar_brace(self):
        server = TcpServer(lambda c: c.sendall(read_line(c) or b""))
        self.addCleanup(server.close)
        s = Scenario(suite("tcp", ("literal", [
            {"op": "connect", "conn": "c"},
            {"op": "send", "conn": "c", "text": "cost $${price}\n"},
            {"op": "expect", "conn": "c", "hex": "636f737420 247b7072696365 7d 0a"},
        ])))
        self.assertEqual(s.validate().returncode, 0)
        r = s.run(server.port)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
