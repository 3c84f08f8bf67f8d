#!/usr/bin/python3
"""AF_UNIX targets and `sockspec record`, end to end against the reference servers.
These assert behaviour (verdicts, exit codes, files on disk), never how fast anything was."""
import json
import os
import re
import signal
import socket
import struct
import subprocess
import tempfile
import time
import unittest

SOCKSPEC = os.environ.get("SOCKSPEC", "sockspec")
SCENARIOS = os.environ.get("SOCKSPEC_SCENARIOS_SRC", "scenarios")
SUITES = os.path.join(SCENARIOS, "suites")


def run(*args, timeout=120):
    return subprocess.run([SOCKSPEC, *args], capture_output=True, text=True, timeout=timeout)


def suite(name):
    return os.path.join(SUITES, name + ".json")


class Background:
    """A sockspec process that prints one `listening KIND WHERE` line first (serve, record)."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([SOCKSPEC, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()
        if len(line) != 3 or line[0] != "listening":
            self.proc.kill()
            raise AssertionError(f"{args}: no listening line, got {line}: {self.proc.stderr.read()}")
        self.kind, self.where = line[1], line[2]

    def stop(self, sig=signal.SIGTERM):
        """Sends `sig` (None: none, it ends by itself) and waits for the exit."""
        if sig is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=30)
        return self.proc.returncode, out, err

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=10)


def report_of(r_dir):
    with open(os.path.join(r_dir, "report.json")) as f:
        return json.load(f)


def verdicts(report):
    return {s["name"] + "/" + c["id"]: c for s in report["suites"] for c in s["cases"]}


class UnixTargets(unittest.TestCase):
    def run_managed(self, suites, serve_args):
        with tempfile.TemporaryDirectory() as out:
            r = run("run", *[suite(s) for s in suites], "--out", out,
                    "--server-cmd", f"{SOCKSPEC} serve {serve_args} --unix {{path}}")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            report = report_of(out)
        return r, report

    def test_stream_suites_pass_against_a_managed_server_and_its_socket_dir_is_removed(self):
        for service in ("echo", "upper"):
            r, report = self.run_managed([f"{service}-tcp", "lifecycle-echo" if service == "echo" else "sockets"],
                                         service)
            address = report["run"]["address"]
            self.assertTrue(address.startswith("unix:/"), address)
            socket_dir = os.path.dirname(address[len("unix:"):])
            self.assertFalse(os.path.exists(socket_dir), f"{socket_dir} left behind")
            cases = verdicts(report)
            passed = [k for k, c in cases.items() if c["verdict"] == "pass"]
            self.assertGreaterEqual(len(passed), 14, r.stdout)
            # The cases that only make sense on TCP/IP say so.
            self.assertEqual(cases[f"{service}-tcp/data-with-fin"]["verdict"], "skip")
            self.assertIn("TCP options", cases[f"{service}-tcp/data-with-fin"]["reason"])
            self.assertIn("requires inet", cases[f"{service}-tcp/one-mib"]["reason"])
            # Half-close, reset and EOF steps work on AF_UNIX streams.
            for case in ("half-close", "survives-reset", "short-line"):
                self.assertEqual(cases[f"{service}-tcp/{case}"]["verdict"], "pass", case)
        self.assertEqual(cases["sockets/target-port-is-taken"]["verdict"], "pass")  # EADDRINUSE on the path

    def test_a_server_restart_reuses_the_path(self):
        r, report = self.run_managed(["lifecycle-echo"], "echo")
        cases = verdicts(report)
        self.assertEqual(cases["lifecycle-echo/restart-twice"]["verdict"], "pass", r.stdout)

    def test_datagram_suites_pass_against_unixgram_servers(self):
        for service in ("echo", "upper"):
            r, report = self.run_managed([f"{service}-udp"], f"{service} --transport udp")
            cases = verdicts(report)
            self.assertTrue(all(c["verdict"] == "pass" for c in cases.values()), r.stdout)
            # The reply's source is the server's bound path.
            self.assertIn(f"{service}-udp/reply-from-the-same-port", cases)

    def test_a_stream_case_against_a_datagram_target_is_skipped_with_the_reason(self):
        with tempfile.TemporaryDirectory() as out:
            r = run("run", suite("echo-udp"), suite("sockets"), "--out", out,
                    "--target", "unixgram:", "--server-cmd", f"{SOCKSPEC} serve echo --transport udp --unix {{path}}")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            cases = verdicts(report_of(out))
            self.assertEqual(cases["sockets/target-port-is-taken"]["verdict"], "skip")
            self.assertIn("stream", cases["sockets/target-port-is-taken"]["reason"])

    def test_abstract_names_serve_and_run_and_leave_no_file(self):
        name = f"@sockspec-test-{os.getpid()}"
        with Background("serve", "echo", "--unix", name) as srv:
            self.assertEqual((srv.kind, srv.where), ("unix", name))
            r = run("run", suite("echo-tcp"), "--target", "unix:" + name, "--filter", "echo-tcp/*-byte*")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("PASS  echo-tcp/all-byte-values", r.stdout)
            self.assertEqual(srv.stop()[0], 0)
        with Background("serve", "upper", "--transport", "udp", "--unix", name + "-dgram") as srv:
            self.assertEqual(srv.kind, "unixgram")
            r = run("run", suite("upper-udp"), "--target", "unixgram:" + name + "-dgram")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertNotIn("SKIP", r.stdout)

    def test_reset_and_eof_between_two_unix_sockets_of_a_case(self):
        # A socket closed with unread data resets its peer on AF_UNIX; one closed after
        # reading gives a plain EOF. The case's own listener has an abstract name.
        name = f"unix:@sockspec-reset-{os.getpid()}"
        steps = [
            {"op": "listen", "conn": "l", "bind": name},
            {"op": "connect", "conn": "a", "to": name},
            {"op": "accept", "conn": "l", "as": "sa"},
            {"op": "send", "conn": "a", "text": "never read"},
            {"op": "close", "conn": "sa"},
            {"op": "expect_reset", "conn": "a"},
            {"op": "connect", "conn": "b", "to": name},
            {"op": "accept", "conn": "l", "as": "sb"},
            {"op": "send", "conn": "b", "text": "read"},
            {"op": "expect", "conn": "sb", "text": "read"},
            {"op": "close", "conn": "sb"},
            {"op": "expect_eof", "conn": "b"},
        ]
        doc = {"format": 1, "suite": "unix-reset", "cases": [{"id": "reset-then-eof", "steps": steps}]}
        with tempfile.TemporaryDirectory() as d, Background("serve", "echo", "--unix", d + "/t.sock") as srv:
            path = os.path.join(d, "s.json")
            with open(path, "w") as f:
                json.dump(doc, f)
            r = run("run", path, "--target", "unix:" + srv.where)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("PASS  unix-reset/reset-then-eof", r.stdout)

    def test_serve_removes_its_socket_file_and_refuses_an_existing_path(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "s.sock")
            with Background("serve", "echo", "--unix", path) as srv:
                self.assertTrue(os.path.exists(path))
                second = run("serve", "echo", "--unix", path, timeout=30)
                self.assertEqual(second.returncode, 1)
                self.assertIn("EADDRINUSE", second.stderr)
                self.assertTrue(os.path.exists(path), "the refused server removed the other's socket")
                self.assertEqual(srv.stop()[0], 0)
            self.assertFalse(os.path.exists(path))

    def test_an_unreachable_unix_target_exits_3(self):
        with tempfile.TemporaryDirectory() as d:
            for target in ("unix:" + d + "/none.sock", "unixgram:" + d + "/none.sock"):
                r = run("run", suite("echo-tcp"), "--target", target)
                self.assertEqual(r.returncode, 3, target + r.stderr)
                self.assertIn("cannot be reached", r.stderr)

    def test_bad_unix_targets_are_usage_errors(self):
        self.assertEqual(run("run", suite("echo-tcp"), "--target", "unix:").returncode, 2)
        r = run("run", suite("echo-tcp"), "--target", "127.0.0.1:1", "--server-cmd", "x {path}")
        self.assertEqual(r.returncode, 2)
        self.assertIn("AF_UNIX", r.stderr)

    def test_load_runs_on_unix_stream_and_datagram_targets(self):
        # 2 users x 50 checked round trips each, on a stream and on a datagram socket.
        for transport, serve_args in (("tcp", "echo"), ("udp", "echo --transport udp")):
            profile = {"format": 1, "profile": "unix-" + transport, "transport": transport,
                       "defaults": {"timeout_ms": 5000}, "executor": {"type": "closed", "vus": 2},
                       "iterations": 50, "duration_s": 120, "warmup_s": 0,
                       "setup": [{"op": "connect", "conn": "c"}],
                       "iteration": [{"op": "send", "conn": "c", "text": "ping ${client}"},
                                     {"op": "expect", "conn": "c", "echo": True}]}
            with tempfile.TemporaryDirectory() as out:
                path = os.path.join(out, "p.json")
                with open(path, "w") as f:
                    json.dump(profile, f)
                r = run("load", path, "--out", out, "--server-cmd", f"{SOCKSPEC} serve {serve_args} --unix {{path}}")
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                with open(os.path.join(out, "load-report.json")) as f:
                    rep = json.load(f)
                self.assertTrue(rep["run"]["address"].startswith("unix:/"), transport)
                self.assertEqual(rep["load"]["iterations"], 100, r.stdout)
                self.assertEqual(rep["load"]["errors"], 0, r.stdout)  # every reply checked and right


class Recorder:
    """`sockspec record` in the background, with a client helper."""

    def __init__(self, out, upstream, *extra, listen="127.0.0.1:0"):
        self.out = out
        self.bg = Background("record", "--listen", listen, "--upstream", upstream, "-o", out, *extra)

    def address(self):
        if self.bg.kind in ("unix", "unixgram"):
            return self.bg.where
        host, port = self.bg.where.rsplit(":", 1)
        return host, int(port)

    def finish(self, sig=signal.SIGINT):
        code, out, err = self.bg.stop(sig)
        return code, out, err


def stream_client(addr):
    if isinstance(addr, str):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect("\0" + addr[1:] if addr.startswith("@") else addr)
    else:
        s = socket.create_connection(addr)
    s.settimeout(10)
    return s


def recv_exactly(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def recv_until_eof(s):
    data = b""
    for _ in range(10000):
        chunk = s.recv(65536)
        if not chunk:
            return data
        data += chunk
    raise AssertionError("no EOF")


class Record(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def serve(self, *args):
        srv = Background("serve", *args)
        self.addCleanup(srv.__exit__)
        return srv

    def replay(self, path, target):
        return run("run", path, "--target", target)

    def test_echo_session_with_a_half_close_replays_green_and_fails_against_upper(self):
        echo = self.serve("echo", "--transport", "tcp")
        rec = Recorder(os.path.join(self.dir, "echo.json"), echo.where, "--sessions", "1")
        c = stream_client(rec.address())
        c.sendall(b"hello\n")
        self.assertEqual(recv_exactly(c, 6), b"hello\n")
        c.sendall(b"second line\n")
        self.assertEqual(recv_exactly(c, 12), b"second line\n")
        c.shutdown(socket.SHUT_WR)
        self.assertEqual(recv_until_eof(c), b"")
        c.close()
        code, out, err = rec.finish(None)  # --sessions 1 ends it
        self.assertEqual(code, 0, err)
        with open(rec.out) as f:
            recorded = json.load(f)
        ops = [s["op"] for s in recorded["cases"][0]["steps"]]
        self.assertEqual(ops, ["connect", "send", "expect", "send", "expect", "shutdown", "expect_eof", "close"])
        self.assertEqual(run("validate", rec.out).returncode, 0)
        r = self.replay(rec.out, echo.where)
        self.assertEqual(r.returncode, 0, r.stdout)
        upper = self.serve("upper", "--transport", "tcp")
        r = self.replay(rec.out, upper.where)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn('expected @0: "hello\\n"', r.stdout)
        self.assertIn('actual   @0: "HELLO\\n"', r.stdout)

    def test_chunk_boundaries_and_a_client_reset_are_recorded(self):
        upper = self.serve("upper", "--transport", "tcp")
        rec = Recorder(os.path.join(self.dir, "upper.json"), upper.where, "--sessions", "1")
        c = stream_client(rec.address())
        c.sendall(b"abc")
        self.assertEqual(recv_exactly(c, 3), b"ABC")
        c.sendall(b"\x00\xffxyz")
        self.assertEqual(recv_exactly(c, 5), b"\x00\xffXYZ")
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
        code, out, err = rec.finish(None)
        self.assertEqual(code, 0, err)
        with open(rec.out) as f:
            steps = json.load(f)["cases"][0]["steps"]
        self.assertEqual(steps[1], {"op": "send", "conn": "c", "text": "abc"})
        self.assertEqual(steps[3], {"op": "send", "conn": "c", "hex": "00ff78797a"})
        self.assertEqual(steps[-1], {"op": "close", "conn": "c", "abort": True})
        r = self.replay(rec.out, upper.where)
        self.assertEqual(r.returncode, 0, r.stdout)

    def test_a_server_reset_becomes_expect_reset(self):
        # A server that answers one line and then resets the connection.
        lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lst.bind(("127.0.0.1", 0))
        lst.listen(8)
        lst.settimeout(10)
        self.addCleanup(lst.close)
        where = "127.0.0.1:%d" % lst.getsockname()[1]
        import threading

        def serve_resets(n):
            for _ in range(n):
                try:
                    conn, _ = lst.accept()
                except OSError:
                    return
                conn.settimeout(10)
                line = conn.recv(100)
                if line:  # (record's reachability probe connects and sends nothing)
                    conn.sendall(b"bye " + line)
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
        # record's and run's reachability probes, the recorded session and its replay.
        t = threading.Thread(target=serve_resets, args=(8,), daemon=True)
        t.start()
        rec = Recorder(os.path.join(self.dir, "reset.json"), where, "--sessions", "1")
        c = stream_client(rec.address())
        c.sendall(b"x\n")
        got = b""
        try:
            for _ in range(100):
                chunk = c.recv(100)
                if not chunk:
                    break
                got += chunk
        except ConnectionResetError:
            pass
        c.close()
        code, out, err = rec.finish(None)
        self.assertEqual(code, 0, err)
        with open(rec.out) as f:
            steps = json.load(f)["cases"][0]["steps"]
        self.assertEqual([s["op"] for s in steps], ["connect", "send", "expect", "expect_reset"])
        r = self.replay(rec.out, where)
        self.assertEqual(r.returncode, 0, r.stdout)
        echo = self.serve("echo", "--transport", "tcp")
        r = self.replay(rec.out, echo.where)
        self.assertEqual(r.returncode, 1, r.stdout)

    def test_udp_sessions_are_written_on_ctrl_c_and_replay_green(self):
        upper = self.serve("upper", "--transport", "udp")
        rec = Recorder(os.path.join(self.dir, "udp.json"), upper.where, "--transport", "udp")
        for client in range(2):
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.settimeout(10)
            u.sendto(b"ping %d" % client, rec.address())
            self.assertEqual(u.recv(100), b"PING %d" % client)
            u.close()
        code, out, err = rec.finish(signal.SIGINT)
        self.assertEqual(code, 0, err)
        self.assertIn("recorded 2 session(s)", out)
        r = self.replay(rec.out, upper.where)
        self.assertEqual(r.returncode, 0, r.stdout)

    def test_unix_stream_recording_replays_against_the_unix_server(self):
        path = os.path.join(self.dir, "echo.sock")
        listen = os.path.join(self.dir, "proxy.sock")
        self.serve("echo", "--unix", path)
        rec = Recorder(os.path.join(self.dir, "unix.json"), "unix:" + path, listen="unix:" + listen)
        self.assertEqual(rec.address(), listen)
        c = stream_client(listen)
        c.sendall(b"over unix\n")
        self.assertEqual(recv_exactly(c, 10), b"over unix\n")
        c.shutdown(socket.SHUT_WR)
        self.assertEqual(recv_until_eof(c), b"")
        c.close()
        code, out, err = rec.finish(signal.SIGINT)
        self.assertEqual(code, 0, err)
        self.assertFalse(os.path.exists(listen), "the proxy's socket file was left")
        r = self.replay(rec.out, "unix:" + path)
        self.assertEqual(r.returncode, 0, r.stdout)

    def test_unixgram_recording_replays_against_the_unixgram_server(self):
        path = os.path.join(self.dir, "echo.dgram")
        self.serve("echo", "--transport", "udp", "--unix", path)
        listen = "@sockspec-rec-%d" % os.getpid()
        rec = Recorder(os.path.join(self.dir, "dgram.json"), "unixgram:" + path, listen="unixgram:" + listen)
        u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        u.bind("\0sockspec-cli-%d" % os.getpid())
        u.settimeout(10)
        u.sendto(b"datagram", "\0" + listen[1:])
        self.assertEqual(u.recv(100), b"datagram")
        u.close()
        code, out, err = rec.finish(signal.SIGINT)
        self.assertEqual(code, 0, err)
        r = self.replay(rec.out, "unixgram:" + path)
        self.assertEqual(r.returncode, 0, r.stdout)

    def test_a_chat_conversation_recorded_as_one_case_replays_green(self):
        chat = self.serve("chat", "--transport", "tcp")
        rec = Recorder(os.path.join(self.dir, "chat.json"), chat.where, "--one-case", "--sessions", "2")
        a = stream_client(rec.address())
        b = stream_client(rec.address())
        # The room knows both once a message from each has gone round.
        for _ in range(50):
            a.sendall(b"hi from a\n")
            b.settimeout(0.2)
            try:
                if recv_exactly(b, 10) == b"hi from a\n":
                    break
            except socket.timeout:
                continue
        b.settimeout(10)
        b.sendall(b"hello a\n")
        self.assertEqual(recv_exactly(a, 8), b"hello a\n")
        a.close()
        b.close()
        code, out, err = rec.finish(None)
        self.assertEqual(code, 0, err)
        with open(rec.out) as f:
            case = json.load(f)["cases"][0]
        conns = {s.get("conn") for s in case["steps"]} - {None}
        self.assertEqual(conns, {"c1", "c2"})
        r = self.replay(rec.out, chat.where)
        self.assertEqual(r.returncode, 0, r.stdout)

    def test_regex_digits_lets_a_daytime_recording_replay_later(self):
        daytime = self.serve("daytime", "--transport", "tcp")
        rec = Recorder(os.path.join(self.dir, "daytime.json"), daytime.where, "--regex-digits", "--sessions", "1")
        c = stream_client(rec.address())
        line = recv_until_eof(c)
        self.assertTrue(line.endswith(b"\n"), line)
        c.close()
        code, out, err = rec.finish(None)
        self.assertEqual(code, 0, err)
        with open(rec.out) as f:
            steps = json.load(f)["cases"][0]["steps"]
        regexes = [s for s in steps if "regex" in s]
        self.assertTrue(regexes and "[0-9]+" in regexes[0]["regex"], steps)
        r = self.replay(rec.out, daytime.where)
        self.assertEqual(r.returncode, 0, r.stdout)

    def test_nothing_recorded_writes_nothing_and_bad_usage_exits_2(self):
        echo = self.serve("echo", "--transport", "tcp")
        rec = Recorder(os.path.join(self.dir, "none.json"), echo.where)
        code, out, err = rec.finish(signal.SIGINT)
        self.assertEqual(code, 1)
        self.assertFalse(os.path.exists(rec.out))
        self.assertEqual(run("record", "--listen", "127.0.0.1:0").returncode, 2)
        r = run("record", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "-o", os.path.join(self.dir, "x.json"))
        self.assertEqual(r.returncode, 3, r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
