#!/usr/bin/python3
"""In-flight windows end to end: UDP open loop matched by tag against a server that drops,
duplicates and reorders on a fixed schedule and counts what it did; TCP pipelining checked reply
by reply. Counts are compared exactly; nothing here asserts how fast anything was."""
import os
import signal
import socket
import subprocess
import threading
import unittest

from load_test import load  # the same runner: a profile to a temp dir, its report back

SOCKSPEC = os.environ.get("SOCKSPEC", "sockspec")
SCENARIOS = os.environ.get("SOCKSPEC_SCENARIOS_SRC", "scenarios")


def udp_profile(**kw):
    # A window larger than what 2,000/s can have outstanding within the 1 s timeout, so a
    # generator stalled by a busy machine still finds room: no start may be missed. The timeout
    # is long so that only the server's schedule loses datagrams: beside a CPU hog per core, with
    # --busy-poll, 133 replies once took longer than the 200 ms it was.
    p = {"format": 1, "profile": "udp-window", "transport": "udp", "defaults": {"timeout_ms": 1000},
         "executor": {"type": "constant-rate", "rate": 2000, "connections": 1}, "in_flight": 4096,
         "duration_s": 2, "warmup_s": 0, "threads": 1,
         "setup": [{"op": "connect", "conn": "u"}],
         "iteration": [{"op": "send", "conn": "u", "text": "ping ${client} ${i}"},
                       {"op": "expect", "conn": "u", "echo": True}]}
    p.update(kw)
    return p


class ScheduleServer:
    """`sockspec serve echo --fault udp-schedule`: prints what it did when stopped."""

    def __init__(self, *fault_args):
        self.proc = subprocess.Popen([SOCKSPEC, "serve", "echo", "--transport", "udp", "--port", "0",
                                      "--fault", "udp-schedule", *fault_args],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        self.port = int(line.rsplit(":", 1)[1])

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=30)
        counts = out.split("udp-schedule:", 1)[1].split()
        return {counts[i]: int(counts[i + 1]) for i in range(0, len(counts), 2)}


class UdpOpenLoop(unittest.TestCase):
    def run_against_schedule(self, connections, *args):
        # 500/s: a reply the generator does not read in time is lost in its socket's receive
        # buffer, which the server cannot count. Beside a CPU hog per core, at 2,000/s, 9 more
        # than the server's were lost once; at 500/s the buffer (~200 small datagrams by default)
        # rides out a generator stalled for 400 ms.
        server = ScheduleServer("--drop-every", "10", "--duplicate-every", "7", "--hold-every", "13")
        try:
            r, rep, _ = load(udp_profile(executor={"type": "constant-rate", "rate": 500,
                                                   "connections": connections}),
                             "--target", f"127.0.0.1:{server.port}", *args)
        finally:
            did = server.stop()
        self.assertIsNotNone(rep, r.stdout + r.stderr)
        l = rep["load"]
        self.assertEqual(l["scheduled"], 1000)
        self.assertEqual(l["missed_starts"], 0, r.stdout)
        u = l["udp"]
        self.assertEqual(u["sent"], 1000)
        # Every datagram the server never received (a socket buffer overflowed on a busy
        # machine), dropped, or still held when the run ended is lost; nothing else is.
        unreceived = u["sent"] - did["received"]
        self.assertEqual(u["lost"], did["dropped"] + did["held"] + unreceived)
        self.assertEqual(u["duplicates"], did["duplicated"])
        self.assertEqual(u["reordered"], did["reordered"])
        self.assertEqual(u["late"], 0)
        self.assertGreater(did["dropped"], 75)  # the schedule did act
        self.assertEqual(l["errors_by_kind"], {"loss": u["lost"]})
        self.assertEqual(l["iterations"], 1000 - u["lost"])
        # The per-second series adds up to the totals.
        for key in ("lost", "duplicates", "reordered", "late"):
            self.assertEqual(sum(s["udp"][key] for s in l["series"]), u[key], key)
        return r

    def test_one_socket_counts_exactly_what_the_server_dropped_duplicated_and_reordered(self):
        self.run_against_schedule(1)

    def test_eight_sockets_count_exactly_what_the_server_did(self):
        self.run_against_schedule(8)

    def test_a_busy_polling_generator_counts_the_same(self):
        self.run_against_schedule(1, "--busy-poll")

    def test_a_full_window_is_a_missed_start_not_a_delay(self):
        # A server that never answers: 2 in flight and a 1 s timeout, 200 starts a second for
        # 0.5 s: the first 2 go out, every later start finds the window full.
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        try:
            p = udp_profile(executor={"type": "constant-rate", "rate": 200, "connections": 1},
                            in_flight=2, duration_s=0.5, defaults={"timeout_ms": 1000})
            r, rep, _ = load(p, "--target", f"127.0.0.1:{s.getsockname()[1]}")
        finally:
            s.close()
        l = rep["load"]
        self.assertEqual(r.returncode, 1)
        self.assertEqual(l["scheduled"], 100)
        self.assertEqual(l["udp"]["sent"], 2)
        self.assertEqual(l["missed_starts"], 98)
        self.assertEqual(l["udp"]["lost"], 2)

    def test_warm_up_datagrams_and_their_replies_are_not_counted(self):
        server = ScheduleServer("--drop-every", "10")
        try:
            r, rep, _ = load(udp_profile(warmup_s=0.5, duration_s=1), "--target", f"127.0.0.1:{server.port}")
        finally:
            did = server.stop()
        u = rep["load"]["udp"]
        self.assertEqual(rep["load"]["scheduled"], 2000)
        self.assertEqual(u["sent"], 2000)
        self.assertGreater(did["received"], 2000)  # the warm-up's datagrams went out too
        self.assertLessEqual(u["lost"], u["sent"])

    def test_an_amplifier_fails_the_shipped_profile(self):
        # Ten replies to every datagram: every reply is right, yet the shipped profile fails.
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(0.1)
        stop = threading.Event()

        def amplify():
            for _ in range(100000):
                if stop.is_set():
                    return
                try:
                    data, peer = s.recvfrom(2048)
                except OSError:
                    continue
                for _ in range(10):
                    s.sendto(data, peer)
        t = threading.Thread(target=amplify, daemon=True)
        t.start()
        try:
            r = subprocess.run([SOCKSPEC, "load", os.path.join(SCENARIOS, "load", "echo-udp-rr.json"),
                                "--target", f"127.0.0.1:{s.getsockname()[1]}", "--rate", "200",
                                "--duration", "1", "--warmup", "0"],
                               capture_output=True, text=True, timeout=60)
        finally:
            stop.set()
            t.join(timeout=5)
            s.close()
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("udp_duplicates", r.stdout)

    def test_an_explicit_false_turns_tags_off_and_in_flight_then_refuses(self):
        r, _, _ = load(udp_profile(udp_sequence=False), "--target", "127.0.0.1:9")
        self.assertEqual(r.returncode, 2)
        self.assertIn(":/in_flight: more than 1 in flight over UDP needs udp_sequence", r.stderr)


class WindowSizing(unittest.TestCase):
    """The window an open loop needs: sized for the rate by default, and a full one says so."""

    def lossy_run(self, profile, *args):
        server = ScheduleServer("--drop-every", "10")
        try:
            r, rep, _ = load(profile, "--target", f"127.0.0.1:{server.port}", *args)
        finally:
            did = server.stop()
        self.assertIsNotNone(rep, r.stdout + r.stderr)
        return r, rep["load"], did

    def test_an_open_loop_that_names_no_window_keeps_its_rate_against_a_lossy_server(self):
        p = udp_profile()
        del p["in_flight"]
        r, l, did = self.lossy_run(p)
        w = l["window"]
        # 2,000/s on one socket with a 1 s timeout: 2,500 awaited at most, and one more.
        self.assertEqual((w["chosen_by"], w["in_flight"], w["needed"]), ("auto", 2501, 2501), w)
        self.assertEqual(w["memory_limit_bytes"], 256 << 20)
        self.assertIn("2501 in flight per connection (auto: 2000/s over 1 connection(s)", r.stdout)
        self.assertEqual(l["missed_starts"], 0, r.stdout)
        self.assertEqual(w["full_starts"], 0)
        u = l["udp"]
        self.assertEqual(u["sent"], 4000)
        # Every tenth reply dropped by the server is lost (and what never reached it, on a busy
        # machine): about 10%, never less than the server's own count.
        self.assertGreaterEqual(u["lost"], did["dropped"])
        self.assertLessEqual(u["lost"], did["dropped"] + (u["sent"] - did["received"]) + 80)

    def test_a_window_too_small_for_the_rate_says_so_and_what_to_raise(self):
        r, l, _ = self.lossy_run(udp_profile(), "--in-flight", "16")
        w = l["window"]
        self.assertEqual(r.returncode, 1)
        self.assertEqual((w["chosen_by"], w["in_flight"], w["needed"]), ("--in-flight", 16, 2501))
        self.assertGreater(l["missed_starts"], 0)
        # The connection was ready throughout: every missed start found its window full.
        self.assertEqual(w["full_starts"], l["missed_starts"])
        self.assertGreater(w["full_s"], 0)
        self.assertLessEqual(w["full_s"], l["duration_s"])
        self.assertIn("every window of 16 was full for", r.stdout)
        self.assertIn("raise in_flight to >= 2501 (or \"auto\") or connections", r.stdout)

    def test_auto_is_for_open_loops_and_other_words_are_refused(self):
        closed = udp_profile(executor={"type": "closed", "vus": 1}, in_flight="auto")
        r, _, _ = load(closed, "--target", "127.0.0.1:9")
        self.assertEqual(r.returncode, 2)
        self.assertIn(':/in_flight: "auto" sizes an open loop', r.stderr)
        closed["in_flight"] = 4
        r, _, _ = load(closed, "--target", "127.0.0.1:9", "--in-flight", "auto")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--in-flight auto sizes an open loop's window", r.stderr)
        r, _, _ = load(udp_profile(in_flight="lots"), "--target", "127.0.0.1:9")
        self.assertEqual(r.returncode, 2)
        self.assertIn('/in_flight: must be an integer from 1 to 65536 or "auto", got "lots"', r.stderr)


class HeaderFirstServer:
    """A UDP server that, like `sockperf server`, reads a 14-byte header of its own at the start
    of each datagram: it answers only when byte 9 has the client bit (1) set, and answers with
    that bit cleared and the rest of the datagram unchanged."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        for _ in range(100000):
            if self.stop.is_set():
                return
            try:
                data, peer = self.sock.recvfrom(2048)
            except OSError:
                continue
            if len(data) >= 14 and data[9] & 1:
                self.sock.sendto(data[:9] + bytes([data[9] & ~1]) + data[10:], peer)

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


class TagOffset(unittest.TestCase):
    HEADER = "0000000000000001 {flags} 00000040 "
    REST = "00112233445566778899aabbccddeeff 00112233445566778899aabbccddeeff"

    def profile(self, expect):
        return udp_profile(
            executor={"type": "constant-rate", "rate": 500, "connections": 1}, duration_s=1,
            udp_tag_offset=14, thresholds=["errors == 0"],
            iteration=[{"op": "send", "conn": "u", "hex": self.HEADER.format(flags="0003") + self.REST},
                       {"op": "expect", "conn": "u", **expect}])

    def test_the_tag_after_a_header_lets_a_header_first_server_answer_every_datagram(self):
        server = HeaderFirstServer()
        try:
            r, rep, _ = load(self.profile({"hex": self.HEADER.format(flags="0002") + self.REST}),
                             "--target", f"127.0.0.1:{server.port}")
        finally:
            server.close()
        l = rep["load"]
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(l["udp"]["sent"], 500)
        self.assertEqual(l["iterations"] + l["udp"]["lost"], 500)
        self.assertEqual(l["errors"], l["udp"]["lost"])
        # 14 + 18 + 32 bytes each way: the tag travels inside the datagram.
        self.assertEqual(l["traffic"]["bytes_sent"], 500 * 64)

    def test_every_reply_is_still_checked_without_its_tag(self):
        server = HeaderFirstServer()
        try:
            # The server changed the flags: an echo of the request is not what came back.
            r, rep, _ = load(self.profile({"echo": True}), "--target", f"127.0.0.1:{server.port}")
        finally:
            server.close()
        l = rep["load"]
        self.assertEqual(r.returncode, 1)
        self.assertEqual(l["iterations"], 0)
        self.assertEqual(l["errors_by_kind"].get("mismatch", 0) + l["udp"]["lost"], 500)
        first = l["first_errors"][0]
        self.assertEqual(first["mismatch"]["offset"], 9, first)

    def test_one_in_flight_places_the_tag_after_the_header_too(self):
        # A closed loop of one request at a time (a round trip as sockperf ping-pong measures
        # it): the iteration runs through a window of one, the only place that tags inside.
        server = HeaderFirstServer()
        p = self.profile({"hex": self.HEADER.format(flags="0002") + self.REST})
        p["executor"] = {"type": "closed", "vus": 1}
        p["iterations"] = 200
        p["warmup_s"] = 0
        try:
            r, rep, _ = load(p, "--target", f"127.0.0.1:{server.port}", "--in-flight", "1")
        finally:
            server.close()
        l = rep["load"]
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(l["in_flight"], 1)
        self.assertEqual(l["udp"]["sent"], 200)
        self.assertEqual(l["iterations"] + l["udp"]["lost"], 200)
        self.assertEqual(l["traffic"]["bytes_sent"], 200 * 64)

    def test_the_offset_needs_a_udp_profile_and_a_payload_that_long(self):
        r, _, _ = load(tcp_profile(udp_tag_offset=4), "--target", "127.0.0.1:9")
        self.assertEqual(r.returncode, 2)
        self.assertIn("/udp_tag_offset: places the UDP tag: it needs a UDP profile", r.stderr)
        p = self.profile({"echo": True})
        p["udp_tag_offset"] = 100
        r, rep, _ = load(p, "--target", "127.0.0.1:9", "--duration", "0.1")
        self.assertEqual(r.returncode, 1)
        self.assertIn("fewer than udp_tag_offset (100)", rep["load"]["first_errors"][0]["message"])


class EchoInOneByteWrites:
    """A TCP echo that writes every reply byte by byte; `corrupt` (1-based) names a request
    whose reply gets one byte changed."""

    def __init__(self, corrupt=None):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.corrupt = corrupt
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        for _ in range(1000):
            if self.stop.is_set():
                return
            try:
                c, _ = self.listener.accept()
            except OSError:
                continue
            threading.Thread(target=self.echo, args=(c,), daemon=True).start()

    def echo(self, c):
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.settimeout(0.2)
        buf, n = b"", 0
        for _ in range(1000000):
            if self.stop.is_set():
                break
            try:
                data = c.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                break
            if not data:
                break
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                n += 1
                reply = line + b"\n"
                if n == self.corrupt:
                    reply = b"X" + reply[1:]
                for i in range(len(reply)):
                    c.sendall(reply[i:i + 1])
        c.close()

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        self.listener.close()


def tcp_profile(**kw):
    p = {"format": 1, "profile": "pipelined", "transport": "tcp", "defaults": {"timeout_ms": 5000},
         "executor": {"type": "closed", "vus": 1}, "in_flight": 16, "iterations": 400,
         "duration_s": 60, "warmup_s": 0, "threads": 1,
         "setup": [{"op": "connect", "conn": "c", "options": {"nodelay": True}}],
         "iteration": [{"op": "send", "conn": "c", "text": "request ${client} ${i} of this user\n"},
                       {"op": "expect", "conn": "c", "echo": True}]}
    p.update(kw)
    return p


class TcpPipelining(unittest.TestCase):
    def test_sixteen_in_flight_over_one_byte_writes_check_every_reply(self):
        server = EchoInOneByteWrites()
        try:
            r, rep, _ = load(tcp_profile(), "--target", f"127.0.0.1:{server.port}")
        finally:
            server.close()
        l = rep["load"]
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(l["in_flight"], 16)
        self.assertEqual(l["iterations"], 400)
        self.assertEqual(l["errors"], 0)
        # Each reply is its own request's bytes: 400 distinct lines, each echoed once.
        self.assertEqual(l["traffic"]["bytes_received"], l["traffic"]["bytes_sent"])

    def test_a_mismatch_mid_pipeline_is_the_right_iterations_error(self):
        server = EchoInOneByteWrites(corrupt=37)  # the 37th request is iteration 36 (from 0)
        try:
            r, rep, _ = load(tcp_profile(iterations=40, thresholds=["errors == 0"]),
                             "--target", f"127.0.0.1:{server.port}")
        finally:
            server.close()
        l = rep["load"]
        self.assertEqual(r.returncode, 1)
        first = l["first_errors"][0]
        self.assertEqual(first["kind"], "mismatch")
        self.assertIn("iteration 36 of its user", first["step"])
        self.assertEqual(first["mismatch"]["offset"], 0)
        self.assertTrue(first["mismatch"]["expected_text"].startswith("request 0 36 of this user"), first)
        # What had arrived when the first byte differed: the corrupted reply's start, however
        # much of it the stream had delivered by then.
        actual, reply = first["mismatch"]["actual_text"], "Xequest 0 36 of this user"
        self.assertTrue(actual.startswith("X") and
                        (reply.startswith(actual) or actual.startswith(reply)), first)
        # The 36 before it passed; those behind it in the pipe are abandoned, then the user
        # reconnects and finishes its 40.
        self.assertEqual(l["errors_by_kind"]["mismatch"], 1)
        self.assertEqual(l["iterations"] + l["errors"], 40)

    def test_in_flight_needs_one_send_and_one_expect(self):
        p = tcp_profile(iteration=[{"op": "send", "conn": "c", "text": "a\n"}])
        r, _, _ = load(p, "--target", "127.0.0.1:9")
        self.assertEqual(r.returncode, 2)
        self.assertIn(":/in_flight: more than 1 in flight needs an iteration of exactly one send", r.stderr)
        r, _, _ = load(tcp_profile(in_flight=1, iteration=[{"op": "send", "conn": "c", "text": "a\n"}]),
                       "--target", "127.0.0.1:9", "--in-flight", "4")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--in-flight 4: more than 1 in flight needs", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
