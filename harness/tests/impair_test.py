#!/usr/bin/python3
"""End-to-end tests of --impair and the impair step: conditions that show in what the
clients see and in the relay's counts (never in a timing bound, except latency that must be
at least the delay asked for).

Every server listens on loopback, on a port the kernel picks.
"""
import json
import os
import re
import subprocess
import tempfile
import time
import unittest

SOCKSPEC = os.environ.get("SOCKSPEC", "sockspec")
SCENARIOS = os.environ.get("SOCKSPEC_SCENARIOS_SRC", "scenarios")
EXAMPLE = os.path.join(SCENARIOS, "examples", "impairments.json")


def run(*args, timeout=180):
    return subprocess.run([SOCKSPEC, *args], capture_output=True, text=True, timeout=timeout)


def load_json(path):
    with open(path) as f:
        return json.load(f)


def suite_file(folder, cases, transport="tcp"):
    path = os.path.join(folder, "suite.json")
    with open(path, "w") as f:
        json.dump({"format": 1, "suite": "t", "title": "t", "transport": transport,
                   "cases": cases}, f)
    return path


class ImpairSteps(unittest.TestCase):
    def test_the_example_suite_passes_at_one_and_two_jobs_and_reports_the_network(self):
        for jobs in ("1", "2"):
            with tempfile.TemporaryDirectory() as out:
                r = run("run", EXAMPLE, "--target", "builtin:echo", "--jobs", jobs,
                        "--report-json", os.path.join(out, "r.json"))
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                report = load_json(os.path.join(out, "r.json"))
                cases = {c["id"]: c for s in report["suites"] for c in s["cases"]}
                self.assertEqual(len(cases), 8)
                dup = cases["udp-every-third-duplicated"]["impairment"]
                self.assertIn("then to-server duplicate every 3", dup)
                self.assertIn("datagrams to server: 3 arrived, 4 sent", dup)
                self.assertIn("1 duplicated", dup)
                cut = cases["udp-cut-and-restored"]["impairment"]
                self.assertIn("3 arrived, 2 sent, 1 dropped", cut)
                reset = cases["tcp-reset-after-10-bytes"]["impairment"]
                self.assertIn("10 bytes to client", reset)
                self.assertIn("1 reset", reset)

    def test_a_stalled_link_runs_into_the_steps_deadline(self):
        with tempfile.TemporaryDirectory() as d:
            path = suite_file(d, [{"id": "stalled", "title": "t", "steps": [
                {"op": "impair", "spec": "stall"},
                {"op": "connect", "conn": "c"},
                {"op": "send", "conn": "c", "text": "x"},
                {"op": "expect", "conn": "c", "text": "x", "timeout_ms": 300}]}])
            r = run("run", path, "--target", "builtin:echo")
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("FAIL  t/stalled", r.stdout)
            self.assertIn("300 ms", r.stdout)
            self.assertIn("network: none, then stall", r.stdout)

    def test_a_reset_after_n_bytes_towards_the_server_passes_exactly_n_then_resets(self):
        with tempfile.TemporaryDirectory() as d:
            path = suite_file(d, [{"id": "cut", "title": "t", "steps": [
                {"op": "impair", "spec": "to-server reset-after 6"},
                {"op": "connect", "conn": "c"},
                {"op": "send", "conn": "c", "text": "abcdefghijkl"},
                {"op": "expect_reset", "conn": "c"}]}])
            r = run("run", path, "--target", "builtin:echo", "--report-json",
                    os.path.join(d, "r.json"))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            case = load_json(os.path.join(d, "r.json"))["suites"][0]["cases"][0]
            self.assertIn("6 bytes to server in 1 writes", case["impairment"])
            self.assertIn("1 reset", case["impairment"])

    def test_a_case_without_impair_steps_or_option_goes_straight_to_the_target(self):
        with tempfile.TemporaryDirectory() as d:
            path = suite_file(d, [{"id": "plain", "title": "t", "steps": [
                {"op": "connect", "conn": "c"},
                {"op": "send", "conn": "c", "text": "x"},
                {"op": "expect", "conn": "c", "text": "x"}]}])
            r = run("run", path, "--target", "builtin:echo", "--report-json",
                    os.path.join(d, "r.json"))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            case = load_json(os.path.join(d, "r.json"))["suites"][0]["cases"][0]
            self.assertNotIn("impairment", case)

    def test_load_profiles_may_not_change_the_network_per_user(self):
        with tempfile.TemporaryDirectory() as d:
            src = load_json(os.path.join(SCENARIOS, "load", "echo-tcp-rr.json"))
            src["iteration"].insert(0, {"op": "impair", "spec": "delay 1ms"})
            path = os.path.join(d, "p.json")
            with open(path, "w") as f:
                json.dump(src, f)
            r = run("load", path, "--target", "builtin:echo", "--duration", "1")
            self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
            self.assertIn("--impair", r.stderr)


class ImpairOption(unittest.TestCase):
    def test_suites_marks_skip_cases_that_cannot_hold_and_unmarked_ones_get_a_hint(self):
        with tempfile.TemporaryDirectory() as d:
            udp = [{"op": "connect", "conn": "u"}, {"op": "send", "conn": "u", "text": "x"},
                   {"op": "expect", "conn": "u", "text": "x", "timeout_ms": 200}]
            path = suite_file(d, [
                {"id": "marked", "title": "t", "requires": ["lossless-datagrams"], "steps": udp},
                {"id": "unmarked", "title": "t", "steps": udp},
                {"id": "speed", "title": "t", "requires": ["clean-network"], "steps": udp}],
                transport="udp")
            r = run("run", path, "--target", "builtin:echo", "--impair", "loss every 1")
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("SKIP  t/marked  (requires lossless-datagrams", r.stdout)
            self.assertIn("SKIP  t/speed  (requires clean-network", r.stdout)
            self.assertIn("FAIL  t/unmarked", r.stdout)
            self.assertIn('mark it "requires": ["lossless-datagrams"]', r.stdout)
            # Delay alone loses nothing: only the case that measures speed is skipped.
            r = run("run", path, "--target", "builtin:echo", "--impair", "delay 1ms")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("PASS  t/marked", r.stdout)
            self.assertIn("SKIP  t/speed", r.stdout)

    def test_timeouts_stretch_under_conditions_that_slow_or_lose_unless_told(self):
        with tempfile.TemporaryDirectory() as d:
            path = suite_file(d, [{"id": "silent", "title": "t", "steps": [
                {"op": "connect", "conn": "c"}, {"op": "send", "conn": "c", "text": "x"},
                {"op": "expect", "conn": "c", "text": "never", "timeout_ms": 100}]}])
            r = run("run", path, "--target", "builtin:discard", "--impair", "delay 1ms")
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("300 ms (the step's timeout_ms of 100 ms, x3 by --timeout-scale)",
                          r.stdout)
            r = run("run", path, "--target", "builtin:discard", "--impair", "delay 1ms",
                    "--timeout-scale", "1")
            self.assertIn("100 ms (the step's timeout_ms)", r.stdout)
            r = run("run", path, "--target", "builtin:discard", "--timeout-scale", "2.5")
            self.assertIn("250 ms (the step's timeout_ms of 100 ms, x2.5 by --timeout-scale)",
                          r.stdout)
            self.assertIn("--timeout-scale 2.5", r.stdout)  # in the rerun command
            r = run("run", path, "--target", "builtin:discard", "--timeout-scale", "0")
            self.assertEqual(r.returncode, 2, r.stdout + r.stderr)

    def test_a_bad_spec_is_a_usage_error_naming_the_word(self):
        r = run("run", EXAMPLE, "--target", "builtin:echo", "--impair", "delay 5ms wobble 3")
        self.assertEqual(r.returncode, 2)
        self.assertIn("'wobble'", r.stderr)
        r = run("load", os.path.join(SCENARIOS, "load", "echo-tcp-rr.json"), "--target",
                "builtin:echo", "--impair", "loss 10")
        self.assertEqual(r.returncode, 2)
        self.assertIn("'10'", r.stderr)

    def test_the_whole_run_goes_through_the_conditions_and_the_report_says_so(self):
        with tempfile.TemporaryDirectory() as out:
            tour = os.path.join(SCENARIOS, "examples", "format-tour.json")
            r = run("run", tour, "--target", "builtin:echo", "--impair",
                    "delay 5ms 2ms slice 100", "--out", out)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            report = load_json(os.path.join(out, "report.json"))
            self.assertEqual(report["run"]["impairment"],
                             "delay 5ms 2ms slice 100; timeouts x3 (--timeout-scale)")
            with open(os.path.join(out, "summary.md")) as f:
                self.assertIn("Network impairment: `delay 5ms 2ms slice 100; timeouts x3", f.read())
            for s in report["suites"]:
                for c in s["cases"]:
                    self.assertTrue(c["impairment"].startswith("delay 5ms 2ms slice 100 (relay:"))

    def test_load_latency_includes_the_delay_both_ways(self):
        with tempfile.TemporaryDirectory() as out:
            path = os.path.join(out, "r.json")
            r = run("load", os.path.join(SCENARIOS, "load", "echo-tcp-rr.json"), "--target",
                    "builtin:echo", "--duration", "1", "--warmup", "0", "--impair", "delay 20ms",
                    "--report-json", path)
            self.assertIn(r.returncode, (0, 1), r.stdout + r.stderr)  # thresholds may fail
            report = load_json(path)
            self.assertIn("delay 20ms (relay: stream:", report["run"]["impairment"])
            pcts = report["load"]["latency"]["percentiles"]
            p0 = report["load"]["latency"]["min"]
            # 20 ms towards the server and 20 ms back: no round trip can be faster.
            self.assertGreaterEqual(p0, 40e6, pcts)
            self.assertGreater(report["load"]["iterations"], 0)

    def test_udp_load_loss_is_exactly_every_tenth_datagram(self):
        with tempfile.TemporaryDirectory() as out:
            path = os.path.join(out, "r.json")
            run("load", os.path.join(SCENARIOS, "load", "echo-udp-rr.json"), "--target",
                "builtin:echo", "--duration", "1", "--rate", "200", "--impair",
                "to-server loss every 10", "--report-json", path)
            text = load_json(path)["run"]["impairment"]
            m = re.search(r"datagrams to server: (\d+) arrived, (\d+) sent, (\d+) dropped", text)
            self.assertTrue(m, text)
            arrived, sent, dropped = map(int, m.groups())
            self.assertGreater(arrived, 100)
            self.assertEqual(dropped, arrived // 10)
            self.assertEqual(sent, arrived - dropped)

    def test_packet_level_refuses_stream_words_and_a_server_it_does_not_start(self):
        r = run("run", EXAMPLE, "--target", "builtin:echo", "--impair", "slice 1",
                "--impair-level", "packet")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--impair-level stream", r.stderr)
        r = run("run", EXAMPLE, "--target", "127.0.0.1:9", "--impair", "loss 1%",
                "--impair-level", "packet")
        self.assertEqual(r.returncode, 2)
        self.assertIn("needs a server sockspec starts", r.stderr)


def packet_level_unavailable():
    if os.geteuid() != 0:
        return "packet level needs root"
    if not os.path.exists("/dev/net/tun"):
        return "no /dev/net/tun"
    return None


def sockspec_links():
    """The TUN devices of packet links now ({name: its IPv4 address}), whoever made them."""
    out = subprocess.run(["ip", "-o", "-4", "addr"], capture_output=True, text=True).stdout
    links = {}
    for line in out.splitlines():
        m = re.match(r"\d+: (sockspec\d+)\s+inet ([\d.]+)/30", line)
        if m:
            links[m.group(1)] = m.group(2)
    return links


def named_netns():
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


@unittest.skipIf(packet_level_unavailable(), packet_level_unavailable())
class PacketLevel(unittest.TestCase):
    """The server in a namespace of its own, every IP packet through the impaired link."""

    def test_tcp_recovers_through_packet_loss_and_the_link_counts_the_drops(self):
        with tempfile.TemporaryDirectory() as d:
            path = suite_file(d, [{"id": "bulk", "title": "t", "timeout_ms": 60000, "steps": [
                {"op": "connect", "conn": "c", "timeout_ms": 30000},
                {"op": "send", "conn": "c", "fill": {"bytes": 200000, "pattern": "random"}},
                {"op": "expect", "conn": "c", "echo": True, "timeout_ms": 30000},
                {"op": "shutdown", "conn": "c", "how": "write"},
                {"op": "expect_eof", "conn": "c", "timeout_ms": 30000}]}])
            r = run("run", path, "--target", "builtin:echo", "--impair", "loss 10% delay 5ms",
                    "--impair-level", "packet", "--report-json", os.path.join(d, "r.json"))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            meta = load_json(os.path.join(d, "r.json"))["run"]["impairment"]
            m = re.search(r"packets to server: (\d+) arrived, (\d+) sent, (\d+) dropped", meta)
            self.assertTrue(m, meta)
            arrived, sent, dropped = map(int, m.groups())
            self.assertGreater(arrived, 100)
            self.assertGreater(dropped, 0)  # ~10% of >100 packets: 0 has odds below 1e-4
            self.assertEqual(sent, arrived - dropped)

    def test_echo_and_upper_pass_through_ten_percent_loss_and_50ms_the_udp_cases_skipped(self):
        # The suites' own marks decide: TCP cases run (the kernel retransmits, the timeouts are
        # x3), cases that count on every datagram or measure speed are skipped, saying why.
        for service, suites in (("echo", ("echo-tcp", "echo-udp")),
                                ("upper", ("upper-tcp", "upper-udp"))):
            with tempfile.TemporaryDirectory() as d:
                paths = [os.path.join(SCENARIOS, "suites", n + ".json") for n in suites]
                r = run("run", *paths, "--target", "builtin:" + service, "--impair",
                        "loss 10% delay 50ms", "--impair-level", "packet", "--seed", "7",
                        "--jobs", "2", "--report-json", os.path.join(d, "r.json"), timeout=400)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertNotIn("FAIL", r.stdout)
                report = load_json(os.path.join(d, "r.json"))
                meta = report["run"]["impairment"]
                self.assertIn("timeouts x3", meta)
                m = re.search(r"packets to server: (\d+) arrived, (\d+) sent, (\d+) dropped", meta)
                self.assertTrue(m, meta)
                self.assertGreater(int(m.group(3)), 0)
                cases = {s["name"] + "/" + c["id"]: c for s in report["suites"]
                         for c in s["cases"]}
                udp = [c for i, c in cases.items() if i.startswith(service + "-udp/")]
                self.assertTrue(udp)
                for c in udp:
                    self.assertEqual(c["verdict"], "skip", c)
                    self.assertIn("requires", c["reason"])
                speed = cases[service + "-tcp/prompt-reply"]
                self.assertEqual(speed["verdict"], "skip")
                self.assertIn("requires clean-network", speed["reason"])
                tcp_passed = [i for i, c in cases.items()
                              if i.startswith(service + "-tcp/") and c["verdict"] == "pass"]
                self.assertGreaterEqual(len(tcp_passed), 15, tcp_passed)
                self.assertIn(service + "-tcp/one-mib", tcp_passed)

    def test_the_echo_tcp_suite_passes_when_exactly_every_tenth_packet_is_lost(self):
        with tempfile.TemporaryDirectory() as d:
            suite = os.path.join(SCENARIOS, "suites", "echo-tcp.json")
            r = run("run", suite, "--target", "builtin:echo", "--impair", "loss every 10",
                    "--impair-level", "packet", "--report-json", os.path.join(d, "r.json"),
                    timeout=300)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertNotIn("FAIL", r.stdout)
            meta = load_json(os.path.join(d, "r.json"))["run"]["impairment"]
            m = re.search(r"packets to server: (\d+) arrived, (\d+) sent, (\d+) dropped", meta)
            self.assertTrue(m, meta)
            arrived, _, dropped = map(int, m.groups())
            self.assertEqual(dropped, arrived // 10)

    def test_same_host_and_lossy_udp_cases_are_skipped_with_a_reason(self):
        tour = os.path.join(SCENARIOS, "examples", "format-tour.json")
        r = run("run", tour, "--target", "builtin:echo", "--impair", "loss 5%",
                "--impair-level", "packet", "--filter", "format-tour/local-sockets",
                "--filter", "format-tour/udp-datagrams")
        self.assertIn("SKIP  format-tour/local-sockets  (binds the target's address", r.stdout)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_load_latency_carries_the_link_delay(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "r.json")
            r = run("load", os.path.join(SCENARIOS, "load", "echo-tcp-rr.json"), "--target",
                    "builtin:echo", "--duration", "1", "--warmup", "0", "--connections", "4",
                    "--impair", "delay 15ms loss 2%", "--impair-level", "packet",
                    "--report-json", path)
            self.assertIn(r.returncode, (0, 1), r.stdout + r.stderr)
            report = load_json(path)
            self.assertIn("packet level: delay 15ms loss 2% (packet link: packets to server",
                          report["run"]["impairment"])
            self.assertGreaterEqual(report["load"]["latency"]["min"], 30e6)
            self.assertGreater(report["load"]["iterations"], 0)

    def test_a_sigkilled_run_leaves_no_link_namespace_or_server(self):
        # Other runs may have links and servers of their own meanwhile: this run's are the
        # device that appears and the server bound to the address behind it.
        def servers_on(guest):
            out = subprocess.run(["pgrep", "-f", f"serve echo --transport both --bind {guest} "],
                                 capture_output=True, text=True).stdout
            return out.split()

        with tempfile.TemporaryDirectory() as d:
            path = suite_file(d, [{"id": "long", "title": "t", "steps": [
                {"op": "connect", "conn": "c", "timeout_ms": 10000},
                {"op": "sleep", "ms": 60000}]}])
            before = sockspec_links()
            netns_before = named_netns()
            p = subprocess.Popen([SOCKSPEC, "run", path, "--target", "builtin:echo", "--impair",
                                  "delay 1ms", "--impair-level", "packet"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            try:
                ours, guest = {}, None
                for _ in range(100):  # the link and its server show within 10 s
                    ours = {n: a for n, a in sockspec_links().items() if n not in before}
                    if ours:
                        host = list(ours.values())[0].split(".")
                        guest = ".".join(host[:3] + [str(int(host[3]) + 1)])
                        if servers_on(guest):
                            break
                    time.sleep(0.1)
                self.assertTrue(ours, "no packet link appeared")
                self.assertTrue(servers_on(guest), "the server never started")
            finally:
                p.kill()
                p.communicate(timeout=30)
            for _ in range(100):
                if not servers_on(guest) and not set(ours) & set(sockspec_links()):
                    break
                time.sleep(0.1)
            self.assertEqual(set(ours) & set(sockspec_links()), set())
            self.assertEqual(servers_on(guest), [])
            # Packet links never name their namespace; a named one that appeared during this
            # run and is still there would be ours (the inetd conformance test, which may run
            # alongside, names its own sockspec-inetd-*).
            appeared = [n for n in named_netns() - netns_before
                        if "sockspec" in n and not n.startswith("sockspec-inetd-")]
            self.assertEqual(appeared, [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
