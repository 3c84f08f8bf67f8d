#!/usr/bin/python3
"""`sockspec load` end to end: profiles, thresholds, missed starts, mismatches under load.
These assert behaviour (counts, verdicts, exit codes), never how fast anything was."""
import json
import os
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET

SOCKSPEC = os.environ.get("SOCKSPEC", "sockspec")
SCENARIOS = os.environ.get("SOCKSPEC_SCENARIOS_SRC", "scenarios")


def load(profile, *args, timeout=120):
    d = tempfile.mkdtemp()
    path = os.path.join(d, "p.json")
    with open(path, "w") as f:
        json.dump(profile, f)
    r = subprocess.run([SOCKSPEC, "load", path, "--out", d, *args], capture_output=True, text=True, timeout=timeout)
    report = None
    if os.path.exists(os.path.join(d, "load-report.json")):
        with open(os.path.join(d, "load-report.json")) as f:
            report = json.load(f)
    return r, report, d


def peak_rss_kib(cmd, env):
    """The peak resident set of one run of `cmd`, from the kernel's accounting of that child."""
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    assert p.returncode == 0, f"{cmd} exited with {p.returncode}"
    return usage.ru_maxrss


def profile(**kw):
    p = {"format": 1, "profile": "t", "transport": "tcp", "defaults": {"timeout_ms": 1000},
         "executor": {"type": "closed", "vus": 2}, "duration_s": 0.5, "warmup_s": 0,
         "setup": [{"op": "connect", "conn": "c"}],
         "iteration": [{"op": "send", "conn": "c", "text": "ping ${client}\n"}, {"op": "expect", "conn": "c", "echo": True}]}
    p.update(kw)
    return p


class ScriptedUdpServer:
    """Answers tagged datagrams ("#<16 hex>#a" / "#<16 hex>#b") on a fixed schedule of faults:
    of the b datagrams, every 20th from the 12th is dropped and every 20th from the 2nd is
    answered 300 ms late; of the a datagrams, every 20th from the 5th is answered twice and every
    20th from the 15th is held back and answered after its b."""

    def __init__(self):
        import socket
        import threading
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.counts = {"dropped": 0, "delayed": 0, "duplicated": 0, "reordered": 0}
        self.stop = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        import threading
        a_seen = b_seen = 0
        held = None
        for _ in range(200000):  # bounded; ends with the test
            if self.stop:
                return
            try:
                data, peer = self.sock.recvfrom(2048)
            except OSError:
                continue
            kind = data[18:19]
            if kind == b"a":
                a_seen += 1
                if a_seen % 20 == 15:
                    held = (data, peer)
                    self.counts["reordered"] += 1
                    continue
                self.sock.sendto(data, peer)
                if a_seen % 20 == 5:
                    self.sock.sendto(data, peer)
                    self.counts["duplicated"] += 1
            else:
                b_seen += 1
                if b_seen % 20 == 12:
                    self.counts["dropped"] += 1
                elif b_seen % 20 == 2:
                    self.counts["delayed"] += 1
                    threading.Timer(0.3, self.sock.sendto, (data, peer)).start()
                else:
                    self.sock.sendto(data, peer)
                if held:
                    self.sock.sendto(*held)
                    held = None

    def close(self):
        self.stop = True
        self.thread.join(timeout=5)
        self.sock.close()


class LoadRuns(unittest.TestCase):
    def test_udp_loss_duplicates_late_and_reordered_replies_are_counted(self):
        server = ScriptedUdpServer()
        try:
            p = {"format": 1, "profile": "udp-faults", "transport": "udp", "defaults": {"timeout_ms": 100},
                 "executor": {"type": "closed", "vus": 1}, "iterations": 100, "duration_s": 60, "warmup_s": 0,
                 "threads": 1, "udp_sequence": True,
                 "setup": [{"op": "connect", "conn": "u"}],
                 # 300 ms late against a 100 ms timeout: late even when a loaded machine
                 # fires the timeout late; 20 ms per iteration: the last late reply (b 82)
                 # still arrives before the last iteration ends.
                 "iteration": [{"op": "sleep", "ms": 20},
                               {"op": "send", "conn": "u", "text": "a"}, {"op": "send", "conn": "u", "text": "b"},
                               {"op": "expect", "conn": "u", "text": "a"}, {"op": "expect", "conn": "u", "text": "b"}],
                 "thresholds": ["udp_loss < 50%"]}
            r, rep, _ = load(p, "--target", f"127.0.0.1:{server.port}")
        finally:
            server.close()
        self.assertIsNotNone(rep, r.stderr)
        l = rep["load"]
        self.assertEqual(server.counts, {"dropped": 5, "delayed": 5, "duplicated": 5, "reordered": 5})
        self.assertEqual(l["udp"], {"sent": 200, "lost": 10, "late": 5, "duplicates": 5, "reordered": 5})
        self.assertEqual(l["errors_by_kind"], {"loss": 10})
        self.assertEqual(l["iterations"], 90)

    def test_an_iteration_limited_run_reports_its_rate_over_the_time_it_took(self):
        # 2 users x 50 round trips end the run before its 60 s (all 100 done: the limit ended
        # it), so a rate over the time the iterations took is above 100 / 60, however slow the
        # machine; a rate over the whole duration would be exactly 100 / 60.
        r, rep, _ = load(profile(iterations=50, duration_s=60), "--target", "builtin:echo")
        self.assertIsNotNone(rep, r.stderr)
        l = rep["load"]
        self.assertEqual(l["iterations"], 100)
        self.assertGreater(l["achieved_rate"], 100 / 60 * 1.001, "rate divided by the whole duration")

    def test_streaming_counts_every_byte_and_holds_no_copy_of_what_it_sent(self):
        path = os.path.join(SCENARIOS, "load", "discard-tcp-stream.json")
        d = tempfile.mkdtemp()
        # A sanitized build would otherwise hold freed memory in its quarantine (256 MiB).
        env = dict(os.environ, ASAN_OPTIONS="quarantine_size_mb=1")
        r = subprocess.run([SOCKSPEC, "load", path, "--target", "builtin:discard", "--duration", "1",
                            "--warmup", "0.2", "--out", d], capture_output=True, text=True, timeout=120, env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(os.path.join(d, "load-report.json")) as f:
            l = json.load(f)["load"]
        self.assertGreater(l["iterations"], 0)
        self.assertEqual(l["errors"], 0)
        self.assertEqual(l["traffic"]["bytes_sent"], l["iterations"] * 65536)
        # No expect uses `echo`, so sends are not kept: keeping them held 64 MiB per connection.
        # Measured against what the same binary holds only to read the profile (a sanitized
        # build maps over 100 MiB before it does anything, more as the binary grows).
        base = peak_rss_kib([SOCKSPEC, "validate", path], env)
        self.assertLess(l["generator_peak_rss_kib"] - base, 48 * 1024, f"baseline {base} KiB")

    def test_a_connection_per_iteration_records_connect_latency(self):
        p = profile(iteration=[{"op": "connect", "conn": "c"}, {"op": "send", "conn": "c", "text": "x"},
                               {"op": "expect", "conn": "c", "text": "x"}, {"op": "close", "conn": "c"}])
        del p["setup"]
        r, rep, _ = load(p, "--target", "builtin:echo")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        l = rep["load"]
        self.assertGreater(l["iterations"], 0)
        self.assertEqual(l["connect"]["count"], l["iterations"])

    def test_a_closed_loop_against_echo_checks_every_reply_and_passes_its_thresholds(self):
        r, rep, _ = load(profile(thresholds=["error_rate == 0", "iterations > 10"]), "--target", "builtin:echo")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        l = rep["load"]
        self.assertEqual(rep["kind"], "load")
        self.assertEqual(l["errors"], 0)
        self.assertGreater(l["iterations"], 10)
        self.assertEqual(l["latency"]["count"], l["iterations"])
        self.assertEqual(sum(n for _, n in l["latency"]["buckets"]), l["iterations"])
        self.assertTrue(all(t["passed"] for t in l["thresholds"]))
        self.assertGreaterEqual(len(l["series"]), 1)

    def test_the_built_in_profiles_run(self):
        for name in ("echo-tcp-rr", "echo-udp-rr"):
            with self.subTest(profile=name):
                # A modest rate: this checks that the profiles run, not how fast this machine is.
                r = subprocess.run([SOCKSPEC, "load", os.path.join(SCENARIOS, "load", name + ".json"), "--target",
                                    "builtin:echo", "--duration", "1", "--warmup", "0", "--rate", "300"],
                                   capture_output=True, text=True, timeout=60)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_a_failing_threshold_exits_1_and_is_a_failed_junit_testcase(self):
        r, rep, d = load(profile(thresholds=["error_rate < 1%", "p99 < 1ns"]), "--target", "builtin:echo")
        self.assertEqual(r.returncode, 1)
        self.assertIn("FAIL p99 < 1ns", r.stdout)
        self.assertIn("PASS error_rate < 1%", r.stdout)
        suite = ET.parse(os.path.join(d, "load-junit.xml")).getroot().find("testsuite")
        cases = {c.get("name"): c for c in suite.findall("testcase")}
        self.assertIsNone(cases["error_rate < 1%"].find("failure"))
        self.assertIsNotNone(cases["p99 < 1ns"].find("failure"))

    def test_mismatched_replies_under_load_are_counted_with_their_bytes(self):
        cmd = f"{SOCKSPEC} serve echo --fault crlf --port {{port}}"
        r, rep, _ = load(profile(thresholds=["error_rate < 1%"]), "--server-cmd", cmd)
        self.assertEqual(r.returncode, 1, r.stdout)
        l = rep["load"]
        self.assertEqual(l["iterations"], 0)
        self.assertGreater(l["errors"], 0)
        self.assertEqual(l["errors_by_kind"], {"mismatch": l["errors"]})
        first = l["first_errors"][0]
        self.assertEqual(first["kind"], "mismatch")
        self.assertTrue(first["mismatch"]["actual_text"].endswith("\\r\\n"), first)

    def test_a_server_slower_than_the_rate_makes_missed_starts_and_an_invalid_run(self):
        cmd = f"{SOCKSPEC} serve echo --fault slow --delay-ms 200 --port {{port}}"
        p = profile(executor={"type": "constant-rate", "rate": 100, "connections": 2}, duration_s=1,
                    defaults={"timeout_ms": 500})
        r, rep, _ = load(p, "--server-cmd", cmd)
        self.assertEqual(r.returncode, 1, r.stdout)
        l = rep["load"]
        self.assertFalse(l["rate_kept"])
        self.assertEqual(l["scheduled"], 100)  # 100/s for 1 s
        # 2 connections at 200 ms per reply can start at most 2 * (1 s + 0.5 s of grace for due
        # starts after the end) / 0.2 s = 15 of them; the rest never start.
        self.assertGreaterEqual(l["missed_starts"], 80)
        self.assertLessEqual(l["iterations"] + l["missed_starts"] + l["errors"], l["scheduled"])
        self.assertIn("did not keep the asked rate", r.stdout)
        # Latency counts from the scheduled start, service time from the send: waiting shows.
        self.assertGreater(l["latency"]["percentiles"]["p99"], l["service"]["percentiles"]["p99"])

    def test_batched_udp_sends_arrive_as_separate_datagrams(self):
        # repeat on UDP is sent in batches (UDP GSO or sendmmsg): the receiver must still see
        # every datagram on its own, whole and unchanged.
        import collections
        import socket
        rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        rx.bind(("127.0.0.1", 0))
        # Tags are on by default for UDP; this one sends fixed bytes, so it turns them off.
        p = profile(transport="udp", executor={"type": "closed", "vus": 1}, iterations=3, duration_s=30, threads=1,
                    udp_sequence=False, setup=[{"op": "connect", "conn": "u"}],
                    iteration=[{"op": "send", "conn": "u", "fill": {"bytes": 64, "pattern": "counter"}, "repeat": 100}])
        r, rep, _ = load(p, "--target", f"127.0.0.1:{rx.getsockname()[1]}")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        rx.settimeout(0.5)
        seen = collections.Counter()
        for _ in range(1000):
            try:
                seen[rx.recvfrom(70000)[0]] += 1
            except socket.timeout:
                break
        rx.close()
        self.assertEqual(seen, {bytes(range(64)): 300})
        self.assertEqual(rep["load"]["traffic"]["datagrams_sent"], 300)

    def test_connects_spread_over_the_source_addresses(self):
        import socket
        import threading
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(64)
        srv.settimeout(0.2)
        peers, conns, stop = set(), [], []

        def accept():
            for _ in range(500):  # bounded
                if stop:
                    return
                try:
                    c, addr = srv.accept()
                except OSError:
                    continue
                peers.add(addr[0])
                conns.append(c)

        t = threading.Thread(target=accept, daemon=True)
        t.start()
        p = profile(executor={"type": "closed", "vus": 12}, iterations=1, source_addresses=3,
                    iteration=[{"op": "sleep", "ms": 1}])
        r, rep, _ = load(p, "--target", f"127.0.0.1:{srv.getsockname()[1]}")
        stop.append(True)
        t.join(timeout=5)
        for c in conns:
            c.close()
        srv.close()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(peers, {"127.0.0.1", "127.0.0.2", "127.0.0.3"})

    def test_nineteen_thousand_idle_connections_are_held_open_by_one_process(self):
        # 19,000 connects on a busy machine take seconds: the server's accept backlog overflows
        # and dropped SYNs are retried after 1, 3, 7 s. Beside a CPU hog per core 5,663 of them
        # were not answered within the profile's 5 s, and with more time the last ones opened
        # too late for the 3 s window to see each check once. This test is about holding the
        # connections, not how fast they open: each connect may take 30 s, and the run ends when
        # every user has made its one check (an iteration limit; 120 s at most), so the counts
        # are exact whatever the machine's speed.
        with open(os.path.join(SCENARIOS, "load", "idle-19k.json")) as f:
            idle = json.load(f)
        idle["defaults"]["timeout_ms"] = 30000
        idle["iterations"] = 1
        d = tempfile.mkdtemp()
        path = os.path.join(d, "idle-19k.json")
        with open(path, "w") as f:
            json.dump(idle, f)
        r = subprocess.run([SOCKSPEC, "load", path, "--target", "builtin:echo", "--warmup", "0", "--duration", "120"],
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("PASS errors == 0", r.stdout)
        self.assertIn("PASS iterations >= 19000", r.stdout)
        self.assertIn("for 19000 connections", r.stdout)

    def test_a_ramping_rate_follows_its_stages(self):
        p = profile(transport="udp", defaults={"timeout_ms": 500}, duration_s=2,
                    executor={"type": "ramping-rate", "connections": 8, "start_rate": 100,
                              "stages": [{"duration_s": 1, "rate": 100}, {"duration_s": 1, "rate": 1000}]},
                    setup=[{"op": "connect", "conn": "u"}],
                    iteration=[{"op": "send", "conn": "u", "fill": {"bytes": 64}}, {"op": "expect", "conn": "u", "echo": True}])
        r, rep, _ = load(p, "--target", "builtin:echo")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        l = rep["load"]
        # 100/s for a second, then 100 -> 1000/s linearly over a second (550 on average).
        self.assertTrue(640 <= l["scheduled"] <= 660, l["scheduled"])
        first, second = l["series"][0]["iterations"], l["series"][1]["iterations"]
        self.assertTrue(95 <= first <= 101, first)
        self.assertTrue(500 <= second <= 560, second)

    def test_invalid_profiles_exit_2_with_pointers(self):
        p = profile(executor={"type": "constant-rate"}, thresholds=["p99 < 2"],
                    iteration=[{"op": "send", "conn": "nope", "text": "x"}])
        r, _, _ = load(p, "--target", "builtin:echo")
        self.assertEqual(r.returncode, 2)
        self.assertIn(":/executor/rate: is required for constant-rate", r.stderr)
        self.assertIn(":/thresholds/0: 'p99' needs a time unit", r.stderr)
        self.assertIn(":/iteration/0/conn: conn 'nope' is not open", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
